// The sign-up service benchmark: one-click unsubscribes (RFC 8058) and sign-ups per second on loopback, with
// autocannon (imported here only) against `kurier server` as a real process, on SQLite and, when DATABASE_URL
// names a PostgreSQL server, on a fresh database there. Every one-click request unsubscribes a subscriber of
// its own, and the store answers only after the change is on disk (SQLite: WAL with synchronous=FULL).

import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { openStore } from '../src/store/open.ts';
import { createDatabase, dropDatabase } from '../src/store/postgres.ts';
import type { Store } from '../src/store/store.ts';
import { planListName } from '../src/subscribe/links.ts';
import { createToken, planKeyRing } from '../src/subscribe/tokens.ts';
import { freePort } from '../tests/support/net.ts';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SECRET = randomBytes(32).toString('hex');
const CONNECTIONS = 32;
const UNSUBSCRIBES = 20_000;
const SIGN_UPS = 5_000;

interface Backend {
  readonly name: string;
  readonly databaseUrl: string | undefined;
  cleanup(): Promise<void>;
}

async function makeProject(publicUrl: string): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'kurier-bench-server-'));
  for (const folder of ['content', 'templates', 'static']) {
    await cp(path.join(repo, folder), path.join(root, folder), { recursive: true });
  }
  const site = path.join(root, 'content', 'site.yaml');
  await writeFile(
    site,
    `${await readFile(site, 'utf8')}subscriptions:\n  url: ${publicUrl}\n  privacyUrl: https://kurier.example/datenschutz/\n  consent: Ja, ich möchte den Newsletter.\n`,
  );
  return root;
}

async function startServer(root: string, port: number, backend: Backend): Promise<ChildProcess> {
  const child = spawn(
    process.execPath,
    [path.join(repo, 'bin', 'kurier.js'), 'server', '--port', String(port), '--trust-proxy'],
    {
      env: {
        PATH: process.env.PATH,
        KURIER_ROOT: root,
        KURIER_SECRET: SECRET,
        KURIER_PUBLIC_URL: `http://127.0.0.1:${port}/`,
        ...(backend.databaseUrl === undefined ? {} : { DATABASE_URL: backend.databaseUrl }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      // The access log runs to a line per request: only the start is kept.
      if (output.length < 10_000) output += chunk.toString('utf8');
      if (output.includes('listening on')) resolve();
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => reject(new Error(`kurier server exited with ${code}:\n${output}`)));
  });
  return child;
}

async function stopServer(child: ChildProcess): Promise<void> {
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

/** N active subscribers and an unsubscribe token for each, as their newsletters carry them. */
async function seed(store: Store, count: number, list: string): Promise<string[]> {
  const now = new Date();
  const rows = Array.from({ length: count }, (_, index) => ({
    address: `leser.${index}@beispiel-${index % 997}.example`,
    name: `Leserin ${index}`,
    fields: {},
    status: 'active' as const,
  }));
  for (let start = 0; start < rows.length; start += 5_000) {
    await store.importRows(rows.slice(start, start + 5_000), 'bench', now);
  }
  const ring = planKeyRing([SECRET]);
  const tokens: string[] = [];
  for (const row of rows) {
    const subscriber = await store.findSubscriber(row.address);
    if (subscriber === undefined) throw new Error(`${row.address} was not imported`);
    tokens.push(
      createToken(ring, { purpose: 'unsubscribe', list, subscriberId: subscriber.id, issuedAt: now }),
    );
  }
  return tokens;
}

/**
 * The server process's CPU time so far in ms (Linux /proc, 100 ticks a second): requests per CPU second says
 * what one free core would do, whatever else shares the machine while the bench runs.
 */
function cpuMs(pid: number | undefined): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Run {
  readonly perSecond: number;
  /** Server CPU per request. */
  readonly cpuMs: number;
  readonly p99: number;
  readonly unexpected: number;
}

async function load(
  server: ChildProcess,
  url: string,
  amount: number,
  expected: number,
  request: (index: number) => { path: string; body: string; headers: Record<string, string> },
): Promise<Run> {
  let next = 0;
  let unexpected = 0;
  const started = process.hrtime.bigint();
  const cpuBefore = cpuMs(server.pid);
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    amount,
    method: 'POST',
    requests: [
      {
        setupRequest: (base) => {
          const { path: requestPath, body, headers } = request(next++);
          return { ...base, method: 'POST', path: requestPath, body, headers };
        },
        onResponse: (status) => {
          if (status !== expected) unexpected += 1;
        },
      },
    ],
  });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const requests = result.requests.total || result.requests.sent;
  return {
    perSecond: requests / seconds,
    cpuMs: (cpuMs(server.pid) - cpuBefore) / requests,
    p99: result.latency.p99,
    unexpected: unexpected + result.errors + result.timeouts,
  };
}

