// The send's private state: subscriber lists, the frozen list in the store, the import of an old state
// folder (suppression list, journal), recipient states and the lock.

import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAddress } from '../src/address.ts';
import type { Io } from '../src/context.ts';
import { importList } from '../src/send/import.ts';
import { isHolderGone, isOwnerGone, type LockOwner, renderLockOwner } from '../src/send/lock.ts';
import { parseDelimiter, readSubscribers, type SubscriberRow } from '../src/send/subscribers.ts';
import { openStore } from '../src/store/open.ts';
import { createDatabase, dropDatabase } from '../src/store/postgres.ts';
import { StateRecorder } from '../src/store/state-recorder.ts';
import type { Store } from '../src/store/store.ts';
import { lacks } from './support/requirements.ts';

let dir: string;
const NOW = new Date('2026-11-26T08:00:00Z');
const stores: Store[] = [];

/** A SQLite store in the test's folder (the PostgreSQL side of each intention: tests/store-contract.test.ts). */
async function storeIn(stateDir = dir): Promise<Store> {
  const store = await openStore({ stateDir, databaseUrl: undefined, now: NOW, randomBytes });
  stores.push(store);
  return store;
}

function quietIo(err: string[] = []): Io {
  return { out: () => {}, err: (line) => err.push(line), status: () => {}, isTTY: false };
}

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kurier-state-'));
});

afterEach(async () => {
  for (const store of stores.splice(0)) await store.close();
  await rm(dir, { recursive: true, force: true });
});

/** A send of the file-based version in the test's state folder: its frozen list and its journal as given. */
async function writeLegacySend(recipients: readonly string[], journal: string): Promise<void> {
  const send = path.join(dir, 'sends', '0123456789abcdef');
  await mkdir(send, { recursive: true });
  await writeFile(
    path.join(send, 'send.json'),
    JSON.stringify({
      version: 1,
      articleId: 'tag:x,2026:a',
      frozenAt: NOW.toISOString(),
      total: recipients.length,
    }),
  );
  await writeFile(
    path.join(send, 'recipients.jsonl'),
    recipients.map((email) => `${JSON.stringify({ email })}\n`).join(''),
  );
  await writeFile(path.join(send, 'journal.jsonl'), journal);
}

async function rowsOf(csv: string): Promise<SubscriberRow[]> {
  const file = path.join(dir, 'list.csv');
  await writeFile(file, csv);
  const rows: SubscriberRow[] = [];
  for await (const batch of readSubscribers(file, 'list.csv')) rows.push(...batch);
  return rows;
}

describe('parseAddress', () => {
  it('turns an international domain into punycode and keeps a lowercase key', () => {
    expect(parseAddress(' Jörg@Bücher.Example ')).toEqual({
      ok: false,
      reason: expect.stringContaining('SMTPUTF8'),
    });
    expect(parseAddress('Joerg.M@Bücher.Example')).toEqual({
      ok: true,
      address: 'Joerg.M@xn--bcher-kva.example',
      key: 'joerg.m@xn--bcher-kva.example',
    });
  });

  it.each([
    'plain',
    '@example.com',
    'a@',
    'a..b@example.com',
    'a@localhost',
    'a@-x.example',
    'a@1.2.3.4',
    'a b@example.com',
  ])('refuses %s', (raw) => {
    expect(parseAddress(raw).ok).toBe(false);
  });
});

