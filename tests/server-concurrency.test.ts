// Two processes on one SQLite file: `kurier subscribers import` while `kurier server` takes sign-ups. Both
// wait for the other's write lock (BEGIN IMMEDIATE, busy_timeout) instead of failing.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { openStore } from '../src/store/open.ts';
import { makeProject, repoRoot } from './support/project.ts';
import { spawnServer } from './support/server.ts';

it('imports a list in one process while another signs readers up', async () => {
  const root = await makeProject();
  const stateDir = await mkdtemp(path.join(tmpdir(), 'kurier-concurrent-'));
  const env = { KURIER_STATE_DIR: stateDir, KURIER_SECRET: 'test secret, long enough to sign' };
  const rows = Array.from({ length: 5000 }, (_, n) => `listed${n}@example.org,Leser ${n}`);
  await writeFile(path.join(root, 'big.csv'), `email,name\n${rows.join('\n')}\n`);
  const server = await spawnServer(root, env);
  let signUps = 0;
  try {
    const importer = spawn(
      process.execPath,
      [path.join(repoRoot, 'bin', 'kurier.js'), 'subscribers', 'import', 'big.csv'],
      {
        env: { PATH: process.env.PATH, ...env, KURIER_ROOT: root },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    const output: string[] = [];
    importer.stdout.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    importer.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    let exited = false;
    const imported = new Promise<number | null>((resolve) => importer.once('exit', resolve)).finally(() => {
      exited = true;
    });
    // Sign-ups while the import runs, their writes between its batches; fewer than the 20 per IP the
    // server allows in ten minutes.
    const statuses: number[] = [];
    while (!exited && statuses.length < 19) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      const response = await fetch(`${server.url}/subscribe`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: `email=signup${statuses.length}%40example.org`,
      });
      statuses.push(response.status);
    }
    signUps = statuses.length;
    expect(await imported).toBe(0);
    expect(output.join('')).toContain('5,000 added');
    expect(statuses.filter((status) => status !== 202)).toEqual([]);
    expect(statuses.length).toBeGreaterThan(2);
  } finally {
    const stopped = new Promise((resolve) => server.child.once('exit', resolve));
    server.child.kill('SIGTERM');
    await stopped;
  }
  const store = await openStore({ stateDir, now: new Date(), randomBytes });
  expect(await store.counts()).toMatchObject({ active: 5000, pending: signUps });
  await store.close();
  await rm(root, { recursive: true, force: true });
  await rm(stateDir, { recursive: true, force: true });
}, 60_000);
