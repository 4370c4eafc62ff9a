// `kurier status [slug]`: what the subscriber store says: the list's counts, and for each send who has the
// newsletter, who not yet.

import { renderBounceStatus } from '../bounces/report.ts';
import { KurierError } from '../error.ts';
import { readStatus, type SendStatus } from '../send/status.ts';
import type { Counts } from '../store/store.ts';
import { openRunStore } from '../subscribe/open-store.ts';
import { defineCommand, stateOption } from './command.ts';

const number = new Intl.NumberFormat('en-US');

function renderList(counts: Counts): string {
  return (
    `List: ${number.format(counts.active)} active, ${number.format(counts.pending)} pending, ` +
    `${number.format(counts.unsubscribed)} unsubscribed, ${number.format(counts.bounced)} bounced, ` +
    `${number.format(counts.complained)} complained; ${number.format(counts.suppressed)} on the suppression list.`
  );
}

function renderSend({ send, message, done, holder }: SendStatus): string[] {
  const edition = message === undefined || message.edition === 0 ? '' : ` (edition ${message.edition + 1})`;
  const lines = [
    `${message?.slug ?? send.articleId}${edition}  "${message?.title ?? send.articleId}"`,
    `  list frozen ${send.frozenAt.toISOString()}: ${number.format(send.total)} recipients`,
    `  sent ${number.format(done.sent)}, rejected ${number.format(done.rejected)}, deferred ${number.format(done.deferred)},` +
      ` unknown ${number.format(done.attempting)}, skipped ${number.format(done.skipped)}, pending ${number.format(done.pending)}`,
  ];
  if (holder !== undefined) {
    lines.push(
      holder.running
        ? `  being sent right now by ${holder.who}`
        : `  ${holder.who} stopped without finishing; kurier publish continues it (and takes over its lock)`,
    );
  }
  const open = done.pending + done.deferred + done.attempting;
  if (open > 0 && holder === undefined)
    lines.push(`  ${number.format(open)} to go: run kurier publish ${message?.slug ?? ''}`.trimEnd());
  return lines;
}

export const statusCommand = defineCommand({
  name: 'status',
  summary: 'Show the subscriber list and how far the newsletter sends got',
  usage: 'kurier status [slug] [--state DIR]',
  about: `Shows the counts of the subscriber list (active, pending, unsubscribed, bounced, complained,
suppressed), then every send (or the sends of the article <slug>), newest first: recipients sent,
rejected, deferred, unknown (a run stopped while their message was on the way), skipped and
pending. Reads the subscriber store (<state>/kurier.db or DATABASE_URL); sends nothing.`,
  options: { state: stateOption },
  allowPositionals: true,
  async run(_values, positionals, context) {
    if (positionals.length > 1)
      throw new KurierError('USAGE', 'give at most one slug: kurier status [slug].');
    const slug = positionals[0];
    const store = await openRunStore(context);
    const status = await readStatus(store, slug, context.now()).finally(() => store.close());
    context.io.out(renderList(status.counts));
    if (status.sends.length === 0) {
      context.io.out(
        slug === undefined ? 'No newsletter has been sent yet.' : `"${slug}" has not been sent yet.`,
      );
      return 0;
    }
    for (const send of status.sends) for (const line of renderSend(send)) context.io.out(line);
    for (const line of renderBounceStatus(status.bounces, status.latestBounceRun)) context.io.out(line);
    return 0;
  },
});
