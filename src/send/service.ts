// The send service: lock → verify → suppression → list → check one copy → commit → replay → plan → journal
// → deliver → report. Every check runs before the first message leaves; a run can stop anywhere and resume.

import { randomUUID } from 'node:crypto';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { parseAddress, quoteForMessage } from '../address.ts';
import type { Io } from '../context.ts';
import { KurierError } from '../error.ts';
import { type DeliverySummary, deliver } from './deliver.ts';
import { stateWriteError } from './files.ts';
import { type Journal, openJournal, readJournal } from './journal.ts';
import { firstRecipient, type OpenList, openList } from './list.ts';
import { acquireLock, type Lock } from './lock.ts';
import {
  type FrozenMessage,
  MESSAGE_FILE,
  type MessageMaker,
  prepareMessageMaker,
  readFrozenMessage,
  sameMessage,
  writeFrozenMessage,
} from './message.ts';
import { DEFAULT_RETRY, planResume, type RetryPolicy, type SendPlan, type UnknownPolicy } from './plan.ts';
import { createProgressReporter } from './progress.ts';
import { type Clock, systemClock } from './rate.ts';
import {
  JOURNAL_FILE,
  LOCK_FILE,
  META_FILE,
  RECIPIENTS_FILE,
  type Recipient,
  readRecipients,
  readSendMeta,
  type SendMeta,
  sendDirectory,
} from './recipients.ts';
import { openSuppressionWriter, readSuppression, type SuppressionWriter } from './suppression.ts';
import { DKIM_ALLOWANCE, haltError, type Transport, type TransportInfo } from './transport.ts';

/** smtp sends and records; outbox writes .eml files; dry-run renders only. Rehearsals record nothing. */
export type SendMode = 'smtp' | 'outbox' | 'dry-run';

export interface SendInput {
  readonly stateDir: string;
  readonly subscribersFile: string;
  /** The list's name in messages, relative to the project root. */
  readonly displayName: string;
  readonly mode: SendMode;
  readonly strict: boolean;
  readonly unknown: UnknownPolicy;
  readonly connections: number;
  readonly rate: number | undefined;
  /** Start a new send of the article's current text even though one was begun (new Message-IDs). */
  readonly newSend: boolean;
  /** What the current build would send; a send that began earlier sends what it froze then. */
  readonly message: FrozenMessage;
  readonly secret: string | undefined;
}

/** What tests replace: retry delays, the clock of the rate limit, the jitter, the lock nonce. */
export interface SendDeps {
  readonly transport: Transport;
  readonly io: Io;
  readonly now: () => Date;
  readonly signal: AbortSignal;
  readonly retry: RetryPolicy;
  readonly clock: Clock;
  readonly random: () => number;
  readonly nonce: () => string;
}

export type SendReport =
  | { readonly kind: 'nothing'; readonly reason: string }
  | {
      readonly kind: 'delivered';
      readonly title: string;
      readonly plan: SendPlan;
      readonly summary: DeliverySummary;
    };

export const defaultSendDeps: Pick<SendDeps, 'retry' | 'clock' | 'random' | 'nonce'> = {
  retry: DEFAULT_RETRY,
  clock: systemClock,
  random: Math.random,
  nonce: randomUUID,
};

const number = new Intl.NumberFormat('en-US');
const PROBLEMS_SHOWN = 20;

export async function sendNewsletter(input: SendInput, deps: SendDeps): Promise<SendReport> {
  try {
    return await runSend(input, deps);
  } catch (error) {
    throw stateWriteError(error, input.stateDir);
  }
}

