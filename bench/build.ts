// The build benchmark: generated articles of ~1,200 words, built by a fresh process exactly as
// `npm run build` runs: from nothing, after one article is edited, and with nothing changed. With --peers,
// Hugo and Eleventy 3 build the same corpus (bench/peers.ts) in the same rounds, interleaved, so that a
// busy machine slows all three alike; the first round warms the disk cache and is not counted.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { appendFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateProject } from './generate.ts';
import { findPeers, type Peer, preparePeers } from './peers.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const GNU_TIME = '/usr/bin/time';
const WORKS = ['first build', 'one edited', 'nothing changed'] as const;

interface Run {
  readonly seconds: number;
  readonly peakMiB: number;
}

/** A fresh process; GNU time (when installed) reports its peak resident memory, threads included. */
function run(command: readonly string[], cwd: string, env: NodeJS.ProcessEnv): Run {
  const [program = '', ...args] = command;
  const timed = existsSync(GNU_TIME);
  const options = { cwd, encoding: 'utf8' as const, env, maxBuffer: 64 * 1024 * 1024 };
  const started = process.hrtime.bigint();
  const child = timed
    ? spawnSync(GNU_TIME, ['-f', 'peak-kib %M', program, ...args], options)
    : spawnSync(program, args, options);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (child.status !== 0) throw new Error(`${command.join(' ')} failed:\n${child.stdout}\n${child.stderr}`);
  const peak = /peak-kib (\d+)\s*$/.exec(child.stderr)?.[1];
  return { seconds, peakMiB: peak === undefined ? Number.NaN : Number(peak) / 1024 };
}

interface Tool {
  readonly name: string;
  readonly posts: string;
  readonly out: string;
  readonly state: readonly string[];
  build(): Run;
}

function kurierTool(root: string): Tool {
  return {
    name: 'Kurier',
    posts: path.join(root, 'content', 'posts'),
    out: path.join(root, 'out'),
    state: [path.join(root, 'out'), path.join(root, '.kurier')],
    build: () =>
      run([process.execPath, path.join(repo, 'bin', 'kurier.js'), 'build'], repo, {
        ...process.env,
        KURIER_ROOT: root,
      }),
  };
}

function peerTool(peer: Peer): Tool {
  return { ...peer, build: () => run(peer.command, peer.root, process.env) };
}

/** Every tool must have made the same kinds of files, and the edit must have reached the page. */
function checkOutput(tool: Tool, newest: string, marker: string | undefined): void {
  for (const file of ['index.html', 'feed.xml', 'rss.xml', 'feed.json', `${newest}/index.html`]) {
    if (!existsSync(path.join(tool.out, file))) throw new Error(`${tool.name} made no ${file}`);
  }
  if (marker !== undefined) {
    const page = readFileSync(path.join(tool.out, newest, 'index.html'), 'utf8');
    const feed = readFileSync(path.join(tool.out, 'feed.xml'), 'utf8');
    if (!page.includes(marker) || !feed.includes(marker)) {
      throw new Error(`${tool.name}: the edit "${marker}" is missing from the page or the feed`);
    }
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};

function summary(runs: readonly Run[]): string {
  const seconds = runs.map((entry) => entry.seconds);
  const peak = median(runs.map((entry) => entry.peakMiB));
  return (
    `${median(seconds).toFixed(2)} s [${Math.min(...seconds).toFixed(2)}–${Math.max(...seconds).toFixed(2)}]` +
    ` ${peak.toFixed(0)} MiB`
  );
}

function option(args: readonly string[], name: string): string | undefined {
  const prefix = `--${name}=`;
  return args.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

export async function benchBuild(print: (line: string) => void, args: readonly string[] = []): Promise<void> {
  const sizes = (option(args, 'sizes') ?? '1,1000,10000').split(',').map(Number);
  const rounds = Number(option(args, 'rounds') ?? 3);
  const withPeers = args.includes('--peers');
  print(
    `Build: a fresh process per build (Kurier: node bin/kurier.js build), wall time incl. start-up and peak RSS ` +
      `(GNU time); ${rounds} rounds after a warm-up round, tools interleaved; median [min–max]`,
  );
  const available = withPeers ? findPeers(print) : { hugo: false, eleventy: false };
  if (!withPeers) print('  notice: Kurier alone; add --peers to compare with Hugo and Eleventy 3');
  for (const count of sizes) {
    const root = await mkdtemp(path.join(tmpdir(), `kurier-bench-${count}-`));
    try {
      await generateProject(root, repo, count);
      await cp(path.join(repo, 'templates'), path.join(root, 'templates'), { recursive: true });
      const tools = [kurierTool(root), ...(await preparePeers(root, available)).map(peerTool)];
      const newest = `artikel-${count - 1}`;
      const runs = new Map(tools.map((tool) => [tool.name, WORKS.map((): Run[] => [])]));
      for (let round = 0; round <= rounds; round++) {
        for (const tool of tools) {
          for (const state of tool.state) await rm(state, { recursive: true, force: true });
          const first = tool.build();
          checkOutput(tool, newest, undefined);
          const marker = `Nachtrag ${round}`;
          await appendFile(path.join(tool.posts, `${newest}.md`), `\n${marker}.\n`);
          const edited = tool.build();
          checkOutput(tool, newest, marker);
          const unchanged = tool.build();
          if (round === 0) continue;
          [first, edited, unchanged].forEach((entry, work) => {
            runs.get(tool.name)?.[work]?.push(entry);
          });
        }
      }
      print(`\n  ${count.toLocaleString('en')} article${count === 1 ? '' : 's'}:`);
      print(`  ${'work'.padEnd(16)}| ${tools.map((tool) => tool.name.padEnd(30)).join('| ')}`);
      WORKS.forEach((work, index) => {
        const cells = tools.map((tool) => summary(runs.get(tool.name)?.[index] ?? []).padEnd(30));
        print(`  ${work.padEnd(16)}| ${cells.join('| ')}`);
      });
      const kurier = runs.get('Kurier') ?? [];
      for (const peer of tools.slice(1)) {
        const other = runs.get(peer.name) ?? [];
        WORKS.forEach((work, index) => {
          const ratios = (kurier[index] ?? []).map(
            (entry, round) => entry.seconds / (other[index]?.[round]?.seconds ?? Number.NaN),
          );
          print(
            `  Kurier/${peer.name}, ${work}: ${ratios.map((ratio) => ratio.toFixed(2)).join(' ')} (median ${median(ratios).toFixed(2)})`,
          );
        });
      }
    } finally {
      await rm(root, { recursive: true, force: true });
      await rm(`${root}-hugo`, { recursive: true, force: true });
      await rm(`${root}-eleventy`, { recursive: true, force: true });
    }
  }
  print(
    '\n  goal: Kurier ≤ Hugo for a first build and a rebuild at 1,000 and 10,000, peak ≤ Hugo; 1 article ≤ 0.15 s',
  );
}
