// `kurier bounces` as a child process for the kill tests, until the command exists: one run over the IMAP
// mailbox with a durable test ledger. argv: IMAP URL, ledger file. Prints "ready" once logged in.

import { openImapMailbox, parseBounceImapUrl } from '../../src/bounces/imap.ts';
import { runBounces } from '../../src/bounces/service.ts';
import { readBounceManifest } from './bounce-fixtures.ts';
import { createTestLedger } from './test-ledger.ts';

const [url = '', ledgerFile = ''] = process.argv.slice(2);
const mailbox = await openImapMailbox(parseBounceImapUrl(url));
process.stdout.write('ready\n');
const report = await runBounces(
  mailbox,
  createTestLedger(ledgerFile),
  { classify: readBounceManifest().settings, softBounces: { count: 3, withinDays: 30 }, batchSize: 5 },
  () => new Date('2026-11-24T12:00:00Z'),
);
await mailbox.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
