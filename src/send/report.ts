// The end of a run for people: what was sent, refused, deferred or skipped, and the first refusals.

import type { Io } from '../context.ts';
import type { DeliverySummary } from './deliver.ts';
import { formatDuration } from './progress.ts';
import type { SendMode } from './service.ts';
import { haltError } from './transport.ts';

const number = new Intl.NumberFormat('en-US');

/** The summary of a run: counts on stdout, the first rejections on stderr. */
export function printSummary(io: Io, summary: DeliverySummary, verb: string): void {
  io.out(
    `${verb} ${number.format(summary.sent)}, rejected ${number.format(summary.rejected)}, deferred ${number.format(summary.deferred)}, ` +
      `skipped ${number.format(summary.skipped)}${summary.notAttempted > 0 ? `, not reached ${number.format(summary.notAttempted)}` : ''}` +
      ` in ${formatDuration(summary.elapsedMs)}.`,
  );
  for (const rejection of summary.rejections) io.err(`  rejected ${rejection.email}: ${rejection.response}`);
  if (summary.rejected > summary.rejections.length) {
    io.err(`  … and ${number.format(summary.rejected - summary.rejections.length)} more (kurier status)`);
  }
  if (summary.hardBounces > 0) {
    io.out(`${number.format(summary.hardBounces)} address(es) do not exist and joined the suppression list.`);
  }
}

export interface ReportPlace {
  readonly mode: SendMode;
  /** The outbox folder, as the user names it. */
  readonly outbox: string;
  /** The transport, for the message of a halt. */
  readonly via: string;
}

/** Prints what a run did and says what to do next; the exit code: 0 when every recipient of the run got it. */
export function printSendReport(io: Io, summary: DeliverySummary, place: ReportPlace): number {
  const { mode } = place;
  printSummary(
    io,
    summary,
    mode === 'dry-run' ? 'Rendered (not sent)' : mode === 'smtp' ? 'Sent' : 'Written',
  );
  if (mode === 'outbox' && summary.sent > 0) {
    io.out(`The messages are in ${place.outbox}/; set SMTP_URL to send them.`);
  }
  if (summary.halt !== undefined) throw haltError(summary.halt.reason, summary.halt.response, place.via);
  if (summary.interrupted) {
    io.err('Stopped. Run kurier publish again to continue where it stopped.');
    return 1;
  }
  if (summary.deferred > 0) {
    io.err(
      `${number.format(summary.deferred)} recipient(s) deferred by the server: run kurier publish again later.`,
    );
  }
  return summary.rejected + summary.deferred + summary.notAttempted > 0 ? 1 : 0;
}
