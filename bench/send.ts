// The send benchmark: 5,000 copies over SMTP to a sink in another process, and a 1,000,000-reader list
// imported into the store, rendered (dry run) and frozen, on SQLite and (with KURIER_BENCH_DATABASE_URL or
// KURIER_TEST_DATABASE_URL) PostgreSQL; each step in a fresh process, as `npm run publish` runs.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

import { createDatabase, dropDatabase } from '../src/store/postgres.ts';

interface ChildReport {
  readonly code: number;
  readonly buildAndImportSeconds: number;
  readonly freezeSeconds: number;
  readonly sendSeconds: number;
  readonly sendCpuSeconds: number;
  readonly maxRssKiB: number;
  readonly lines: readonly string[];
}

async function makeProject(readers: number): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), `kurier-bench-send-${readers}-`));
  await cp(path.join(repo, 'content'), path.join(root, 'content'), { recursive: true });
  await cp(path.join(repo, 'templates'), path.join(root, 'templates'), { recursive: true });
  const out = createWriteStream(path.join(root, 'subscribers.csv'));
  out.write('email,name,city\n');
  for (let index = 0; index < readers; index += 1) {
    const row = `leser.${index}@beispiel-${index % 997}.example,Leserin Nummer ${index},Bochum\n`;
    if (!out.write(row)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return root;
}

function runPublishChild(
  root: string,
  mode: 'smtp' | 'import' | 'dry' | 'freeze',
  url = '',
  databaseUrl = '',
): ChildReport {
  const child = spawnSync(
    process.execPath,
    [
      ...profileArgs(),
      '--import',
      'tsx',
      path.join(repo, 'bench', 'send-child.ts'),
      root,
      mode,
      url,
      databaseUrl,
    ],
    { cwd: repo, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 },
  );
  const report = JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as ChildReport;
  if (child.status !== 0 || report.code !== 0) {
    throw new Error(`publish failed: ${child.stderr}\n${(report.lines ?? []).join('\n')}`);
  }
  return report;
}

/** KURIER_BENCH_CPU_PROF=DIR: a V8 CPU profile of each publish child in DIR (for `node --cpu-prof`'s viewers). */
function profileArgs(): string[] {
  const dir = process.env.KURIER_BENCH_CPU_PROF;
  return dir === undefined || dir === '' ? [] : ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

async function startSink(): Promise<{ child: ChildProcess; port: number; stop(): Promise<number> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(repo, 'bench', 'send-sink.ts')], {
    cwd: repo,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines: string[] = [];
  let buffered = '';
  const waiters: (() => void)[] = [];
  child.stdout?.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts);
    for (const wake of waiters.splice(0)) wake();
  });
  const nextLine = async (): Promise<string> => {
    while (lines.length === 0) await new Promise<void>((resolve) => waiters.push(resolve));
    return lines.shift() ?? '';
  };
  const { port } = JSON.parse(await nextLine()) as { port: number };
  return {
    child,
    port,
    async stop() {
      child.kill('SIGTERM');
      const { count } = JSON.parse(await nextLine()) as { count: number };
      return count;
    },
  };
}

const mib = (kib: number): string => `${(kib / 1024).toFixed(0)} MiB`;

/** `npm run bench -- send [smtp|million]`: both parts, or the one named. */
export async function benchSend(print: (line: string) => void, args: readonly string[] = []): Promise<void> {
  const only = args.find((arg) => !arg.startsWith('--'));
  print('Send: `kurier publish` in a fresh process (sink: smtp-server in its own process on 127.0.0.1)');
  if (only !== 'million') await benchSmtp(print);
  if (only !== 'smtp') await benchMillion(print);
  print('  targets: ≥ 2,000 msg/s over SMTP; peak ≤ 300 MB for 1,000,000 readers');
}

async function benchSmtp(print: (line: string) => void): Promise<void> {
  const smtpRoot = await makeProject(5_000);
  const sink = await startSink();
  try {
    const report = runPublishChild(smtpRoot, 'smtp', `smtp://127.0.0.1:${sink.port}`);
    const received = await sink.stop();
    print(
      `  5,000 readers over SMTP, 10 connections, states in the SQLite store (fsynced): ${(5_000 / report.sendSeconds).toFixed(0)} msg/s ` +
        `(${report.sendSeconds.toFixed(2)} s, CPU ${((report.sendCpuSeconds * 1000) / 5_000).toFixed(2)} ms each; sink received ${received}); peak ${mib(report.maxRssKiB)}`,
    );
  } finally {
    if (sink.child.exitCode === null) sink.child.kill('SIGTERM');
    await rm(smtpRoot, { recursive: true, force: true });
  }
}

async function benchMillion(print: (line: string) => void): Promise<void> {
  const server = process.env.KURIER_BENCH_DATABASE_URL ?? process.env.KURIER_TEST_DATABASE_URL ?? '';
  const bigRoot = await makeProject(1_000_000);
  try {
    for (const backend of server === '' ? ['sqlite'] : ['sqlite', 'postgres']) {
      const name = `kurier_bench_${Date.now()}`;
      const databaseUrl = backend === 'postgres' ? await createDatabase(server, name) : '';
      try {
        await rm(path.join(bigRoot, '.kurier'), { recursive: true, force: true });
        const imported = runPublishChild(bigRoot, 'import', '', databaseUrl);
        // The list is unchanged since that import: publish skips it, as every later run does.
        const dry = runPublishChild(bigRoot, 'dry', '', databaseUrl);
        const freeze = runPublishChild(bigRoot, 'freeze', '', databaseUrl);
        print(
          `  1,000,000 readers on ${backend}: import the CSV ${imported.buildAndImportSeconds.toFixed(1)} s, peak ${mib(imported.maxRssKiB)}; ` +
            `build + dry run (render all) ${dry.sendSeconds.toFixed(1)} s (${(1_000_000 / dry.sendSeconds).toFixed(0)} msg/s, ` +
            `CPU ${((dry.sendCpuSeconds * 1e6) / 1_000_000).toFixed(0)} µs each), peak ${mib(dry.maxRssKiB)} (incl. the build); ` +
            `freeze ${freeze.freezeSeconds.toFixed(1)} s, peak ${mib(freeze.maxRssKiB)}`,
        );
      } finally {
        if (backend === 'postgres') await dropDatabase(server, name);
      }
    }
  } finally {
    await rm(bigRoot, { recursive: true, force: true });
  }
}