async function runSend(input: SendInput, deps: SendDeps): Promise<SendReport> {
  const { io } = deps;
  const recording = input.mode === 'smtp';
  const sendDir = sendDirectory(input.stateDir, input.message.articleId);
  // Only a real send takes the lock: rehearsals record nothing and may run beside it.
  const lock: Lock | undefined = recording
    ? await acquireLock(path.join(sendDir, LOCK_FILE), {
        now: deps.now(),
        nonce: deps.nonce(),
        what: `the newsletter "${input.message.slug}"`,
      })
    : undefined;
  let list: OpenList | undefined;
  let committed = false;
  let journal: Journal | undefined;
  let bounces: SuppressionWriter | undefined;
  try {
    // The login first: it is quick, and a million-row list is not.
    const info = await deps.transport.verify();
    const suppressed = await readSuppression(input.stateDir);
    const edition = recording && input.newSend ? await archiveSend(sendDir, input.message, io) : 0;
    list = await openList(sendDir, {
      // A rehearsal of --new-send rehearses the new send, not the one that began earlier.
      fresh: !recording && input.newSend,
      subscribersFile: input.subscribersFile,
      displayName: input.displayName,
      strict: input.strict,
      rehearsal: !recording,
      suppressed,
      onProblem: reportProblems(io, input.displayName),
    });
    if (list.kind === 'fresh') announceList(io, input.displayName, list);
    const total = list.kind === 'frozen' ? list.meta.total : list.total;
    if (total === 0) {
      const reason = `nobody to send "${input.message.title}" to: the list has no active subscriber who is not on the suppression list.`;
      io.out(`Nothing to send: ${reason}`);
      return { kind: 'nothing', reason };
    }
    const message =
      list.kind === 'frozen'
        ? await openFrozenMessage(io, list.dir, list.meta, input.message)
        : { ...input.message, edition };
    const maker = prepareMessageMaker(message, input.secret);
    const frozenAt = list.kind === 'frozen' ? list.meta.frozenAt : deps.now().toISOString();
    checkOneCopy(
      maker,
      list.kind === 'fresh' ? list.first : await firstRecipient(list.dir),
      frozenAt,
      info,
      deps,
    );

    let meta: SendMeta;
    if (list.kind === 'fresh') {
      // The message before the list: a send.json always has the message it sends beside it.
      if (recording) await writeFrozenMessage(list.dir, message);
      meta = await list.commit({
        articleId: message.articleId,
        slug: message.slug,
        title: message.title,
        frozenAt,
        subscribers: input.displayName,
      });
    } else {
      meta = list.meta;
    }
    committed = true;

    const states =
      list.dir === sendDir
        ? (await readJournal(path.join(sendDir, JOURNAL_FILE), meta.total)).states
        : new Uint8Array(meta.total);
    const plan = planResume(states, input.unknown);
    announceUnknown(io, plan, input.unknown);
    const verb =
      input.mode === 'dry-run' ? 'Dry run' : recording ? 'Sending' : 'Writing to the outbox (no SMTP_URL)';
    io.out(
      `${verb}: "${message.title}" to ${number.format(plan.toSend)} of ${number.format(plan.total)} recipients` +
        (plan.done.sent > 0 ? ` (${number.format(plan.done.sent)} already have it)` : '') +
        ` via ${deps.transport.description}.`,
    );
    if (recording) {
      journal = await openJournal(path.join(sendDir, JOURNAL_FILE));
      bounces = await openSuppressionWriter(input.stateDir);
    }
    const writer = bounces;
    const date = new Date(frozenAt);
    const summary = await deliver({
      recipients: readRecipients(list.dir),
      states,
      unknown: input.unknown,
      render: (recipient) => maker.render(recipient, date),
      envelopeFrom: message.email.from.email,
      transport: deps.transport,
      journal,
      suppressed,
      onHardBounce:
        writer === undefined
          ? undefined
          : (recipient, response) =>
              writer.append({
                email: recipient.email,
                reason: 'bounced',
                at: deps.now().toISOString(),
                detail: response,
              }),
      connections: input.connections,
      rate: input.rate,
      retry: deps.retry,
      clock: deps.clock,
      random: deps.random,
      wallTime: () => deps.now().getTime(),
      signal: deps.signal,
      planned: plan.toSend,
      onProgress: createProgressReporter(io, () => deps.clock.now()),
    });
    return { kind: 'delivered', title: message.title, plan, summary };
  } finally {
    await journal?.close();
    await bounces?.close();
    // A fresh freeze that never became the send's list (a check failed, nothing to send) is dropped; a
    // rehearsal's scratch folder always.
    if (list?.kind === 'fresh' && (!committed || list.dir !== sendDir)) await list.abort();
    await lock?.release();
  }
}

/**
 * The check before anything is sent: one reader's copy renders (templates, fields), and it is within the
 * size the server announced. A message too big for the server is too big for every reader.
 */
function checkOneCopy(
  maker: MessageMaker,
  first: Recipient | undefined,
  frozenAt: string,
  info: TransportInfo,
  deps: SendDeps,
): void {
  if (first === undefined) return;
  const copy = maker.render(first, new Date(frozenAt));
  const limit = info.maxMessageBytes;
  if (limit !== undefined && copy.length + DKIM_ALLOWANCE > limit) {
    throw haltError(
      'size',
      `SIZE ${number.format(limit)}: the message has ${number.format(copy.length)} bytes`,
      deps.transport.description,
    );
  }
}