describe('readSubscribers', () => {
  it('reads Kurier lists: status, extra columns as fields, control characters out of names', async () => {
    const rows = await rowsOf(
      'email,name,status,city\nanna@example.com,Anna,,Bochum\n\nbroken,X,active,\ncleo@example.com,Cleo,maybe,\nben@example.com,"Ben\r\nBcc: x@y",unsubscribed,Essen\n',
    );
    expect(rows).toEqual([
      {
        ok: true,
        line: 2,
        subscriber: {
          email: 'anna@example.com',
          key: 'anna@example.com',
          name: 'Anna',
          status: 'active',
          fields: { city: 'Bochum' },
        },
      },
      { ok: false, line: 4, problem: '"broken" is not an email address' },
      { ok: false, line: 5, problem: 'status must be active, unsubscribed or bounced' },
      {
        ok: true,
        line: 6,
        subscriber: {
          email: 'ben@example.com',
          key: 'ben@example.com',
          name: 'Ben Bcc: x@y',
          status: 'unsubscribed',
          fields: { city: 'Essen' },
        },
      },
    ]);
  });

  it('reads listmonk exports: attributes JSON becomes fields, blocklisted means unsubscribed', async () => {
    const rows = await rowsOf(
      'uuid,email,name,attributes,status\n1,a@example.com,A,"{""city"": ""Bochum"", ""age"": 40}",enabled\n2,b@example.com,B,{},blocklisted\n3,c@example.com,C,[1],enabled\n',
    );
    expect(
      rows.map((row) => (row.ok ? [row.subscriber.status, row.subscriber.fields] : row.problem)),
    ).toEqual([
      ['active', { uuid: '1', city: 'Bochum', age: '40' }],
      ['unsubscribed', { uuid: '2' }],
      'attributes must be a JSON object',
    ]);
  });

  it('reads Mailchimp exports with a BOM and semicolons: first and last name, unsubscribe and clean dates', async () => {
    const rows = await rowsOf(
      '\ufeffEmail Address;First Name;Last Name;UNSUB_TIME;CLEAN_TIME\nm@example.com;Maria;Müller, Jr.;;\nu@example.com;U;;2026-01-01;\nc@example.com;C;;;2026-02-02\n',
    );
    expect(rows.map((row) => (row.ok ? [row.subscriber.name, row.subscriber.status] : row.problem))).toEqual([
      ['Maria Müller, Jr.', 'active'],
      ['U', 'unsubscribed'],
      ['C', 'bounced'],
    ]);
  });

  it('refuses a list without an email column, naming the header it found', async () => {
    await expect(rowsOf('mail,name\na@example.com,A\n')).rejects.toThrow(
      /no "email" column \(found: mail, name\)/,
    );
  });

  it('reports broken quoting with its line', async () => {
    await expect(rowsOf('email,name\na@example.com,"A\nb@example.com,B"x\n')).rejects.toMatchObject({
      code: 'SUBSCRIBERS_INVALID',
    });
  });

  it('guesses the delimiter from the header line', () => {
    expect(parseDelimiter('email;name;city')).toBe(';');
    expect(parseDelimiter('email\tname')).toBe('\t');
    expect(parseDelimiter('email')).toBe(',');
  });
});

describe('the frozen list', () => {
  it('keeps each address once, leaves out inactive and suppressed ones, and a later unsubscribe wins', async () => {
    const file = path.join(dir, 'list.csv');
    await writeFile(
      file,
      'email,name,status\na@example.com,A,\nA@EXAMPLE.com,A2,\nb@example.com,B,\nc@example.com,C,\nbad,X,\nd@example.com,D,\nb@example.com,B,unsubscribed\n',
    );
    const store = await storeIn();
    await store.suppress('c@example.com', 'unsubscribed', 'test', NOW);
    const err: string[] = [];
    const summary = await importList(store, { file, displayName: 'list.csv' }, quietIo(err), NOW);
    expect(summary).toMatchObject({ invalid: 1, refused: 1 });
    expect(err).toEqual(['list.csv:6  "bad" is not an email address']);
    const { send, created } = await store.createSend({ articleId: 'tag:x,2026:a', email: {}, frozenAt: NOW });
    expect(created).toBe(true);
    expect(send.total).toBe(2);
    const frozen = await store.readRecipients(send.id, 0, 10);
    expect(frozen.map((row) => [row.index, row.email, row.name])).toEqual([
      [0, 'a@example.com', 'A'],
      [1, 'd@example.com', 'D'],
    ]);
  });

  it('with --strict, stops at an invalid row before importing any', async () => {
    const file = path.join(dir, 'list.csv');
    await writeFile(file, 'email\na@example.com\nbad\n');
    const store = await storeIn();
    await expect(
      importList(store, { file, displayName: 'list.csv' }, quietIo(), NOW, true),
    ).rejects.toMatchObject({ code: 'SUBSCRIBER_INVALID', line: 3 });
    expect((await store.counts()).active).toBe(0);
  });
});

