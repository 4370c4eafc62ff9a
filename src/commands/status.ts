// `kurier status [slug]`: what the send journals say: who has the newsletter, who not yet, whether a send runs.

import path from 'node:path';
import type { Io } from '../context.ts';
import { KurierError } from '../error.ts';
import { readJournal } from '../send/journal.ts';
import { readLockState } from '../send/lock.ts';
import { planResume } from '../send/plan.ts';
import { JOURNAL_FILE, LOCK_FILE, readSends, type SendMeta } from '../send/recipients.ts';
import { printBounceStatus } from './bounces-status.ts';
import { defineCommand, stateOption } from './command.ts';

const number = new Intl.NumberFormat('en-US');

async function readLockHolder(dir: string): Promise<string | undefined> {
  const lock = await readLockState(path.join(dir, LOCK_FILE));
  if (lock === undefined) return undefined;
  const who =
    lock.owner === undefined ? 'a run' : `process ${lock.owner.pid} (since ${lock.owner.startedAt})`;
  return lock.running
    ? `being sent right now by ${who}`
    : `${who} stopped without finishing; kurier publish continues it (and takes over its lock)`;
}

async function printSend(io: Io, dir: string, meta: SendMeta): Promise<void> {
  const replay = await readJournal(path.join(dir, JOURNAL_FILE), meta.total);
  const plan = planResume(replay.states, 'resend');
  const { done } = plan;
  io.out(`${meta.slug}  "${meta.title}"`);
  io.out(
    `  list frozen ${meta.frozenAt}: ${number.format(meta.total)} recipients from ${meta.subscribers}` +
      ` (left out: ${number.format(meta.list.invalid)} invalid, ${number.format(meta.list.duplicates)} duplicate,` +
      ` ${number.format(meta.list.inactive)} unsubscribed or bounced, ${number.format(meta.list.suppressed)} suppressed)`,
  );
  io.out(
    `  sent ${number.format(done.sent)}, rejected ${number.format(done.rejected)}, deferred ${number.format(done.deferred)},` +
      ` unknown ${number.format(done.attempting)}, skipped ${number.format(done.skipped)}, pending ${number.format(done.pending)}`,
  );
  if (replay.lastAt !== undefined) io.out(`  last record ${new Date(replay.lastAt).toISOString()}`);
  const holder = await readLockHolder(dir);
  if (holder !== undefined) io.out(`  ${holder}`);
  const open = done.pending + done.deferred + done.attempting;
  if (open > 0 && holder === undefined)
    io.out(`  ${number.format(open)} to go: run kurier publish ${meta.slug}`);
}

export const statusCommand = defineCommand({
  name: 'status',
  summary: 'Show how far the newsletter sends got (from the send journal)',
  usage: 'kurier status [slug] [--state DIR]',
  about: `Summarises the journal of every send (or of the article <slug>): recipients sent, rejected,
deferred, unknown (the run stopped while their message was on the way), skipped and pending,
and whether a send is running. Reads only the private state folder; sends nothing.`,
  options: { state: stateOption },
  allowPositionals: true,
  async run(_values, positionals, context) {
    if (positionals.length > 1)
      throw new KurierError('USAGE', 'give at most one slug: kurier status [slug].');
    const { stateDir } = context.paths;
    const slug = positionals[0];
    const sends = (await readSends(stateDir)).filter((send) => slug === undefined || send.meta.slug === slug);
    if (sends.length === 0) {
      context.io.out(
        slug === undefined ? 'No newsletter has been sent yet.' : `"${slug}" has not been sent yet.`,
      );
      await printBounceStatus(context);
      return 0;
    }
    sends.sort((a, b) => b.meta.frozenAt.localeCompare(a.meta.frozenAt));
    for (const send of sends) await printSend(context.io, send.dir, send.meta);
    await printBounceStatus(context);
    return 0;
  },
});
