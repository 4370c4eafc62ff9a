// The delivery engine: frozen recipients → rendered messages → transport, recorded, rate-limited, retried, resumable.

import type { IndexedRecipient, Recipient } from './message.ts';
import { planRetryDelay, type RetryPolicy, shouldSend, type UnknownPolicy } from './plan.ts';
import type { Progress } from './progress.ts';
import { type Clock, TokenBucket } from './rate.ts';
import { ATTEMPTING, DEFERRED, REJECTED, SENT, SKIPPED, type StateRecord } from './states.ts';
import type { HaltReason, SendOutcome, Transport } from './transport.ts';

/** Where the engine writes state changes; `append` resolves once the record is durable. */
export interface StateSink {
  append(record: StateRecord): Promise<void>;
}

export interface DeliverOptions {
  /** The frozen list in index order; only recipients whose state asks for it are sent. */
  readonly recipients: AsyncIterable<IndexedRecipient>;
  /** One state byte per recipient (by index); updated as the run goes. */
  readonly states: Uint8Array;
  readonly unknown: UnknownPolicy;
  readonly render: (recipient: Recipient, index: number) => Buffer;
  /** MAIL FROM of one copy (the VERP return path, or the sender). */
  readonly envelopeFrom: (recipient: Recipient, index: number) => string;
  readonly transport: Transport;
  /** Undefined for dry runs, the outbox and test copies: they record nothing. */
  readonly journal: StateSink | undefined;
  /** Lowercased addresses never to mail; hard bounces of this run are added to it. */
  readonly suppressed: Set<string>;
  readonly onHardBounce?: (recipient: Recipient, response: string) => Promise<void>;
  /** Messages in flight at once: one per SMTP connection of the pool. */
  readonly connections: number;
  /** Messages per second; undefined for as fast as the server takes them. */
  readonly rate: number | undefined;
  readonly retry: RetryPolicy;
  readonly clock: Clock;
  /** Uniform in [0, 1): the jitter of retry delays. */
  readonly random: () => number;
  /** Wall-clock time for journal records (milliseconds since the epoch). */
  readonly wallTime: () => number;
  readonly signal: AbortSignal;
  readonly onProgress?: (progress: Progress) => void;
  /** How many recipients this run will attempt (for the progress bar). */
  readonly planned: number;
  /** Connection failures in a row, without a single success, after which the server counts as gone. */
  readonly connectionFailureLimit?: number;
  /** Readers refused in a row with the same reply, after which the reply counts as the message's. */
  readonly sameRejectionLimit?: number;
}

export interface Rejection {
  readonly index: number;
  readonly email: string;
  readonly response: string;
}

export interface DeliverySummary {
  readonly sent: number;
  readonly rejected: number;
  /** Still deferred at the end of the run (a later run retries them). */
  readonly deferred: number;
  /** On the suppression list by now, so not sent. */
  readonly skipped: number;
  /** Not reached because the run stopped early. */
  readonly notAttempted: number;
  readonly hardBounces: number;
  /** The first rejections, for the summary. */
  readonly rejections: readonly Rejection[];
  readonly halt: { readonly reason: HaltReason; readonly response: string } | undefined;
  /** Stopped by SIGINT/SIGTERM. */
  readonly interrupted: boolean;
  readonly elapsedMs: number;
}

interface Job {
  readonly index: number;
  readonly recipient: Recipient;
  /** Attempts made in this run. */
  attempts: number;
}

interface Retry {
  readonly job: Job;
  readonly dueAt: number;
}

const REJECTIONS_KEPT = 20;
export const SAME_REJECTION_LIMIT = 10;

/**
 * A reply without what names the reader (the address, a queue id, numbers), so that the refusals of
 * different readers for one cause compare equal.
 */
export function rejectionSignature(code: number | undefined, response: string): string {
  return `${code ?? ''} ${response
    .replace(/<[^<>]*>|\S+@\S+/g, '<>')
    .replace(/\d+/g, '0')
    .toLowerCase()}`;
}

/**
 * Sends to every recipient whose state asks for it. The journal gets "attempting" (durable) before a
 * message leaves and the outcome after, so a crash at any point leaves each recipient either finished or
 * visibly in doubt. Failures that concern one reader are retried or recorded; failures that concern the
 * whole sender (login, throttling, quota, a vanished server) stop the run so it can be resumed later.
 * Never throws for a delivery problem; throws only when the journal cannot be written or rendering fails.
 */