describe('an old state folder, imported once', () => {
  it('reads JSON entries and bare addresses of the suppression list, its last line without a newline too', async () => {
    await writeFile(
      path.join(dir, 'suppressed.jsonl'),
      '# unsubscribe form\nUser@Example.com\n{"email":"x@bücher.example","reason":"bounced"}\nlast@example.org',
    );
    const store = await storeIn();
    expect(await store.migrateLegacyState(dir, NOW)).toMatchObject({ migrated: true, suppressed: 3 });
    for (const address of ['user@example.com', 'x@bücher.example', 'last@example.org'])
      expect(await store.isSuppressed(address)).toBe(true);
    expect(await store.isSuppressed('other@example.org')).toBe(false);
    // Once: a second call (or a second machine) imports nothing again.
    expect(await store.migrateLegacyState(dir, NOW)).toMatchObject({ migrated: false });
  });

  it('refuses a damaged suppression entry, naming its line, and imports nothing', async () => {
    await writeFile(path.join(dir, 'suppressed.jsonl'), 'a@example.org\n{"email":\n');
    const store = await storeIn();
    await expect(store.migrateLegacyState(dir, NOW)).rejects.toMatchObject({
      code: 'STORE_INVALID',
      line: 2,
    });
    expect(await store.isSuppressed('a@example.org')).toBe(false);
    await writeFile(path.join(dir, 'suppressed.jsonl'), 'a@example.org\nr2 at example.org\n');
    await expect(store.migrateLegacyState(dir, NOW)).rejects.toMatchObject({
      code: 'SUPPRESSION_INVALID',
      line: 2,
    });
    await writeFile(path.join(dir, 'suppressed.jsonl'), 'Rita <R4@Example.org>\n{"email":"r5@example.org"}');
    await store.migrateLegacyState(dir, NOW);
    expect(await store.isSuppressed('r4@example.org')).toBe(true);
    expect(await store.isSuppressed('r5@example.org')).toBe(true);
  });

  it('replays a journal with a torn last line: sent stays sent, the attempt in doubt stays unknown', async () => {
    await writeLegacySend(
      ['a@example.com', 'b@example.com', 'c@example.com'],
      '{"i":0,"s":"attempting","t":1}\n{"i":0,"s":"sent","t":2}\n{"i":1,"s":"attempting","t":3}\n{"i":2,"s":"att',
    );
    const store = await storeIn();
    expect(await store.migrateLegacyState(dir, NOW)).toMatchObject({ sends: 1, recipients: 3 });
    const [imported] = await store.listSends();
    if (imported === undefined) throw new Error('no send');
    expect(await store.countStates(imported.id)).toMatchObject({ sent: 1, attempting: 1, pending: 1 });
  });

  it('refuses a damaged journal line in the middle', async () => {
    await writeLegacySend(
      ['a@example.com', 'b@example.com'],
      '{"i":0,"s":"sent","t":1}\nnonsense\n{"i":1,"s":"sent","t":2}\n',
    );
    const store = await storeIn();
    await expect(store.migrateLegacyState(dir, NOW)).rejects.toMatchObject({
      code: 'STORE_INVALID',
      line: 2,
    });
    expect(await store.listSends()).toEqual([]);
  });
});

describe.skipIf(lacks('postgres'))('an old state folder, two processes on one PostgreSQL', () => {
  it('is imported once when both open the store at the same moment', async () => {
    const base = process.env.KURIER_TEST_DATABASE_URL ?? '';
    const name = `kurier_legacy_${randomBytes(6).toString('hex')}`;
    const databaseUrl = await createDatabase(base, name);
    try {
      const lines = Array.from({ length: 2_000 }, (_, i) => `r${i}@example.org`).join('\n');
      await writeFile(path.join(dir, 'suppressed.jsonl'), `${lines}\n`);
      const open = () => openStore({ stateDir: dir, databaseUrl, now: NOW, randomBytes });
      const [a, b] = [await open(), await open()];
      try {
        const results = await Promise.all([a.migrateLegacyState(dir, NOW), b.migrateLegacyState(dir, NOW)]);
        expect(results.map((result) => result.migrated).sort()).toEqual([false, true]);
        expect((await a.counts()).suppressed).toBe(2_000);
      } finally {
        await a.close();
        await b.close();
      }
    } finally {
      await dropDatabase(base, name);
    }
  });
});

