// `kurier bounces`: reads the return mailbox (BOUNCE_IMAP_URL), decides every message and records it with its
// state changes, then moves it into Kurier's folders. Built with its dependencies (ledger, settings):
// src/commands/bounces-store.ts gives it the subscriber store's, tests their own.

import { openImapMailbox, parseBounceImapUrl } from '../bounces/imap.ts';
import type { BounceLedger, ReaderRef } from '../bounces/ledger.ts';
import { type BounceRunReport, type BounceRunSettings, runBounces } from '../bounces/service.ts';
import type { RunContext } from '../context.ts';
import { KurierError } from '../error.ts';
import { type Command, defineCommand } from './command.ts';

export interface BouncesDependencies {
  /** The store's ledger, open for this run. */
  openLedger(context: RunContext): Promise<BounceLedger & { close(): Promise<void> }>;
  /** Bounce and unsubscribe addresses, VERP keys, and the soft-bounce policy, from the settings. */
  readSettings(context: RunContext): Promise<BounceRunSettings>;
}

function describeReader(reader: ReaderRef): string {
  if ('sendId' in reader) {
    const who = `reader ${reader.reader} of send ${reader.sendId}`;
    return reader.address === undefined ? who : `${reader.address} (${who})`;
  }
  return reader.address;
}

/** The run in a few lines: counts, who is suppressed now, and what waits for a person. */
export function renderBounceReport(report: BounceRunReport): string[] {
  const kinds = Object.entries(report.byKind)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, count]) => `${count} ${kind}`)
    .join(', ');
  const lines = [
    `${report.seen} messages read: ${report.recorded} decided${kinds === '' ? '' : ` (${kinds})`}` +
      (report.alreadyRecorded > 0
        ? `, ${report.alreadyRecorded} decided by an earlier run and moved now`
        : ''),
  ];
  for (const reader of report.suppressed) lines.push(`  suppressed: ${describeReader(reader)}`);
  if (report.unclassified.length > 0) {
    lines.push(`${report.unclassified.length} left for a person in Kurier/Unclassified:`);
    for (const item of report.unclassified) lines.push(`  "${item.subject}": ${item.why}`);
  }
  return lines;
}

export function createBouncesCommand(dependencies: BouncesDependencies): Command {
  return defineCommand({
    name: 'bounces',
    summary: 'Read the return mailbox: record bounces, complaints and mailed unsubscribes',
    usage: 'kurier bounces',
    about: `Reads every message in the mailbox of BOUNCE_IMAP_URL (imaps://user:pass@host/INBOX) and decides it:
hard bounce (the reader is suppressed), soft bounce (counted; too many within the set days suppress),
complaint, unsubscribe by mail, automatic reply, or unknown. Each decision is recorded with the
message's Message-ID before the message is moved to Kurier/Handled or Kurier/Unclassified; nothing
is deleted. Run it again at any time: what is recorded is not counted twice.`,
    options: {},
    allowPositionals: false,
    async run(_options, _positionals, context) {
      const url = context.env.BOUNCE_IMAP_URL?.trim();
      if (url === undefined || url === '') {
        throw new KurierError(
          'ENV_INVALID',
          'BOUNCE_IMAP_URL is not set: give the return mailbox as imaps://user:pass@mail.example.org/INBOX (in .env or the environment).',
        );
      }
      const target = parseBounceImapUrl(url);
      const settings = await dependencies.readSettings(context);
      const ledger = await dependencies.openLedger(context);
      try {
        const mailbox = await openImapMailbox(target);
        try {
          const report = await runBounces(mailbox, ledger, settings, context.now);
          for (const line of renderBounceReport(report)) context.io.out(line);
        } finally {
          await mailbox.close();
        }
      } finally {
        await ledger.close();
      }
      return 0;
    },
  });
}