/** A send that began earlier sends what it froze then, whatever the article says now. */
async function openFrozenMessage(
  io: Io,
  dir: string,
  meta: SendMeta,
  current: FrozenMessage,
): Promise<FrozenMessage> {
  io.out(
    `Continuing the send of "${meta.slug}" started ${meta.frozenAt}: ${number.format(meta.total)} recipients, frozen then (the subscriber list is not read again).`,
  );
  const frozen = await readFrozenMessage(dir);
  // A send frozen before Kurier stored its message sends what the build makes now.
  if (frozen === undefined) return current;
  if (!sameMessage(frozen, current)) {
    io.err(
      `The article (or its email settings) changed since this send began; the rest of this send gets the text frozen then, so that every reader of one Message-ID has the same message. ` +
        `To send the new text instead, let this send finish (or stop it), then run kurier publish ${meta.slug} --new-send: everyone on the list gets the new text, under new Message-IDs.`,
    );
  }
  return frozen;
}

/**
 * `--new-send`: the send of this article moves aside (kurier status still shows it), and the next edition
 * starts with a fresh list and new Message-IDs. A send that already has the current text is continued
 * instead, so that the flag left in a script does not mail everyone on every run.
 */
async function archiveSend(sendDir: string, current: FrozenMessage, io: Io): Promise<number> {
  const meta = await readSendMeta(sendDir);
  if (meta === undefined) return 0;
  const frozen = await readFrozenMessage(sendDir);
  if (frozen !== undefined && sameMessage(frozen, current)) {
    io.out(
      `The send of "${meta.slug}" started ${meta.frozenAt} already has the current text: continuing it.`,
    );
    return frozen.edition;
  }
  const edition = (frozen?.edition ?? 0) + 1;
  const archive = `${sendDir}.${edition - 1}`;
  await mkdir(archive, { recursive: true });
  for (const name of [RECIPIENTS_FILE, JOURNAL_FILE, MESSAGE_FILE, META_FILE]) {
    await rename(path.join(sendDir, name), path.join(archive, name)).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
  }
  io.out(
    `Starting a new send of "${meta.slug}" (edition ${edition + 1}); the send started ${meta.frozenAt} is kept in ${archive}.`,
  );
  return edition;
}

function reportProblems(io: Io, displayName: string): (line: number, problem: string) => void {
  let shown = 0;
  return (line, problem) => {
    shown += 1;
    if (shown <= PROBLEMS_SHOWN) io.err(`${displayName}:${line}  ${problem}`);
    else if (shown === PROBLEMS_SHOWN + 1) io.err('… and more invalid rows (the summary below counts them).');
  };
}

function announceList(io: Io, displayName: string, list: Extract<OpenList, { kind: 'fresh' }>): void {
  const { stats } = list;
  io.out(
    `${displayName}: ${number.format(list.total)} recipients (${number.format(stats.rows)} rows; left out: ` +
      `${number.format(stats.invalid)} invalid, ${number.format(stats.duplicates)} duplicate, ` +
      `${number.format(stats.inactive)} unsubscribed or bounced, ${number.format(stats.suppressed)} on the suppression list).`,
  );
}

function announceUnknown(io: Io, plan: SendPlan, policy: UnknownPolicy): void {
  const unknown = plan.unknownResent + plan.unknownSkipped;
  if (unknown === 0) return;
  io.err(
    policy === 'resend'
      ? `${number.format(unknown)} recipient(s) have an unknown outcome (a run stopped while their message was on the way): sending again with the same Message-ID (--unknown skip leaves them).`
      : `${number.format(unknown)} recipient(s) have an unknown outcome and are left alone (--unknown skip).`,
  );
}

export interface TestCopyReport {
  readonly to: string;
  readonly title: string;
  readonly failure: string | undefined;
}

/** `--to`: one copy to one address, recorded nowhere; the message is the current build's. */
export async function sendTestCopy(
  to: string,
  message: FrozenMessage,
  secret: string | undefined,
  deps: Pick<SendDeps, 'transport' | 'now'>,
): Promise<TestCopyReport> {
  const address = parseAddress(to);
  if (!address.ok) throw new KurierError('USAGE', `--to: ${address.reason}.`);
  await deps.transport.verify();
  const maker = prepareMessageMaker(message, secret);
  const reader = { email: address.address, name: '', fields: maker.emptyFields };
  const outcome = await deps.transport.send({
    index: -1,
    envelope: { from: message.email.from.email, to: address.address },
    raw: maker.render(reader, deps.now()),
  });
  return {
    to: quoteForMessage(address.address),
    title: message.title,
    failure: outcome.kind === 'sent' ? undefined : outcome.response,
  };
}
