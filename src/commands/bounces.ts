// `kurier bounces`: reads the return mailbox (BOUNCE_IMAP_URL), decides every message and records it with its
// state changes, then moves it into Kurier's folders. Built with its dependencies (ledger, settings):
// src/commands/bounces-store.ts gives it the subscriber store's, tests their own.

import { parseBounceImapUrl } from '../bounces/imap.ts';
import type { BounceLedger } from '../bounces/ledger.ts';
import { renderBounceReport } from '../bounces/report.ts';
import type { BounceRunSettings } from '../bounces/service.ts';
import { runBouncesOnMailbox } from '../bounces/store-run.ts';
import type { RunContext } from '../context.ts';
import { KurierError } from '../error.ts';
import { type Command, defineCommand } from './command.ts';

export interface BouncesDependencies {
  /** The store's ledger, open for this run. */
  openLedger(context: RunContext): Promise<BounceLedger & { close(): Promise<void> }>;
  /** Bounce and unsubscribe addresses, VERP keys, and the soft-bounce policy, from the settings. */
  readSettings(context: RunContext): Promise<BounceRunSettings>;
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
        const report = await runBouncesOnMailbox(target, ledger, settings, context.now);
        for (const line of renderBounceReport(report)) context.io.out(line);
      } finally {
        await ledger.close();
      }
      return 0;
    },
  });
}
