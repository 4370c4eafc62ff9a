// The bounce run against a real Dovecot on 127.0.0.1: the fixtures decided as their manifest says and moved
// to Kurier's folders, a second run idempotent, and runs killed (SIGKILL) at random points handling every
// message exactly once.

import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DEFAULT_FOLDERS, openImapMailbox, parseBounceImapUrl } from '../src/bounces/imap.ts';
import { type BounceRunReport, runBounces } from '../src/bounces/service.ts';
import { createBouncesCommand } from '../src/commands/bounces.ts';
import type { RunContext } from '../src/context.ts';
import { readBounceFixture, readBounceManifest } from './support/bounce-fixtures.ts';
import { dovecotAvailable, startDovecot, TestImapClient, type TestImapServer } from './support/dovecot.ts';
import { createTestLedger } from './support/test-ledger.ts';

const REPO = path.resolve(import.meta.dirname, '..');
const manifest = readBounceManifest();
const settings = { classify: manifest.settings, softBounces: { count: 3, withinDays: 30 } };
const now = () => new Date('2026-11-24T12:00:00Z');

/** Each message carries a test id in a header of its own, so the test sees where it went. */
function tagged(id: string, raw: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`X-Kurier-Test-Id: ${id}\r\n`), raw]);
}

function expectedFolder(verdict: string): string {
  return verdict === 'unknown' || verdict === 'not-bounce' ? 'unclassified' : 'handled';
}

