// The SQLite store's thread: statements run there (commits wait for the disk off the event loop), the
// answers come back in order, SQLite's errors keep their code, and an idle store keeps no process alive.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { openStore } from '../src/store/open.ts';
import { Kysely, sql } from '../src/store/sql.ts';
import { SqliteThreadDialect } from '../src/store/sqlite-thread.ts';

const REPO = path.resolve(import.meta.dirname, '..');
let dir: string;

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('answers each statement in order and passes SQLite’s error code back', async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kurier-thread-'));
  const db = new Kysely<unknown>({ dialect: new SqliteThreadDialect(path.join(dir, 'a.db')) });
  try {
    await sql`create table t (k integer primary key)`.execute(db);
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, index) => sql<{ k: number }>`select ${index} as k`.execute(db)),
    );
    expect(answers.map((answer) => answer.rows[0]?.k)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    await sql`insert into t (k) values (1)`.execute(db);
    const failure = await sql`insert into t (k) values (1)`.execute(db).then(
      () => undefined,
      (error: unknown) => error as { code?: string; message: string },
    );
    expect(failure?.code).toBe('SQLITE_CONSTRAINT_PRIMARYKEY');
    expect(failure?.message).toContain('UNIQUE constraint failed');
  } finally {
    await db.destroy();
  }
});

it('keeps no process alive once its statements are answered (like a connection on the main thread)', async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kurier-thread-'));
  const script = `
    import { randomBytes } from 'node:crypto';
    import { openStore } from ${JSON.stringify(path.join(REPO, 'src', 'store', 'open.ts'))};
    const store = await openStore({ stateDir: ${JSON.stringify(dir)}, now: new Date(), randomBytes });
    console.log(JSON.stringify(await store.counts()));
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let out = '';
  child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
  // Never closed: the process must end by itself; a thread kept referenced would hold it until killed.
  const guard = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.once('exit', (exitCode, exitSignal) => resolve([exitCode, exitSignal])),
  );
  clearTimeout(guard);
  expect({ code, signal }).toEqual({ code: 0, signal: null });
  expect(JSON.parse(out)).toMatchObject({ active: 0, suppressed: 0 });
  // And the file it made opens again, with what the first process wrote.
  const store = await openStore({ stateDir: dir, now: new Date(), randomBytes });
  expect((await store.counts()).active).toBe(0);
  await store.close();
}, 90_000);
