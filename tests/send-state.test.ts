// The send's private state: subscriber lists, the frozen list, the suppression list, the journal and the lock.

import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAddress } from '../src/address.ts';
import { AppendLog } from '../src/send/files.ts';
import { openJournal, readJournal, SENT } from '../src/send/journal.ts';
import {
  acquireLock,
  isLockStale,
  type LockOwner,
  readProcessInfo,
  STALE_AFTER_MS,
} from '../src/send/lock.ts';
import { freezeRecipients, type ListProblem, readRecipients } from '../src/send/recipients.ts';
import { parseDelimiter, readSubscribers, type SubscriberRow } from '../src/send/subscribers.ts';
import { openSuppressionWriter, readSuppression } from '../src/send/suppression.ts';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kurier-state-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

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

describe('freezeRecipients', () => {
  it('keeps each address once, leaves out inactive and suppressed ones, and a later unsubscribe wins', async () => {
    const file = path.join(dir, 'list.csv');
    await writeFile(
      file,
      'email,name,status\na@example.com,A,\nA@EXAMPLE.com,A2,\nb@example.com,B,\nc@example.com,C,\nbad,X,\nd@example.com,D,\nb@example.com,B,unsubscribed\n',
    );
    const problems: ListProblem[] = [];
    const draft = await freezeRecipients(path.join(dir, 'send'), {
      subscribersFile: file,
      displayName: 'list.csv',
      suppressed: new Set(['c@example.com']),
      onProblem: (problem) => problems.push(problem),
    });
    expect(draft.total).toBe(2);
    expect(draft.stats).toEqual({ rows: 7, invalid: 1, duplicates: 1, inactive: 1, suppressed: 1 });
    expect(problems).toEqual([{ line: 6, problem: '"bad" is not an email address' }]);
    await draft.commit({
      articleId: 'tag:x,2026:a',
      slug: 'a',
      title: 'A',
      frozenAt: '2026-11-26T08:00:00.000Z',
      subscribers: 'list.csv',
    });
    const frozen = [];
    for await (const item of readRecipients(path.join(dir, 'send'))) frozen.push(item);
    expect(frozen).toEqual([
      { index: 0, recipient: { email: 'a@example.com', name: 'A', fields: {} } },
      { index: 1, recipient: { email: 'd@example.com', name: 'D', fields: {} } },
    ]);
  });
});

describe('suppression list', () => {
  it('reads JSON entries and bare addresses, and appends durably', async () => {
    await writeFile(
      path.join(dir, 'suppressed.jsonl'),
      '# unsubscribe form\nUser@Example.com\n{"email":"x@bücher.example","reason":"bounced"}\n',
    );
    const writer = await openSuppressionWriter(dir);
    await writer.append({ email: 'new@example.com', reason: 'bounced', detail: '550 5.1.1' });
    await writer.close();
    expect([...(await readSuppression(dir))].sort()).toEqual([
      'new@example.com',
      'user@example.com',
      'x@xn--bcher-kva.example',
    ]);
  });

  it('refuses a damaged entry instead of silently mailing someone', async () => {
    await writeFile(path.join(dir, 'suppressed.jsonl'), '{"email":\n');
    await expect(readSuppression(dir)).rejects.toMatchObject({ code: 'SUPPRESSION_INVALID', line: 1 });
  });

  it('counts a last line without its newline, and appends after it without cutting it off', async () => {
    const file = path.join(dir, 'suppressed.jsonl');
    await writeFile(file, 'r1@example.org\nr2@example.org');
    expect([...(await readSuppression(dir))].sort()).toEqual(['r1@example.org', 'r2@example.org']);
    const writer = await openSuppressionWriter(dir);
    await writer.append({ email: 'r3@example.org', reason: 'bounced' });
    await writer.close();
    expect(await readFile(file, 'utf8')).toBe(
      'r1@example.org\nr2@example.org\n{"email":"r3@example.org","reason":"bounced"}\n',
    );
    expect([...(await readSuppression(dir))].sort()).toEqual([
      'r1@example.org',
      'r2@example.org',
      'r3@example.org',
    ]);
  });

  it('stops at a line that is not an address or not UTF-8, naming the line', async () => {
    const file = path.join(dir, 'suppressed.jsonl');
    await writeFile(file, 'r1@example.org\nr2 at example.org\n');
    await expect(readSuppression(dir)).rejects.toMatchObject({ code: 'SUPPRESSION_INVALID', line: 2 });
    await writeFile(
      file,
      Buffer.concat([Buffer.from('r1@example.org\n# J'), Buffer.from([0xf6]), Buffer.from('rg\n')]),
    );
    await expect(readSuppression(dir)).rejects.toMatchObject({ code: 'STATE_INVALID', line: 2 });
    await writeFile(file, 'Rita <R4@Example.org>\n{"email":"r5@example.org"}');
    expect([...(await readSuppression(dir))].sort()).toEqual(['r4@example.org', 'r5@example.org']);
  });
});

