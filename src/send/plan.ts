// Pure decisions of a send: message ids, unsubscribe links, who is (re)sent on resume, retry delays.

import { createHash, createHmac } from 'node:crypto';
import { ATTEMPTING, countStates, DEFERRED, PENDING, type RecipientState } from './journal.ts';

/** What to do with a recipient whose last record is "attempting": the run died while the message was out. */
export type UnknownPolicy = 'resend' | 'skip';

/**
 * Deterministic per (article, reader), on the publication's domain: a copy sent again after a crash
 * carries the same Message-ID, so mail clients and providers that deduplicate by it show it once.
 */
export function planMessageId(articleId: string, key: string, domain: string): string {
  const hash = createHash('sha256').update(`${articleId}\n${key}`).digest('base64url').slice(0, 32);
  return `<${hash}@${domain}>`;
}

/** Stands in for the token when no KURIER_SECRET is set; only dry runs and the outbox accept it. */
export const FAKE_TOKEN = 'NO-SECRET-fake-token-set-KURIER_SECRET';

/**
 * The unsubscribe token: HMAC-SHA256 of the lowercased address. The unsubscribe endpoint recomputes it
 * for the address it is given, so no database of tokens is needed and nobody can unsubscribe others.
 */
export function planUnsubscribeToken(secret: string | undefined, key: string): string {
  if (secret === undefined) return FAKE_TOKEN;
  return createHmac('sha256', secret).update(key).digest('base64url');
}

/** The token is base64url, so it goes into the query as is (no URL object per reader: a million of them add up). */
export function planUnsubscribeUrl(base: string, token: string): string {
  const hash = base.indexOf('#');
  const [head, fragment] = hash === -1 ? [base, ''] : [base.slice(0, hash), base.slice(hash)];
  return `${head}${head.includes('?') ? '&' : '?'}token=${token}${fragment}`;
}

/** The mailto: URL of List-Unsubscribe; a subject lets the receiving mailbox's filter act on it (RFC 2369 §3.2). */
export function planUnsubscribeMailto(address: string): string {
  const url = /^mailto:/i.test(address) ? address : `mailto:${address}`;
  return url.includes('?') ? url : `${url}?subject=unsubscribe`;
}

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

export function planResume(states: Uint8Array, policy: UnknownPolicy): SendPlan {
  const done = countStates(states);
  const unknown = done.attempting;
  return {
    total: states.length,
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

/** The domain of the publication: Message-IDs and List-Id live under it. */
export function domainOf(baseUrl: string): string {
  return new URL(baseUrl).hostname;
}
