// The end of a run for people: what was sent, refused, deferred or skipped, and the first refusals.

import type { Io } from '../context.ts';
import type { DeliverySummary } from './deliver.ts';
import { formatDuration } from './progress.ts';

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