describe.skipIf(!dovecotAvailable)('bounces over IMAP (Dovecot)', () => {
  let server: TestImapServer;
  let imap: TestImapClient;
  let dir: string;
  let folders: Record<'inbox' | 'handled' | 'unclassified', string>;

  beforeEach(async () => {
    server = await startDovecot();
    imap = await TestImapClient.connect(server);
    dir = await mkdtemp(path.join(os.tmpdir(), 'kurier-bounces-'));
    folders = {
      inbox: 'INBOX',
      handled: await imap.folderName(DEFAULT_FOLDERS.handled),
      unclassified: await imap.folderName(DEFAULT_FOLDERS.unclassified),
    };
  });

  afterEach(async () => {
    await imap.close();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  async function where(): Promise<Map<string, string[]>> {
    const places = new Map<string, string[]>();
    for (const [name, folder] of Object.entries(folders)) {
      const ids = await imap.headerValues(folder, 'X-Kurier-Test-Id').catch(() => [] as string[]);
      for (const id of ids) places.set(id, [...(places.get(id) ?? []), name]);
    }
    return places;
  }

  async function runOnce(ledger = createTestLedger()): Promise<BounceRunReport> {
    const mailbox = await openImapMailbox(parseBounceImapUrl(server.url));
    try {
      return await runBounces(mailbox, ledger, settings, now);
    } finally {
      await mailbox.close();
    }
  }

  it('decides each fixture as its manifest says, moves it, and changes nothing on a second run', async () => {
    for (const entry of manifest.messages)
      await imap.append('INBOX', tagged(entry.file, readBounceFixture(entry.file)));
    const ledger = createTestLedger();

    const first = await runOnce(ledger);
    expect(first).toMatchObject({ seen: manifest.messages.length, recorded: manifest.messages.length });
    expect(ledger.entries).toHaveLength(manifest.messages.length);
    const places = await where();
    for (const entry of manifest.messages) {
      expect(places.get(entry.file), entry.file).toEqual([expectedFolder(entry.verdict)]);
    }
    const kinds = ledger.entries.map((stored) => stored.kind).sort();
    const expectedKinds = manifest.messages
      .map((entry) => (['hard', 'soft', 'refused'].includes(entry.verdict) ? 'bounce' : entry.verdict))
      .sort();
    expect(kinds).toEqual(expectedKinds);
    expect(ledger.status.get('verp:7:1')).toBe('bounced');
    expect(ledger.status.get('verp:7:21')).toBe('complained');
    expect(ledger.status.get('verp:7:30')).toBe('unsubscribed');
    expect(ledger.status.get('address:doris.hahn@example.org')).toBe('unsubscribed');
    // Refused by Spamhaus: the sender's problem, the reader stays.
    expect(ledger.status.get('verp:7:19')).toBeUndefined();
    expect(first.unclassified.map((item) => item.subject)).toContain('Undeliverable message');

    const second = await runOnce(ledger);
    expect(second).toMatchObject({ seen: 0, recorded: 0, alreadyRecorded: 0 });
    expect(ledger.entries).toHaveLength(manifest.messages.length);

    // A copy put back (a person dragged it into the inbox again) is recognised and only moved.
    const again = manifest.messages[0]?.file as string;
    await imap.append('INBOX', tagged(again, readBounceFixture(again)));
    const third = await runOnce(ledger);
    expect(third).toMatchObject({ seen: 1, recorded: 0, alreadyRecorded: 1 });
    expect(ledger.entries).toHaveLength(manifest.messages.length);
    expect((await where()).get(again)).toEqual(['handled', 'handled']);
  });

  it('counts soft bounces and makes a reader bounced at the threshold, each bounce once', async () => {
    const fixture = readBounceFixture('postfix-dsn-mailbox-full.eml');
    const ledger = createTestLedger();
    for (let copy = 1; copy <= 3; copy++) {
      const raw = Buffer.from(
        fixture.toString('latin1').replace(/^Message-ID: </m, `Message-ID: <copy${copy}.`),
        'latin1',
      );
      await imap.append('INBOX', tagged(`full-${copy}`, raw));
      const report = await runOnce(ledger);
      expect(report.recorded).toBe(1);
      expect(ledger.status.get('verp:7:2')).toBe(copy < 3 ? undefined : 'bounced');
      expect(report.suppressed).toHaveLength(copy < 3 ? 0 : 1);
    }
  });

  it('runs as `kurier bounces`: reads BOUNCE_IMAP_URL, prints what it decided and what waits for a person', async () => {
    for (const file of ['postfix-dsn-user-unknown.eml', 'unknown-bounce-no-recipient.eml']) {
      await imap.append('INBOX', tagged(file, readBounceFixture(file)));
    }
    const ledger = createTestLedger();
    let closed = 0;
    const command = createBouncesCommand({
      openLedger: async () => ({ ...ledger, close: async () => void closed++ }),
      readSettings: async () => settings,
    });
    const lines: string[] = [];
    const context = (env: Record<string, string>): RunContext => ({
      root: dir,
      paths: { outDir: path.join(dir, 'out'), stateDir: path.join(dir, '.kurier') },
      env,
      io: {
        out: (line) => lines.push(line),
        err: (line) => lines.push(line),
        status: () => {},
        isTTY: false,
      },
      now,
      signal: new AbortController().signal,
    });
    expect(await command.run({}, [], context({ BOUNCE_IMAP_URL: server.url }))).toBe(0);
    expect(lines).toEqual([
      '2 messages read: 2 decided (1 hard, 1 unknown)',
      `  suppressed: anna.schmidt@example.net (reader 1 of send ${manifest.settings.sendId})`,
      '1 left for a person in Kurier/Unclassified:',
      '  "Undeliverable message": a bounce that names no recipient',
    ]);
    expect(closed).toBe(1);
    await expect(command.run({}, [], context({}))).rejects.toMatchObject({ code: 'ENV_INVALID' });
  });

  it('refuses a wrong password with a clear error', async () => {
    const url = server.url.replace(server.pass, 'wrong');
    await expect(openImapMailbox(parseBounceImapUrl(url))).rejects.toMatchObject({ code: 'IMAP_FAILED' });
  });

  it('handles every message exactly once when runs are killed at random points', async () => {
    // The fixtures five times over, each copy its own message (its own Message-ID), so that a run lasts.
    const ids: string[] = [];
    for (let copy = 0; copy < 5; copy++) {
      for (const entry of manifest.messages) {
        const id = `${copy}/${entry.file}`;
        const raw = readBounceFixture(entry.file)
          .toString('latin1')
          .replace(/^Message-ID: </im, `Message-ID: <c${copy}.`);
        await imap.append('INBOX', tagged(id, Buffer.from(raw, 'latin1')));
        ids.push(id);
      }
    }
    const ledgerFile = path.join(dir, 'ledger.jsonl');
    // A fixed seed: the kill points differ from run to run of the child, but not between test runs.
    let seed = 20261124;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const recorded = () => {
      try {
        return readFileSync(ledgerFile, 'utf8')
          .split('\n')
          .filter((line) => line !== '').length;
      } catch {
        return 0;
      }
    };
    // A kill is aimed at a point of progress (after so many decisions are on record, plus a little), not at
    // a time: on a loaded machine a timer could fire before the run begins or after it ends.
    const run = (killAt: { readonly records: number; readonly delayMs: number } | undefined) =>
      new Promise<{ killed: boolean; output: string }>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ['--import', 'tsx', path.join(REPO, 'tests/support/bounces-child.ts'), server.url, ledgerFile],
          { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] },
        );
        let output = '';
        let errors = '';
        const watch =
          killAt === undefined
            ? undefined
            : setInterval(() => {
                if (recorded() < killAt.records) return;
                clearInterval(watch);
                setTimeout(() => child.kill('SIGKILL'), killAt.delayMs);
              }, 2);
        child.stdout.on('data', (data: Buffer) => {
          output += data.toString();
        });
        child.stderr.on('data', (data: Buffer) => {
          errors += data.toString();
        });
        child.once('error', reject);
        child.once('exit', (code, signal) => {
          clearInterval(watch);
          if (signal === 'SIGKILL' || code === 0) resolve({ killed: signal === 'SIGKILL', output });
          else reject(new Error(`bounces child exited ${code}: ${errors}`));
        });
      });

    let kills = 0;
    const attempts = 6;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const records = Math.floor((ids.length * (attempt + random())) / (attempts + 1));
      const outcome = await run({ records, delayMs: Math.floor(random() * 20) });
      if (outcome.killed) kills++;
    }
    const final = await run(undefined);
    expect(final.killed).toBe(false);
    expect(kills).toBeGreaterThan(0);

    const ledger = createTestLedger(ledgerFile);
    const keys = ledger.entries.map((entry) => entry.key);
    expect(new Set(keys).size).toBe(keys.length);
    expect(keys).toHaveLength(ids.length);
    const places = await where();
    for (const id of ids) {
      const file = id.slice(id.indexOf('/') + 1);
      const verdict = manifest.messages.find((entry) => entry.file === file)?.verdict ?? '';
      expect(places.get(id), id).toEqual([expectedFolder(verdict)]);
    }
  });
});

describe('parseBounceImapUrl', () => {
  it.each([
    [
      'imaps://bounce%40example.org:p%3Ass@mail.example.org/INBOX',
      'mail.example.org',
      993,
      true,
      'bounce@example.org',
      'p:ss',
      'INBOX',
    ],
    ['imaps://u:p@mail.example.org:1993', 'mail.example.org', 1993, true, 'u', 'p', 'INBOX'],
    ['imap://u:p@127.0.0.1:1143/Returns', '127.0.0.1', 1143, false, 'u', 'p', 'Returns'],
  ])('%s', (url, host, port, secure, user, pass, mailbox) => {
    expect(parseBounceImapUrl(url)).toEqual({ host, port, secure, user, pass, mailbox });
  });

  it.each([
    ['imap://u:p@mail.example.org/INBOX', 'imap:// is allowed for 127.0.0.1 only'],
    ['imaps://mail.example.org/INBOX', 'must name the user and password'],
    ['pop3://u:p@mail.example.org', 'must start with imaps://'],
    ['not a url', 'is not a URL'],
  ])('refuses %s', (url, message) => {
    expect(() => parseBounceImapUrl(url)).toThrow(message);
  });
});
