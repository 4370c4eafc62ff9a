// `kurier status [slug]`: what the subscriber store says: the list's counts, and for each send who has the
// newsletter, who not yet.

import { randomBytes } from 'node:crypto';
import type { Io } from '../context.ts';
import { KurierError } from '../error.ts';
import { isHolderGone, parseLockOwner } from '../send/lock.ts';
import { parseFrozenMessage } from '../send/message.ts';
import { planResume } from '../send/plan.ts';
import type { SendInfo, Store } from '../store/store.ts';
import { openProjectStore } from '../subscribe/open-store.ts';
import { parseSubscriptionEnv } from '../subscribe/settings.ts';
import { defineCommand, stateOption } from './command.ts';

const number = new Intl.NumberFormat('en-US');

async function printList(io: Io, store: Store): Promise<void> {
  const counts = await store.counts();
  io.out(
    `List: ${number.format(counts.active)} active, ${number.format(counts.pending)} pending, ` +
      `${number.format(counts.unsubscribed)} unsubscribed, ${number.format(counts.bounced)} bounced, ` +
      `${number.format(counts.complained)} complained; ${number.format(counts.suppressed)} on the suppression list.`,
  );
}

async function printSend(io: Io, store: Store, send: SendInfo, now: Date): Promise<void> {
  const message = parseFrozenMessage(send.email);
  const { done } = planResume(await store.countStates(send.id), 'resend');
  const edition = message === undefined || message.edition === 0 ? '' : ` (edition ${message.edition + 1})`;
  io.out(`${message?.slug ?? send.articleId}${edition}  "${message?.title ?? send.articleId}"`);
  io.out(`  list frozen ${send.frozenAt.toISOString()}: ${number.format(send.total)} recipients`);
  io.out(
    `  sent ${number.format(done.sent)}, rejected ${number.format(done.rejected)}, deferred ${number.format(done.deferred)},` +
      ` unknown ${number.format(done.attempting)}, skipped ${number.format(done.skipped)}, pending ${number.format(done.pending)}`,
  );
  const holder = await describeLockHolder(store, send, now);
  if (holder !== undefined) io.out(`  ${holder}`);
  const open = done.pending + done.deferred + done.attempting;
  if (open > 0 && holder === undefined)
    io.out(`  ${number.format(open)} to go: run kurier publish ${message?.slug ?? ''}`.trimEnd());
}

async function describeLockHolder(store: Store, send: SendInfo, now: Date): Promise<string | undefined> {
  const lock = await store.readSendLock(send.id);
  if (lock === undefined) return undefined;
  const owner = parseLockOwner(lock.owner);
  const who = owner === undefined ? 'a run' : `process ${owner.pid} on ${owner.host}`;
  return lock.until > now && !(await isHolderGone(lock.owner))
    ? `being sent right now by ${who}`
    : `${who} stopped without finishing; kurier publish continues it (and takes over its lock)`;
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
    const store = await openProjectStore({
      stateDir: context.paths.stateDir,
      databaseUrl: parseSubscriptionEnv(context.env).databaseUrl,
      now: context.now(),
      randomBytes,
      onLegacyImport: (line) => context.io.err(line),
    });
    try {
      await printList(context.io, store);
      const sends = (await store.listSends()).filter(
        (send) => slug === undefined || parseFrozenMessage(send.email)?.slug === slug,
      );
      if (sends.length === 0) {
        context.io.out(
          slug === undefined ? 'No newsletter has been sent yet.' : `"${slug}" has not been sent yet.`,
        );
        return 0;
      }
      sends.sort((a, b) => b.frozenAt.getTime() - a.frozenAt.getTime() || b.id - a.id);
      for (const send of sends) await printSend(context.io, store, send, context.now());
      return 0;
    } finally {
      await store.close();
    }
  },
});
