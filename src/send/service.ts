// The send service: verify → import the list → the send (frozen list and message, in the store) → lock →
// check one copy → recover the unknown → claim, deliver, record → report. Every check runs before the first
// message leaves; a run can stop anywhere and resume, on this machine or (with PostgreSQL) another.

import { randomUUID } from 'node:crypto';
import { access } from 'node:fs/promises';
import { parseAddress, quoteForMessage } from '../address.ts';
import type { Io } from '../context.ts';
import { KurierError } from '../error.ts';
import { StateRecorder } from '../store/state-recorder.ts';
import type { ImportSummary, SendInfo, SendRecipient, Store } from '../store/store.ts';
import { type DeliverySummary, deliver } from './deliver.ts';
import { importListIfChanged, type ListFile } from './import.ts';
import { isHolderGone, parseLockOwner, planThisOwner, renderLockOwner } from './lock.ts';
import {
  envelopeFromOf,
  type FrozenMessage,
  type IndexedRecipient,
  type MessageKeys,
  type MessageMaker,
  parseFrozenMessage,
  prepareMessageMaker,
  type Recipient,
  sameMessage,
} from './message.ts';
import {
  DEFAULT_RETRY,
  planResume,
  type RetryPolicy,
  type SendPlan,
  shouldSend,
  type UnknownPolicy,
} from './plan.ts';
import { createProgressReporter } from './progress.ts';
import { type Clock, systemClock } from './rate.ts';
import { STATES } from './states.ts';
import { DKIM_ALLOWANCE, haltError, type Transport, type TransportInfo } from './transport.ts';

/** smtp sends and records; outbox writes .eml files; dry-run renders only. Rehearsals record no send. */
export type SendMode = 'smtp' | 'outbox' | 'dry-run';

export interface SendInput {
  readonly store: Store;
  /** The CSV imported before the send (subscribers.csv or --subscribers); undefined when there is none. */
  readonly list: ListFile | undefined;
  readonly mode: SendMode;
  readonly strict: boolean;
  readonly unknown: UnknownPolicy;
  readonly connections: number;
  readonly rate: number | undefined;
  /** Start a new send of the article's current text even though one was begun (new Message-IDs). */
  readonly newSend: boolean;
  /** What the current build would send; a send that began earlier sends what it froze then. */
  readonly message: FrozenMessage;
  readonly keys: MessageKeys;
}

/** What tests replace: retry delays, the clock of the rate limit, the jitter, the run's lock owner. */
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
/**
 * Recipients claimed per transaction: each claim is an fsync (and blocks the event loop on SQLite), so a
 * claim per message would halve the rate. A run killed outright leaves at most this many claimed readers
 * "unknown" besides those in flight: `--unknown resend` (the default) sends them, `skip` leaves them for a
 * later resend, never marks them sent.
 */
const CLAIM_BATCH = 50;
/** The send lock holds this long and is renewed at a third of it: a killed run frees it within a minute. */
const LOCK_TTL_MS = 60_000;

/** Each edition of an article's send is a send of its own in the store; the first keeps the article's id. */
function sendKeyOf(articleId: string, edition: number): string {
  return edition === 0 ? articleId : `${articleId}#${edition}`;
}

