// The build benchmark: 100, 1,000 and 10,000 generated articles of ~1,200 words, each built by a fresh
// process (as `npm run build` would), cold (empty email cache) and warm.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateProject } from './generate.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Run {
  readonly seconds: number;
  readonly peakMiB: number;
}

function runBuild(root: string): Run {
  const started = process.hrtime.bigint();
  const child = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(repo, 'bench', 'build-child.ts'), root],
    {
      cwd: repo,
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const report = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as {
    code?: number;
    maxRssKiB?: number;
    lines?: string[];
  };
  if (child.status !== 0 || report.code !== 0) {
    throw new Error(`build failed: ${child.stderr}\n${(report.lines ?? []).join('\n')}`);
  }
  return { seconds, peakMiB: (report.maxRssKiB ?? 0) / 1024 };
}

export async function benchBuild(print: (line: string) => void): Promise<void> {
  print('Build: `npm run build` in a fresh process (wall time incl. start-up; peak RSS by GNU time)');
  print('  articles   generate   cold build (emails compiled)   warm build (emails cached)');
  for (const count of [100, 1_000, 10_000]) {
    const root = await mkdtemp(path.join(tmpdir(), `kurier-bench-${count}-`));
    try {
      const generateStarted = process.hrtime.bigint();
      await generateProject(root, repo, count);
      await cp(path.join(repo, 'templates'), path.join(root, 'templates'), { recursive: true });
      const generated = Number(process.hrtime.bigint() - generateStarted) / 1e9;
      const cold = runBuild(root);
      const warm = runBuild(root);
      print(
        `  ${String(count).padStart(8)}   ${generated.toFixed(1).padStart(6)} s   ` +
          `${cold.seconds.toFixed(2).padStart(7)} s, ${cold.peakMiB.toFixed(0).padStart(5)} MiB peak` +
          `          ${warm.seconds.toFixed(2).padStart(7)} s, ${warm.peakMiB.toFixed(0).padStart(5)} MiB peak`,
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }
  print('  targets: 1,000 articles ≤ 1.2 s; 10,000 ≤ 12 s with peak ≤ 1 GiB');
}