export async function deliver(options: DeliverOptions): Promise<DeliverySummary> {
  const { states, clock, signal, journal } = options;
  const started = clock.now();
  const bucket = options.rate === undefined ? undefined : new TokenBucket(options.rate, started);
  // Twice as many messages in hand as connections: while one is on the wire, the next is rendered and
  // journaled, so no connection waits for an fsync. The extra ones wait in the pool's queue, unsent.
  const depth = options.connections * 2;
  const connectionFailureLimit = options.connectionFailureLimit ?? Math.max(10, options.connections * 3);
  const iterator = options.recipients[Symbol.asyncIterator]();
  const inFlight = new Set<Promise<void>>();
  const retries: Retry[] = [];
  let sourceDone = false;
  let halt: DeliverySummary['halt'];
  let fatal: { error: unknown } | undefined;
  let connectionFailures = 0;
  const tally = { sent: 0, rejected: 0, deferred: 0, skipped: 0, hardBounces: 0 };
  const rejections: Rejection[] = [];
  const sameRejectionLimit = options.sameRejectionLimit ?? SAME_REJECTION_LIMIT;
  // The readers refused in a row with one reply (not yet a halt): taken back if the streak reaches the limit.
  let streak: { signature: string; jobs: Job[] } = { signature: '', jobs: [] };

  /** The reader was refused for what concerns everybody: back to deferred, pending for the next run. */
  const holdBack = async (job: Job, code: number | undefined, response: string): Promise<void> => {
    states[job.index] = DEFERRED;
    tally.deferred += 1;
    await record({
      i: job.index,
      s: 'deferred',
      t: options.wallTime(),
      c: code,
      r: `held back, the same reply for ${sameRejectionLimit} readers in a row: ${response.slice(0, 400)}`,
    });
  };

  const stopping = (): boolean => signal.aborted || halt !== undefined || fatal !== undefined;
  const record = async (entry: StateRecord): Promise<void> => {
    if (journal !== undefined) await journal.append(entry);
  };
  const report = (): void => {
    options.onProgress?.({
      done: tally.sent + tally.rejected + tally.deferred + tally.skipped,
      total: options.planned,
      sent: tally.sent,
      failed: tally.rejected + tally.deferred,
      elapsedMs: clock.now() - started,
    });
  };

  const nextFromList = async (): Promise<Job | undefined> => {
    while (!sourceDone) {
      const next = await iterator.next();
      if (next.done === true) {
        sourceDone = true;
        return undefined;
      }
      const { index, recipient } = next.value;
      if (shouldSend(states[index] ?? 0, options.unknown)) return { index, recipient, attempts: 0 };
    }
    return undefined;
  };

  const settle = async (job: Job, outcome: SendOutcome): Promise<void> => {
    const t = options.wallTime();
    const { index, recipient } = job;
    switch (outcome.kind) {
      case 'sent':
        connectionFailures = 0;
        streak = { signature: '', jobs: [] };
        states[index] = SENT;
        tally.sent += 1;
        await record({ i: index, s: 'sent', t, r: outcome.response.slice(0, 200) });
        return;
      case 'rejected': {
        connectionFailures = 0;
        const signature = outcome.hardBounce ? '' : rejectionSignature(outcome.code, outcome.response);
        if (signature !== '' && halt?.reason === 'repeated' && signature === streak.signature) {
          await holdBack(job, outcome.code, outcome.response);
          return;
        }
        if (signature === '' || signature !== streak.signature) streak = { signature, jobs: [] };
        if (signature !== '') streak.jobs.push(job);
        if (signature !== '' && streak.jobs.length >= sameRejectionLimit) {
          halt ??= { reason: 'repeated', response: outcome.response };
          for (const earlier of streak.jobs.slice(0, -1)) {
            tally.rejected -= 1;
            const at = rejections.findIndex((rejection) => rejection.index === earlier.index);
            if (at !== -1) rejections.splice(at, 1);
            await holdBack(earlier, outcome.code, outcome.response);
          }
          await holdBack(job, outcome.code, outcome.response);
          return;
        }
        states[index] = REJECTED;
        tally.rejected += 1;
        if (rejections.length < REJECTIONS_KEPT)
          rejections.push({ index, email: recipient.email, response: outcome.response });
        await record({ i: index, s: 'rejected', t, c: outcome.code, r: outcome.response.slice(0, 500) });
        if (outcome.hardBounce) {
          tally.hardBounces += 1;
          options.suppressed.add(recipient.email.toLowerCase());
          await options.onHardBounce?.(recipient, outcome.response);
        }
        return;
      }
      case 'deferred':
      case 'halt': {
        if (outcome.kind === 'halt') halt ??= { reason: outcome.reason, response: outcome.response };
        if (outcome.kind === 'deferred' && outcome.connection) {
          connectionFailures += 1;
          if (connectionFailures >= connectionFailureLimit) {
            halt ??= { reason: 'connection', response: outcome.response };
          }
        } else if (outcome.kind === 'deferred') {
          connectionFailures = 0;
        }
        // A halted send leaves the reader deferred: the server refused before taking the message.
        states[index] = DEFERRED;
        await record({ i: index, s: 'deferred', t, c: outcome.code, r: outcome.response.slice(0, 500) });
        if (outcome.kind === 'deferred' && job.attempts < options.retry.attempts && !stopping()) {
          const delay = planRetryDelay(job.attempts, options.retry, options.random());
          retries.push({ job, dueAt: clock.now() + delay });
        } else {
          tally.deferred += 1;
        }
        return;
      }
    }
  };

  const run = async (job: Job): Promise<void> => {
    try {
      const key = job.recipient.email.toLowerCase();
      if (options.suppressed.has(key)) {
        states[job.index] = SKIPPED;
        tally.skipped += 1;
        await record({ i: job.index, s: 'skipped', t: options.wallTime(), r: 'on the suppression list' });
        return;
      }
      const raw = options.render(job.recipient, job.index);
      states[job.index] = ATTEMPTING;
      job.attempts += 1;
      await record({ i: job.index, s: 'attempting', t: options.wallTime() });
      const outcome = await options.transport.send({
        index: job.index,
        envelope: { from: options.envelopeFrom(job.recipient, job.index), to: job.recipient.email },
        raw,
      });
      await settle(job, outcome);
    } catch (error) {
      fatal ??= { error };
    } finally {
      report();
    }
  };

  const takeDueRetry = (): Job | undefined => {
    const now = clock.now();
    const position = retries.findIndex((retry) => retry.dueAt <= now);
    if (position === -1) return undefined;
    return retries.splice(position, 1)[0]?.job;
  };

  while (!stopping()) {
    if (inFlight.size >= depth) {
      await Promise.race(inFlight);
      continue;
    }
    let job = takeDueRetry();
    if (job === undefined && !sourceDone) {
      job = await nextFromList();
      if (job === undefined) continue;
    }
    if (job === undefined) {
      if (retries.length > 0) {
        const wait = Math.max(1, Math.min(...retries.map((retry) => retry.dueAt)) - clock.now());
        // Wake early when a message in flight finishes: it may have queued an earlier retry.
        await Promise.race([clock.sleep(wait, signal), ...inFlight]);
        continue;
      }
      if (inFlight.size > 0) {
        await Promise.race(inFlight);
        continue;
      }
      break;
    }
    if (bucket !== undefined) await bucket.take(clock, signal);
    if (stopping()) {
      // Not sent: its state is unchanged (pending or deferred), the next run picks it up.
      if (job.attempts > 0) retries.push({ job, dueAt: 0 });
      break;
    }
    const task: Promise<void> = run(job).finally(() => inFlight.delete(task));
    inFlight.add(task);
  }
  await Promise.all(inFlight);
  if (fatal !== undefined) throw fatal.error;

  // Recipients waiting for a retry when the run stopped stay deferred in the journal.
  tally.deferred += retries.length;
  const notAttempted = Math.max(
    0,
    options.planned - tally.sent - tally.rejected - tally.deferred - tally.skipped,
  );
  return {
    sent: tally.sent,
    rejected: tally.rejected,
    deferred: tally.deferred,
    skipped: tally.skipped,
    notAttempted,
    hardBounces: tally.hardBounces,
    rejections,
    halt,
    interrupted: signal.aborted,
    elapsedMs: clock.now() - started,
  };
}
