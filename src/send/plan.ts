// Pure decisions of a send: who is (re)sent on resume, and when a deferred reader is tried again.

import { ATTEMPTING, DEFERRED, PENDING, type RecipientState } from './states.ts';

/** What to do with a recipient whose last record is "attempting": the run died while the message was out. */
export type UnknownPolicy = 'resend' | 'skip';

/** Whether this run sends to a recipient in this state. */
export function shouldSend(state: number, policy: UnknownPolicy): boolean {
  return state === PENDING || state === DEFERRED || (state === ATTEMPTING && policy === 'resend');
}

export interface SendPlan {
  readonly total: number;
  readonly toSend: number;
  /** Outcome unknown (the run died with the message on the wire) and sent again per the policy. */
  readonly unknownResent: number;
  /** Outcome unknown and left alone (`--unknown skip`). */
  readonly unknownSkipped: number;
  readonly done: Readonly<Record<RecipientState, number>>;
}

/** From the counts of a send's states before this run: whom it sends, and what it does with the unknown. */
export function planResume(done: Readonly<Record<RecipientState, number>>, policy: UnknownPolicy): SendPlan {
  const unknown = done.attempting;
  return {
    total: Object.values(done).reduce((sum, count) => sum + count, 0),
    toSend: done.pending + done.deferred + (policy === 'resend' ? unknown : 0),
    unknownResent: policy === 'resend' ? unknown : 0,
    unknownSkipped: policy === 'skip' ? unknown : 0,
    done,
  };
}

export interface RetryPolicy {
  /** Attempts per recipient in one run, the first included. */
  readonly attempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 5_000, maxDelayMs: 60_000 };

/**
 * Exponential backoff with "equal jitter": half the delay fixed, half random, so retries of many
 * recipients deferred by the same hiccup do not arrive at the server together.
 * `random` is in [0, 1).
 */
export function planRetryDelay(failedAttempts: number, policy: RetryPolicy, random: number): number {
  const exponential = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.max(0, failedAttempts - 1));
  return Math.round(exponential / 2 + (exponential / 2) * random);
}
