// The bounce benchmark: a 10,000-message return mailbox made from the bounce fixtures (each copy its own
// Message-ID), classified in process (parse + classify), then, when Dovecot is installed, the whole run
// through a real IMAP server on 127.0.0.1 (fetch, decide, record in an in-memory ledger, move), and once
// more recording in the SQLite subscriber store (each message its own fsynced transaction).

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { classifyMessage } from '../src/bounces/classify.ts';
import { openImapMailbox, parseBounceImapUrl } from '../src/bounces/imap.ts';
import { parseMail } from '../src/bounces/parse-mail.ts';
import { runBounces } from '../src/bounces/service.ts';
import { createStoreLedger } from '../src/bounces/store-ledger.ts';
import { openStore } from '../src/store/open.ts';
import { readBounceFixture, readBounceManifest } from '../tests/support/bounce-fixtures.ts';
import { dovecotAvailable, startDovecot, TestImapClient } from '../tests/support/dovecot.ts';
import { createTestLedger } from '../tests/support/test-ledger.ts';

const MESSAGES = 10_000;
const runSettings = (manifest: ReturnType<typeof readBounceManifest>) => ({
  classify: manifest.settings,
  softBounces: { count: 3, withinDays: 30 },
  batchSize: 200,
});

function mailbox(): Buffer[] {
  const fixtures = readBounceManifest().messages.map((entry) =>
    readBounceFixture(entry.file).toString('latin1'),
  );
  return Array.from({ length: MESSAGES }, (_, index) => {
    const text = fixtures[index % fixtures.length] as string;
    const unique = /^Message-ID: </im.test(text)
      ? text.replace(/^Message-ID: </im, `Message-ID: <b${index}.`)
      : `X-Bench-Copy: ${index}\r\n${text}`;
    return Buffer.from(unique, 'latin1');
  });
}

export async function benchBounces(print: (line: string) => void): Promise<void> {
  const manifest = readBounceManifest();
  const messages = mailbox();
  const kinds: Record<string, number> = {};
  const started = process.hrtime.bigint();
  for (const raw of messages) {
    const decision = classifyMessage(await parseMail(raw), manifest.settings);
    kinds[decision.kind] = (kinds[decision.kind] ?? 0) + 1;
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  print(`bounces: ${MESSAGES} messages parsed and classified in ${seconds.toFixed(2)} s`);
  print(`  ${Math.round(MESSAGES / seconds)} messages/s (${JSON.stringify(kinds)})`);

  if (!dovecotAvailable) {
    print('  (Dovecot not installed: the run through IMAP is skipped)');
    return;
  }
  const server = await startDovecot();
  try {
    const client = await TestImapClient.connect(server);
    const appendStarted = process.hrtime.bigint();
    for (let start = 0; start < messages.length; start += 100) {
      await client.append('INBOX', ...messages.slice(start, start + 100));
    }
    await client.close();
    const appendSeconds = Number(process.hrtime.bigint() - appendStarted) / 1e9;
    print(`  ${MESSAGES} messages put into Dovecot (IMAP MULTIAPPEND) in ${appendSeconds.toFixed(1)} s`);

    const ledger = createTestLedger();
    const imap = await openImapMailbox(parseBounceImapUrl(server.url));
    const runStarted = process.hrtime.bigint();
    const report = await runBounces(
      imap,
      ledger,
      runSettings(manifest),
      () => new Date('2026-11-24T12:00:00Z'),
    );
    const runSeconds = Number(process.hrtime.bigint() - runStarted) / 1e9;
    await imap.close();
    print(
      `  bounce run through IMAP: ${report.recorded} recorded and moved in ${runSeconds.toFixed(2)} s, ` +
        `${Math.round(report.seen / runSeconds)} messages/s`,
    );

    const again = await TestImapClient.connect(server);
    for (let start = 0; start < messages.length; start += 100) {
      await again.append('INBOX', ...messages.slice(start, start + 100));
    }
    await again.close();
    const stateDir = await mkdtemp(path.join(os.tmpdir(), 'kurier-bench-store-'));
    const store = await openStore({ stateDir, now: new Date('2026-11-24T12:00:00Z'), randomBytes });
    try {
      const storeImap = await openImapMailbox(parseBounceImapUrl(server.url));
      const storeStarted = process.hrtime.bigint();
      const stored = await runBounces(
        storeImap,
        createStoreLedger(store, 'bench'),
        runSettings(manifest),
        () => new Date('2026-11-24T12:00:00Z'),
      );
      const storeSeconds = Number(process.hrtime.bigint() - storeStarted) / 1e9;
      await storeImap.close();
      print(
        `  the same on the SQLite store: ${stored.recorded} recorded and moved in ${storeSeconds.toFixed(2)} s, ` +
          `${Math.round(stored.seen / storeSeconds)} messages/s`,
      );
    } finally {
      await store.close();
      await rm(stateDir, { recursive: true, force: true });
    }
  } finally {
    await server.stop();
  }
}