describe('journal', () => {
  it('group-commits concurrent records: each is durable when its promise resolves', async () => {
    const file = path.join(dir, 'journal.jsonl');
    const journal = await openJournal(file);
    await Promise.all(Array.from({ length: 500 }, (_, i) => journal.append({ i, s: 'sent', t: i })));
    // Before close: everything awaited is on disk already.
    const replay = await readJournal(file, 500);
    expect(replay.records).toBe(500);
    expect(replay.states.every((state) => state === SENT)).toBe(true);
    await journal.close();
  });

  it('ignores a torn line of a crash, and appends after it without cutting anything off', async () => {
    const file = path.join(dir, 'journal.jsonl');
    await writeFile(file, '{"i":0,"s":"attempting","t":1}\n{"i":0,"s":"sent","t":2}\n{"i":1,"s":"att');
    const replay = await readJournal(file, 2);
    expect(replay).toMatchObject({ records: 2, torn: 1, lastAt: 2 });
    expect([...replay.states]).toEqual([SENT, 0]);
    const journal = await openJournal(file);
    await journal.append({ i: 1, s: 'attempting', t: 3 });
    await journal.close();
    expect(await readFile(file, 'utf8')).toBe(
      '{"i":0,"s":"attempting","t":1}\n{"i":0,"s":"sent","t":2}\n{"i":1,"s":"att\n{"i":1,"s":"attempting","t":3}\n',
    );
    const again = await readJournal(file, 2);
    expect(again).toMatchObject({ records: 3, torn: 1, lastAt: 3 });
  });

  it('refuses a damaged line in the middle, and a record beyond the frozen list', async () => {
    const file = path.join(dir, 'journal.jsonl');
    await writeFile(file, '{"i":0,"s":"sent","t":1}\nnonsense\n{"i":1,"s":"sent","t":2}\n');
    await expect(readJournal(file, 2)).rejects.toMatchObject({ code: 'JOURNAL_INVALID', line: 2 });
    await writeFile(file, '{"i":5,"s":"sent","t":1}\n');
    await expect(readJournal(file, 2)).rejects.toMatchObject({ code: 'JOURNAL_INVALID' });
  });

  it('rejects every later append once a write failed', async () => {
    const log = await AppendLog.open(path.join(dir, 'log'));
    await log.close();
    await expect(log.append('x')).rejects.toThrow();
    await expect(log.append('y')).rejects.toThrow();
  });
});

describe('lock', () => {
  const owner = (over: Partial<LockOwner> = {}): LockOwner => ({
    pid: 4242,
    nonce: 'n0nce-1234',
    host: 'here',
    startedAt: '2026-11-26T08:00:00.000Z',
    processStart: '1000',
    ...over,
  });

  it('tells a running owner from a dead one, a zombie, a reused pid and a silent other host', () => {
    const evidence = {
      owner: owner(),
      heartbeatAgeMs: 0,
      host: 'here',
      answers: true,
      info: { state: 'S', start: '1000' },
    };
    expect(isLockStale(evidence)).toBe(false);
    expect(isLockStale({ ...evidence, answers: false })).toBe(true);
    expect(isLockStale({ ...evidence, info: { state: 'Z', start: '1000' } })).toBe(true);
    expect(isLockStale({ ...evidence, info: { state: 'S', start: '2000' } })).toBe(true);
    expect(isLockStale({ ...evidence, info: undefined, heartbeatAgeMs: STALE_AFTER_MS + 1 })).toBe(true);
    expect(isLockStale({ ...evidence, info: undefined })).toBe(false);
    expect(isLockStale({ ...evidence, host: 'elsewhere' })).toBe(false);
    expect(isLockStale({ ...evidence, host: 'elsewhere', heartbeatAgeMs: STALE_AFTER_MS + 1 })).toBe(true);
  });

  it('refuses a second holder and is free again after release', async () => {
    const file = path.join(dir, 'lock');
    const first = await acquireLock(file, { now: new Date(), nonce: 'first-nonce', what: 'the test' });
    await expect(
      acquireLock(file, { now: new Date(), nonce: 'second-nonce', what: 'the test' }),
    ).rejects.toMatchObject({
      code: 'SEND_LOCKED',
    });
    await first.release();
    const second = await acquireLock(file, { now: new Date(), nonce: 'second-nonce', what: 'the test' });
    expect(second.tookOver).toBeUndefined();
    await second.release();
  });

  it('takes over the lock of a killed process that lingers as a zombie', async () => {
    // The parent never reaps its child: the child stays a zombie whose pid still answers kill(pid, 0).
    const parent = spawn('/usr/bin/python3', [
      '-c',
      'import os,sys,time\npid=os.fork()\nif pid==0: os._exit(0)\nprint(pid,flush=True)\ntime.sleep(20)',
    ]);
    try {
      const pid = await new Promise<number>((resolve) =>
        parent.stdout.once('data', (data: Buffer) => resolve(Number(String(data)))),
      );
      let info = await readProcessInfo(pid);
      for (let i = 0; i < 50 && info?.state !== 'Z'; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        info = await readProcessInfo(pid);
      }
      expect(info?.state).toBe('Z');
      expect(() => process.kill(pid, 0)).not.toThrow();
      const file = path.join(dir, 'lock');
      const dead = owner({ pid, host: hostname(), processStart: info?.start });
      await writeFile(file, JSON.stringify(dead));
      const lock = await acquireLock(file, { now: new Date(), nonce: 'takeover-nonce', what: 'the test' });
      expect(lock.tookOver?.pid).toBe(pid);
      expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({
        pid: process.pid,
        nonce: 'takeover-nonce',
      });
      await lock.release();
    } finally {
      parent.kill('SIGKILL');
    }
  });

  it('keeps a lock whose owner runs, and takes over one whose pid now belongs to another process', async () => {
    const file = path.join(dir, 'lock');
    const self = await readProcessInfo('self');
    await writeFile(
      file,
      JSON.stringify(owner({ pid: process.pid, host: hostname(), processStart: self?.start })),
    );
    await expect(
      acquireLock(file, { now: new Date(), nonce: 'other-nonce', what: 'the test' }),
    ).rejects.toMatchObject({
      code: 'SEND_LOCKED',
    });
    await writeFile(file, JSON.stringify(owner({ pid: process.pid, host: hostname(), processStart: '1' })));
    const lock = await acquireLock(file, { now: new Date(), nonce: 'other-nonce', what: 'the test' });
    expect(lock.tookOver?.processStart).toBe('1');
    await lock.release();
  });
});
