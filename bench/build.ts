// The build benchmark: 100, 1,000 and 10,000 generated articles of ~1,200 words, each built by a fresh
// process exactly as `npm run build` runs: from nothing, after an edit, and with nothing changed.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateProject } from './generate.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Run {
  readonly seconds: number;
  readonly peakMiB: number;
}

const GNU_TIME = '/usr/bin/time';

/** Exactly what `npm run build` runs, in a fresh process; GNU time (when installed) reports the peak memory. */
function runBuild(root: string): Run {
  const command = [process.execPath, path.join(repo, 'bin', 'kurier.js'), 'build'];
  const timed = existsSync(GNU_TIME);
  const options = { cwd: repo, encoding: 'utf8' as const, env: { ...process.env, KURIER_ROOT: root } };
  const started = process.hrtime.bigint();
  const child = timed
    ? spawnSync(GNU_TIME, ['-f', 'peak-kib %M', ...command], options)
    : spawnSync(process.execPath, command.slice(1), options);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (child.status !== 0) throw new Error(`build failed:\n${child.stdout}\n${child.stderr}`);
  const peak = /peak-kib (\d+)/.exec(child.stderr)?.[1];
  return { seconds, peakMiB: peak === undefined ? Number.NaN : Number(peak) / 1024 };
}

function median(runs: readonly Run[]): Run {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return sorted[Math.floor(sorted.length / 2)] as Run;
}

function show(run: Run): string {
  return `${run.seconds.toFixed(2).padStart(6)} s ${run.peakMiB.toFixed(0).padStart(5)} MiB`;
}

export async function benchBuild(print: (line: string) => void): Promise<void> {
  print(
    'Build: `npm run build` in a fresh process; wall time incl. start-up, peak RSS (GNU time); median of 3',
  );
  print('  articles | first build (empty out/, emails compiled) | one article edited | nothing changed');
  for (const count of [100, 1_000, 10_000]) {
    const root = await mkdtemp(path.join(tmpdir(), `kurier-bench-${count}-`));
    try {
      await generateProject(root, repo, count);
      await cp(path.join(repo, 'templates'), path.join(root, 'templates'), { recursive: true });
      const first: Run[] = [];
      const edited: Run[] = [];
      const unchanged: Run[] = [];
      for (let round = 0; round < 3; round++) {
        await rm(path.join(root, 'out'), { recursive: true, force: true });
        await rm(path.join(root, '.kurier'), { recursive: true, force: true });
        first.push(runBuild(root));
        const newest = path.join(root, 'content', 'posts', `artikel-${count - 1}.md`);
        await appendFile(newest, `\nNachtrag ${round}.\n`);
        edited.push(runBuild(root));
        unchanged.push(runBuild(root));
      }
      print(
        `  ${String(count).padStart(8)} | ${show(median(first)).padEnd(41)} | ${show(median(edited)).padEnd(18)} | ${show(median(unchanged))}`,
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
  print('  targets: 1,000 articles ≤ 1.2 s; 10,000 ≤ 12 s with peak ≤ 1 GiB');
}