/** The newest edition of the article's send, with the message it froze (undefined: a pre-store send). */
async function findSend(
  store: Store,
  articleId: string,
): Promise<{ send: SendInfo; edition: number; message: FrozenMessage | undefined } | undefined> {
  let found: { send: SendInfo; edition: number } | undefined;
  for (const send of await store.listSends()) {
    const edition =
      send.articleId === articleId
        ? 0
        : send.articleId.startsWith(`${articleId}#`)
          ? Number(send.articleId.slice(articleId.length + 1))
          : -1;
    if (edition >= 0 && (found === undefined || edition > found.edition)) found = { send, edition };
  }
  return found === undefined ? undefined : { ...found, message: parseFrozenMessage(found.send.email) };
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** How a run paces its delivery: connections, rate, retries, and the progress it shows. */
function pacingOf(
  input: { readonly connections: number; readonly rate: number | undefined },
  deps: SendDeps,
  io: Io,
  planned: number,
) {
  return {
    connections: input.connections,
    rate: input.rate,
    retry: deps.retry,
    clock: deps.clock,
    random: deps.random,
    wallTime: () => deps.now().getTime(),
    signal: deps.signal,
    planned,
    onProgress: createProgressReporter(io, () => deps.clock.now()),
  };
}

export async function sendNewsletter(input: SendInput, deps: SendDeps): Promise<SendReport> {
  const { io, transport } = deps;
  const { store } = input;
  const recording = input.mode === 'smtp';
  // The login first: it is quick, and a million-row list is not.
  const info = await transport.verify();
  if (input.list !== undefined && (input.list.required === true || (await exists(input.list.file)))) {
    const summary = await importListIfChanged(store, input.list, io, deps.now(), input.strict);
    if (summary === 'unchanged') {
      io.out(`${input.list.displayName}: unchanged since its last import, not imported again.`);
    } else announceImport(io, input.list.displayName, summary);
  } else if (input.list !== undefined) {
    const counts = await store.counts();
    // The README's first steps copy the example list; without it and without any subscriber, say so.
    if (Object.values(counts).every((count) => count === 0)) {
      throw new KurierError(
        'SUBSCRIBERS_INVALID',
        'there is no subscriber list and the subscriber store is empty; create the list (see subscribers.example.csv), pass --subscribers FILE, or add readers with kurier subscribers add.',
        { file: input.list.displayName },
      );
    }
  }

  const found = await findSend(store, input.message.articleId);
  let edition = found?.edition ?? 0;
  let existing = found;
  if (input.newSend && found !== undefined) {
    if (found.message !== undefined && sameMessage(found.message, input.message)) {
      io.out(
        `The send of "${input.message.slug}" started ${found.send.frozenAt.toISOString()} already has the current text: continuing it.`,
      );
    } else {
      edition = found.edition + 1;
      existing = undefined;
      io.out(
        `Starting a new send of "${input.message.slug}" (edition ${edition + 1}); the send started ${found.send.frozenAt.toISOString()} stays in the store (kurier status shows it).`,
      );
    }
  }
  const message =
    existing === undefined
      ? { ...input.message, edition }
      : openFrozenMessage(io, existing.send, existing.message, input.message);
  const maker = prepareMessageMaker(message, input.keys);

  if (!recording) return rehearse(input, deps, info, maker, existing?.send);

  // An empty freeze would stay the article's send forever: a reader who subscribes later must still get it.
  if (existing === undefined && (await store.counts()).active === 0) {
    const reason = `nobody to send "${message.title}" to: the list has no active subscriber who is not on the suppression list.`;
    io.out(`Nothing to send: ${reason}`);
    return { kind: 'nothing', reason };
  }
  const self = await planThisOwner(deps.nonce());
  const owner = renderLockOwner(self);
  const frozenAt = deps.now();
  // A new send's one copy is checked before the freeze: a message the server refuses (SIZE) freezes
  // nothing, so a shortened article is sent as it is then, not as it was frozen.
  if (existing === undefined) checkOneCopy(maker, await firstActive(store), frozenAt, info, deps);
  const { send, created } =
    existing === undefined
      ? await store.createSend({ articleId: sendKeyOf(message.articleId, edition), email: message, frozenAt })
      : { send: existing.send, created: false };
  if (created) {
    io.out(
      `Froze the list for "${message.title}": ${number.format(send.total)} active subscriber(s) who are not on the suppression list.`,
    );
  }
  if (send.total === 0) {
    const reason = `nobody to send "${message.title}" to: the list has no active subscriber who is not on the suppression list.`;
    io.out(`Nothing to send: ${reason}`);
    return { kind: 'nothing', reason };
  }
  await takeLock(store, send.id, owner, deps.now(), message.slug);
  const renew = setInterval(() => {
    store.lockSend(send.id, owner, deps.now(), LOCK_TTL_MS).catch(() => undefined);
  }, LOCK_TTL_MS / 3);
  renew.unref();
  const recorder = new StateRecorder(store, send.id);
  // Claimed (so "attempting" in the store) but not yet tried: when the run stops cleanly they go back to
  // deferred, so the next run sends them without counting them as unknown.
  const untried = new Set<number>();
  try {
    if (!created) {
      const first = await store.readRecipients(send.id, 0, 1);
      checkOneCopy(
        maker,
        first[0] === undefined ? undefined : recipientOf(first[0]),
        send.frozenAt,
        info,
        deps,
      );
    }
    const plan = planResume(await store.countStates(send.id), input.unknown);
    if (!created) {
      io.out(
        `Continuing the send of "${message.slug}" started ${send.frozenAt.toISOString()}: ${number.format(send.total)} recipients, frozen then.`,
      );
    }
    announceUnknown(io, plan, input.unknown);
    await store.recoverInFlight(send.id, owner, input.unknown, deps.now());
    io.out(
      `Sending: "${message.title}" to ${number.format(plan.toSend)} of ${number.format(plan.total)} recipients` +
        (plan.done.sent > 0 ? ` (${number.format(plan.done.sent)} already have it)` : '') +
        ` via ${transport.description}.`,
    );
    const summary = await deliver({
      recipients: claimRecipients(
        store,
        send.id,
        owner,
        Math.max(CLAIM_BATCH, input.connections * 2),
        deps,
        untried,
      ),
      states: new Uint8Array(send.total),
      unknown: input.unknown,
      render: (recipient) => maker.render(recipient, send.frozenAt),
      envelopeFrom: (_recipient, index) => envelopeFromOf(message, input.keys, send.id, index),
      transport,
      journal: {
        append: (record) => {
          // A first attempt is durable already: the claim made the row "attempting".
          if (untried.delete(record.i) && record.s === 'attempting') return Promise.resolve();
          return recorder.record({
            index: record.i,
            state: record.s,
            at: new Date(record.t),
            code: record.c,
            response: record.r,
          });
        },
      },
      suppressed: new Set(),
      onHardBounce: (recipient, response) =>
        store.suppress(
          recipient.email,
          'bounced',
          `hard bounce while sending "${message.slug}"`,
          deps.now(),
          response,
        ),
      ...pacingOf(input, deps, io, plan.toSend),
    });
    // The store skips readers suppressed since the freeze as it claims them; they count as skipped here.
    await recorder.flush();
    const skipped = (await store.countStates(send.id)).skipped - plan.done.skipped;
    const claimSkipped = Math.max(0, skipped - summary.skipped);
    return {
      kind: 'delivered',
      title: message.title,
      plan,
      summary: {
        ...summary,
        skipped: summary.skipped + claimSkipped,
        notAttempted: Math.max(0, summary.notAttempted - claimSkipped),
      },
    };
  } finally {
    clearInterval(renew);
    const at = deps.now();
    await Promise.all(
      [...untried].map((index) =>
        recorder.record({ index, state: 'deferred', at, response: 'not tried: the run stopped first' }),
      ),
      // If the store fails here they stay "attempting": the next run reports them as unknown, never as sent.
    ).catch(() => undefined);
    await recorder.flush();
    await store.unlockSend(send.id, owner);
  }
}

/** One run per send; the lock of a run killed on this host is taken over at once, another host's runs out. */
async function takeLock(store: Store, sendId: number, owner: string, now: Date, slug: string): Promise<void> {
  if (await store.lockSend(sendId, owner, now, LOCK_TTL_MS)) return;
  const holder = await store.readSendLock(sendId);
  if (holder !== undefined && (await isHolderGone(holder.owner))) {
    if (await store.takeOverSendLock(sendId, holder.owner, owner, now, LOCK_TTL_MS)) return;
  }
  const who = holder === undefined ? undefined : parseLockOwner(holder.owner);
  throw new KurierError(
    'SEND_LOCKED',
    `the newsletter "${slug}" is being sent by ${who === undefined ? 'another run' : `process ${who.pid} on ${who.host}`}; wait for it to finish (kurier status shows its progress) or stop it. A run that was killed releases the lock by itself (on another machine within a minute).`,
  );
}

function recipientOf(row: SendRecipient): Recipient {
  return {
    email: row.email,
    name: row.name,
    fields: row.fields,
    subscriberId: row.subscriberId ?? undefined,
  };
}

/**
 * The recipients of this run, claimed from the store a few at a time: each claimed row is durably
 * "attempting" before it is handed out, so a message never leaves unrecorded, and a kill leaves at most a
 * claim's worth in doubt. Once the engine stops asking, no more are claimed.
 */
async function* claimRecipients(
  store: Store,
  sendId: number,
  owner: string,
  limit: number,
  deps: Pick<SendDeps, 'now' | 'signal'>,
  untried: Set<number>,
): AsyncGenerator<IndexedRecipient> {
  while (!deps.signal.aborted) {
    const batch = await store.claimBatch(sendId, { owner, limit, now: deps.now() });
    if (batch.length === 0) return;
    for (const row of batch) untried.add(row.index);
    for (const row of batch) yield { index: row.index, recipient: recipientOf(row) };
  }
}

/**
 * A dry run or the outbox: renders (and for the outbox writes) every copy the send would make, records
 * nothing. A send that began earlier is rehearsed on its frozen list's open recipients; otherwise on the
 * store's active subscribers as they are now.
 */
async function rehearse(
  input: SendInput,
  deps: SendDeps,
  info: TransportInfo,
  maker: MessageMaker,
  send: SendInfo | undefined,
): Promise<SendReport> {
  const { io, transport } = deps;
  const { store } = input;
  const frozenAt = send?.frozenAt ?? deps.now();
  let recipients: AsyncIterable<IndexedRecipient>;
  let plan: SendPlan;
  let first: Recipient | undefined;
  if (send !== undefined) {
    const counts = await store.countStates(send.id);
    plan = planResume(counts, input.unknown);
    first = (await store.readRecipients(send.id, 0, 1)).map(recipientOf)[0];
    recipients = openRecipients(store, send.id, input.unknown);
  } else {
    // Counted, not read: the rehearsal reads the list once, as it renders.
    const total = (await store.counts()).active;
    first = await firstActive(store);
    const done = Object.fromEntries(STATES.map((state) => [state, 0])) as Record<
      (typeof STATES)[number],
      number
    >;
    plan = planResume({ ...done, pending: total }, input.unknown);
    recipients = activeRecipients(store);
  }
  if (plan.total === 0) {
    const reason = `nobody to send "${maker.message.title}" to: the list has no active subscriber who is not on the suppression list.`;
    io.out(`Nothing to send: ${reason}`);
    return { kind: 'nothing', reason };
  }
  checkOneCopy(maker, first, frozenAt, info, deps);
  const verb = input.mode === 'dry-run' ? 'Dry run' : 'Writing to the outbox (no SMTP_URL)';
  io.out(
    `${verb}: "${maker.message.title}" to ${number.format(plan.toSend)} of ${number.format(plan.total)} recipients` +
      (plan.done.sent > 0 ? ` (${number.format(plan.done.sent)} already have it)` : '') +
      ` via ${transport.description}.`,
  );
  const summary = await deliver({
    recipients,
    states: new Uint8Array(0),
    unknown: input.unknown,
    render: (recipient) => maker.render(recipient, frozenAt),
    envelopeFrom: (_recipient, index) => envelopeFromOf(maker.message, input.keys, send?.id, index),
    transport,
    journal: undefined,
    suppressed: new Set(),
    ...pacingOf(input, deps, io, plan.toSend),
  });
  return { kind: 'delivered', title: maker.message.title, plan, summary };
}

async function firstActive(store: Store): Promise<Recipient | undefined> {
  for await (const page of store.activeSubscribers()) {
    return page[0] === undefined ? undefined : subscriberRecipient(page[0]);
  }
  return undefined;
}

function subscriberRecipient(subscriber: {
  readonly id: number;
  readonly email: string;
  readonly name: string;
  readonly fields: Readonly<Record<string, string>>;
}): Recipient {
  return {
    email: subscriber.email,
    name: subscriber.name,
    fields: subscriber.fields,
    subscriberId: subscriber.id,
  };
}

/** Recipients per page of a rehearsal: a page lives while its readers render, and at 1,000 it was promoted. */
const PAGE = 100;

async function* openRecipients(
  store: Store,
  sendId: number,
  policy: UnknownPolicy,
): AsyncGenerator<IndexedRecipient> {
  for (let from = 0; ; from += PAGE) {
    const rows = await store.readRecipients(sendId, from, PAGE);
    if (rows.length === 0) return;
    for (const row of rows) {
      if (shouldSend(STATES.indexOf(row.state), policy))
        yield { index: row.index, recipient: recipientOf(row) };
    }
  }
}

async function* activeRecipients(store: Store): AsyncGenerator<IndexedRecipient> {
  let index = 0;
  for await (const page of store.activeSubscribers()) {
    for (const subscriber of page) {
      yield { index, recipient: subscriberRecipient(subscriber) };
      index += 1;
    }
  }
}

/**
 * The check before anything is sent: one reader's copy renders (templates, fields), and it is within the
 * size the server announced. A message too big for the server is too big for every reader.
 */
function checkOneCopy(
  maker: MessageMaker,
  first: Recipient | undefined,
  frozenAt: Date,
  info: TransportInfo,
  deps: SendDeps,
): void {
  if (first === undefined) return;
  const copy = maker.render(first, frozenAt);
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
function openFrozenMessage(
  io: Io,
  send: SendInfo,
  frozen: FrozenMessage | undefined,
  current: FrozenMessage,
): FrozenMessage {
  // A send frozen before Kurier stored its message sends what the build makes now.
  if (frozen === undefined) return current;
  if (!sameMessage(frozen, current)) {
    io.err(
      `The article (or its email settings) changed since this send began (${send.frozenAt.toISOString()}); the rest of this send gets the text frozen then, so that every reader of one Message-ID has the same message. ` +
        `To send the new text instead, let this send finish (or stop it), then run kurier publish ${current.slug} --new-send: everyone on the list gets the new text, under new Message-IDs.`,
    );
  }
  return frozen;
}

function announceImport(io: Io, displayName: string, summary: ImportSummary): void {
  io.out(
    `${displayName}: ${number.format(summary.added)} new, ${number.format(summary.activated)} pending made active, ` +
      `${number.format(summary.unchanged)} already on the list; left out: ${number.format(summary.invalid)} invalid, ` +
      `${number.format(summary.refused)} unsubscribed, bounced or suppressed, ${number.format(summary.suppressed)} marked unsubscribed or bounced.`,
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
  keys: MessageKeys,
  deps: Pick<SendDeps, 'transport' | 'now'>,
): Promise<TestCopyReport> {
  const address = parseAddress(to);
  if (!address.ok) throw new KurierError('USAGE', `--to: ${address.reason}.`);
  await deps.transport.verify();
  const maker = prepareMessageMaker(message, keys);
  const reader = { email: address.address, name: '', fields: maker.emptyFields };
  const outcome = await deps.transport.send({
    index: -1,
    envelope: { from: envelopeFromOf(message, keys, undefined, -1), to: address.address },
    raw: maker.render(reader, deps.now()),
  });
  return {
    to: quoteForMessage(address.address),
    title: message.title,
    failure: outcome.kind === 'sent' ? undefined : outcome.response,
  };
}
