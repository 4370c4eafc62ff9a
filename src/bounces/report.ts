// Pure: the report of one bounces run (`kurier bounces`, the schedule of `kurier server`), and the bounce part
// of `kurier status`: per send, bounces and complaints against the thresholds of the mailbox providers, and
// whom the latest bounces run suppressed.

import type { BounceRunSummary, SendBounceCounts } from '../store/bounce-records.ts';
import type { ReaderRef } from './ledger.ts';
import type { BounceRunReport } from './service.ts';

/**
 * Gmail's and Yahoo's sender rules (February 2024): keep spam complaints below 0.3 %, aim below 0.1 %
 * (https://support.google.com/a/answer/81126). For bounces the providers publish no number; 2 % is the
 * level at which relays (Amazon SES reviews at 5 %, Mailchimp and Postmark warn near 2 %) start to act.
 */
export const THRESHOLDS = { complaintLimit: 0.003, complaintAim: 0.001, bounceLimit: 0.02 } as const;

const number = new Intl.NumberFormat('en-US');

function percent(part: number, whole: number): string {
  return whole === 0 ? '–' : `${((part / whole) * 100).toFixed(2)} %`;
}

function renderWarnings(send: SendBounceCounts): string[] {
  if (send.sent === 0) return [];
  const warnings: string[] = [];
  const complaints = send.complained / send.sent;
  const bounces = send.bounced / send.sent;
  if (complaints >= THRESHOLDS.complaintLimit) {
    warnings.push(
      `    ! complaints at ${percent(send.complained, send.sent)}: at or above the 0.3 % Gmail and Yahoo allow; mail may be refused or sent to spam`,
    );
  } else if (complaints >= THRESHOLDS.complaintAim) {
    warnings.push(
      `    ! complaints at ${percent(send.complained, send.sent)}: under the 0.3 % limit, above the 0.1 % to aim for`,
    );
  }
  if (bounces > THRESHOLDS.bounceLimit) {
    warnings.push(
      `    ! bounces at ${percent(send.bounced, send.sent)}: above 2 %; the list holds dead addresses (an old import?)`,
    );
  }
  return warnings;
}

export function renderBounceStatus(
  sends: readonly SendBounceCounts[],
  latest: BounceRunSummary | undefined,
): string[] {
  if (sends.length === 0 && latest === undefined) return [];
  const lines = ['Bounces and complaints (kurier bounces):'];
  for (const send of sends) {
    lines.push(
      `  ${send.articleId}: ${number.format(send.sent)} sent; ` +
        `${number.format(send.bounced)} bounced (${percent(send.bounced, send.sent)}), ` +
        `${number.format(send.complained)} complaints (${percent(send.complained, send.sent)}), ` +
        `${number.format(send.softBounced)} soft bounces, ${number.format(send.unsubscribed)} unsubscribed by mail, ` +
        `${number.format(send.refused)} refused as sender`,
    );
    lines.push(...renderWarnings(send));
  }
  if (latest === undefined) {
    lines.push('  No bounces run has recorded anything yet.');
    return lines;
  }
  const who = latest.suppressed.map(
    (entry) => `${entry.address ?? '(an address since forgotten)'} (${entry.status})`,
  );
  lines.push(
    `  Latest bounces run (${latest.at.toISOString()}, ${number.format(latest.messages)} messages): ` +
      (who.length === 0 ? 'suppressed nobody.' : `suppressed ${who.join(', ')}.`),
  );
  return lines;
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