describe('recipient states', () => {
  it('group-commits concurrent records: each is durable (seen by another connection) when its promise resolves', async () => {
    const file = path.join(dir, 'list.csv');
    await writeFile(
      file,
      `email\n${Array.from({ length: 500 }, (_, i) => `r${i}@example.com`).join('\n')}\n`,
    );
    const store = await storeIn();
    await importList(store, { file, displayName: 'list.csv' }, quietIo(), NOW);
    const { send } = await store.createSend({ articleId: 'tag:x,2026:a', email: {}, frozenAt: NOW });
    const recorder = new StateRecorder(store, send.id);
    await Promise.all(
      Array.from({ length: 500 }, (_, index) => recorder.record({ index, state: 'sent', at: NOW })),
    );
    const other = await storeIn();
    expect((await other.countStates(send.id)).sent).toBe(500);
  });
});

describe('lock', () => {
  const owner = (over: Partial<LockOwner> = {}): LockOwner => ({
    pid: 4242,
    nonce: 'n0nce-1234',
    host: 'here',
    start: '1000',
    ...over,
  });

  it('tells a running owner from a dead one, a zombie, a reused pid, and leaves another host to the lock time', () => {
    const info = { state: 'S', start: '1000' };
    expect(isOwnerGone(owner(), 'here', true, info)).toBe(false);
    expect(isOwnerGone(owner(), 'here', false, info)).toBe(true);
    expect(isOwnerGone(owner(), 'here', true, { state: 'Z', start: '1000' })).toBe(true);
    expect(isOwnerGone(owner(), 'here', true, { state: 'S', start: '2000' })).toBe(true);
    expect(isOwnerGone(owner(), 'here', true, undefined)).toBe(false);
    expect(isOwnerGone(owner(), 'elsewhere', false, undefined)).toBe(false);
  });

  it('refuses a second holder until the lock is released or its time has run out', async () => {
    const file = path.join(dir, 'list.csv');
    await writeFile(file, 'email\na@example.com\n');
    const store = await storeIn();
    await importList(store, { file, displayName: 'list.csv' }, quietIo(), NOW);
    const { send } = await store.createSend({ articleId: 'tag:x,2026:a', email: {}, frozenAt: NOW });
    expect(await store.lockSend(send.id, 'first', NOW, 60_000)).toBe(true);
    expect(await store.lockSend(send.id, 'second', NOW, 60_000)).toBe(false);
    expect(await store.lockSend(send.id, 'second', new Date(NOW.getTime() + 60_001), 60_000)).toBe(true);
    await store.unlockSend(send.id, 'second');
    expect(await store.lockSend(send.id, 'third', NOW, 60_000)).toBe(true);
  });

  it('knows a killed process that lingers as a zombie, and a pid that now belongs to another process', async () => {
    // The parent never reaps its child: the child stays a zombie whose pid still answers kill(pid, 0).
    const parent = spawn('/usr/bin/python3', [
      '-c',
      'import os,sys,time\npid=os.fork()\nif pid==0: os._exit(0)\nprint(pid,flush=True)\ntime.sleep(20)',
    ]);
    try {
      const pid = await new Promise<number>((resolve) =>
        parent.stdout.once('data', (data: Buffer) => resolve(Number(String(data)))),
      );
      expect(() => process.kill(pid, 0)).not.toThrow();
      let gone = false;
      for (let i = 0; i < 50 && !gone; i += 1) {
        gone = await isHolderGone(renderLockOwner(owner({ pid, host: hostname(), start: '' })));
        if (!gone) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(gone).toBe(true);
    } finally {
      parent.kill('SIGKILL');
    }
    const self = renderLockOwner(owner({ pid: process.pid, host: hostname(), start: '' }));
    expect(await isHolderGone(self)).toBe(false);
    expect(
      await isHolderGone(renderLockOwner(owner({ pid: process.pid, host: hostname(), start: '1' }))),
    ).toBe(true);
  });
});