async function benchBackend(backend: Backend, print: (line: string) => void): Promise<void> {
  const port = await freePort();
  const publicUrl = `http://127.0.0.1:${port}/`;
  const root = await makeProject(publicUrl);
  const stateDir = path.join(root, '.kurier');
  const open = () => openStore({ stateDir, databaseUrl: backend.databaseUrl, now: new Date(), randomBytes });
  try {
    const seeding = await open();
    const tokens = await seed(seeding, UNSUBSCRIBES, planListName('https://kurier.example/'));
    await seeding.close();
    const server = await startServer(root, port, backend);
    try {
      const oneClick = await load(server, publicUrl, UNSUBSCRIBES, 200, (index) => ({
        path: `/unsubscribe?token=${tokens[index]}`,
        body: 'List-Unsubscribe=One-Click',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
      }));
      const signUps = await load(server, publicUrl, SIGN_UPS, 303, (index) => ({
        path: '/subscribe',
        body: `email=neu.${index}%40beispiel.example&name=Neu+${index}&website=&page=https%3A%2F%2Fkurier.example%2F&form=site&consent=Ja`,
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          // One reader per address, as behind a reverse proxy: the per-IP limit is not what is measured.
          'x-forwarded-for': `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}`,
        },
      }));
      await stopServer(server);
      const checking = await open();
      const counts = await checking.counts();
      await checking.close();
      const problems = [
        counts.unsubscribed === UNSUBSCRIBES ? '' : `${counts.unsubscribed}/${UNSUBSCRIBES} unsubscribed`,
        counts.pending === SIGN_UPS ? '' : `${counts.pending}/${SIGN_UPS} pending`,
        oneClick.unexpected + signUps.unexpected === 0
          ? ''
          : `${oneClick.unexpected + signUps.unexpected} unexpected answers`,
      ].filter((problem) => problem !== '');
      print(
        `  ${backend.name.padEnd(10)} one-click unsubscribes ${Math.round(oneClick.perSecond).toLocaleString('en')}/s (p99 ${oneClick.p99} ms, server CPU ${oneClick.cpuMs.toFixed(2)} ms each), sign-ups ${Math.round(signUps.perSecond).toLocaleString('en')}/s (p99 ${signUps.p99} ms, CPU ${signUps.cpuMs.toFixed(2)} ms each)${problems.length === 0 ? '' : `  FAILED: ${problems.join(', ')}`}`,
      );
      if (problems.length > 0) process.exitCode = 1;
    } finally {
      if (server.exitCode === null && server.signalCode === null) await stopServer(server);
    }
  } finally {
    await rm(root, { recursive: true, force: true });
    await backend.cleanup();
  }
}

export async function benchServer(print: (line: string) => void): Promise<void> {
  print(
    `kurier server on loopback: ${UNSUBSCRIBES.toLocaleString('en')} one-click POSTs (each a subscriber of its own), then ${SIGN_UPS.toLocaleString('en')} sign-ups, ${CONNECTIONS} connections`,
  );
  const backends: Backend[] = [{ name: 'SQLite', databaseUrl: undefined, cleanup: async () => {} }];
  // As the send benchmark: KURIER_BENCH_DATABASE_URL (or DATABASE_URL) names the PostgreSQL server.
  const adminUrl = process.env.KURIER_BENCH_DATABASE_URL ?? process.env.DATABASE_URL;
  if (adminUrl !== undefined && adminUrl !== '') {
    const name = `kurier_bench_${randomBytes(6).toString('hex')}`;
    backends.push({
      name: 'PostgreSQL',
      databaseUrl: await createDatabase(adminUrl, name),
      cleanup: () => dropDatabase(adminUrl, name),
    });
  }
  for (const backend of backends) await benchBackend(backend, print);
}
