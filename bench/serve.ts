// The preview benchmark: `kurier serve` on 1,000 generated articles; the newest article's title is saved
// again and again, and each time the clock runs from the save until its page, the index and the Atom feed
// on disk carry the new title. (`kurier serve` has no browser reload: a reader reloads by hand.)

import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { cp, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateProject } from './generate.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ARTICLES = 1_000;
const ROUNDS = 10;

// The files' identities as last read: a poll stats a file and reads it only when it was replaced, so that
// polling every millisecond does not read the megabyte of index and feeds a thousand times a second on a
// core the server needs.
const stamps = new Map<string, string>();

function contains(file: string, text: string): boolean {
  try {
    const info = statSync(file);
    const stamp = `${info.ino}:${info.size}:${info.mtimeMs}`;
    if (stamps.get(file) === stamp) return false;
    stamps.set(file, stamp);
    return readFileSync(file, 'utf8').includes(text);
  } catch {
    return false;
  }
}

/**
 * CPU time (ms) the process has used, all threads and its main thread alone, from Linux's /proc (clock
 * ticks of 10 ms); undefined elsewhere.
 */
function cpuOf(pid: number | undefined): { all: number; main: number } | undefined {
  const ticks = (file: string) => {
    const fields = readFileSync(file, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
  try {
    return { all: ticks(`/proc/${pid}/stat`), main: ticks(`/proc/${pid}/task/${pid}/stat`) };
  } catch {
    return undefined;
  }
}

const median = (values: readonly number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

export async function benchServe(print: (line: string) => void): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'kurier-bench-serve-'));
  await generateProject(root, repo, ARTICLES);
  await cp(path.join(repo, 'templates'), path.join(root, 'templates'), { recursive: true });
  const serve = spawn(process.execPath, [path.join(repo, 'bin', 'kurier.js'), 'serve', '--port', '0'], {
    cwd: repo,
    env: { ...process.env, KURIER_ROOT: root },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    let output = '';
    serve.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    const started = Date.now();
    while (!output.includes('Serving')) {
      if (serve.exitCode !== null || Date.now() - started > 120_000) throw new Error(`serve: ${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const slug = `artikel-${ARTICLES - 1}`;
    const source = path.join(root, 'content', 'posts', `${slug}.md`);
    const original = await readFile(source, 'utf8');
    const targets = {
      page: path.join(root, 'out', slug, 'index.html'),
      index: path.join(root, 'out', 'index.html'),
      feed: path.join(root, 'out', 'feed.xml'),
    };
    const times: Record<keyof typeof targets, number[]> = { page: [], index: [], feed: [] };
    let cpuBefore: ReturnType<typeof cpuOf>;
    for (let round = 0; round <= ROUNDS; round++) {
      if (round === 1) cpuBefore = cpuOf(serve.pid);
      const marker = `Fassung ${round} ${Date.now()}`;
      const saved = performance.now();
      // Saved as most editors save: a new file renamed over the old one.
      await writeFile(`${source}.tmp`, original.replace(/^title: "/m, `title: "${marker} `));
      await rename(`${source}.tmp`, source);
      const pending = new Set(Object.keys(targets) as (keyof typeof targets)[]);
      while (pending.size > 0) {
        if (performance.now() - saved > 30_000) throw new Error(`no rebuild after 30 s: ${output}`);
        for (const name of pending) {
          if (!contains(targets[name], marker)) continue;
          pending.delete(name);
          if (round > 0) times[name].push(performance.now() - saved);
        }
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      // Let the watcher settle, so that every round starts from a quiet server.
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    // Until the caches are written too (1 s after the last build, src/serve/service.ts): once for all rounds.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const cpuAfter = cpuOf(serve.pid);
    print(
      `Serve: kurier serve on ${ARTICLES.toLocaleString('en')} articles; the newest article's title saved ${ROUNDS}×`,
    );
    for (const [name, values] of Object.entries(times)) {
      print(
        `  save → new ${name.padEnd(5)} on disk: median ${median(values).toFixed(0)} ms ` +
          `[${Math.min(...values).toFixed(0)}–${Math.max(...values).toFixed(0)}]`,
      );
    }
    if (cpuBefore !== undefined && cpuAfter !== undefined) {
      print(
        `  CPU of kurier serve per save: ${((cpuAfter.all - cpuBefore.all) / ROUNDS).toFixed(0)} ms, ` +
          `${((cpuAfter.main - cpuBefore.main) / ROUNDS).toFixed(0)} ms of it on the main thread ` +
          '(the rest: the email compile and the garbage collector)',
      );
    }
    print('  goal: ≤ 100 ms (page, index and feeds)');
  } finally {
    serve.kill('SIGTERM');
    await new Promise((resolve) => serve.once('exit', resolve));
    await rm(root, { recursive: true, force: true });
  }
}
