// The subscription service: sign-up, confirm and unsubscribe as the HTTP edge asks for them. It checks the
// token (a pure decision) and applies the result to the store; routes only translate requests and answers.

import type { ConfirmEvidence, SignUpEvidence, Store } from '../store/store.ts';
import { type KeyRing, parseToken, type TokenCheck, type TokenPurpose } from './tokens.ts';

/** At most one confirmation mail per address per 10 minutes: nobody can mail-bomb a third party. */
export const CONFIRMATION_INTERVAL_MS = 10 * 60 * 1000;

export interface Subscriptions {
  readonly store: Store;
  readonly ring: KeyRing;
  /** The list tokens are bound to ("newsletter.kurier.example"). */
  readonly list: string;
  readonly now: () => Date;
}

export interface SignUpRequest {
  readonly address: string;
  readonly name: string;
  /** A field people never see; bots fill it in. */
  readonly honeypot: string;
  readonly evidence: SignUpEvidence;
}

/**
 * `accepted` whatever the address's state (new, pending, active, unsubscribed) or a filled honeypot: the
 * answer must not tell a stranger who is on the list. Only an address that is not one is `invalid`.
 */
export async function signUp(
  subscriptions: Subscriptions,
  request: SignUpRequest,
): Promise<'accepted' | 'invalid'> {
  if (request.honeypot.trim() !== '') return 'accepted';
  const outcome = await subscriptions.store.subscribe(
    { address: request.address, name: request.name, evidence: request.evidence },
    subscriptions.now(),
    { confirmationInterval: CONFIRMATION_INTERVAL_MS },
  );
  return outcome.kind === 'invalid' ? 'invalid' : 'accepted';
}

export function checkToken(subscriptions: Subscriptions, token: string, purpose: TokenPurpose): TokenCheck {
  return parseToken(subscriptions.ring, token, {
    purpose,
    list: subscriptions.list,
    now: subscriptions.now(),
  });
}

export type TokenOutcome = 'done' | 'already' | 'expired' | 'invalid';

export async function confirmByToken(
  subscriptions: Subscriptions,
  token: string,
  evidence: Omit<ConfirmEvidence, 'linkIssuedAt'>,
): Promise<TokenOutcome> {
  const check = checkToken(subscriptions, token, 'confirm');
  if (!check.ok) return check.reason === 'expired' ? 'expired' : 'invalid';
  const outcome = await subscriptions.store.confirm(
    check.subscriberId,
    { ...evidence, linkIssuedAt: check.issuedAt },
    subscriptions.now(),
  );
  if (outcome === 'stale') return 'expired';
  return outcome === 'confirmed' ? 'done' : outcome === 'already' ? 'already' : 'invalid';
}

/** `cause` says how (unsubscribe page, one-click POST): recorded next to the state change. */
export async function unsubscribeByToken(
  subscriptions: Subscriptions,
  token: string,
  cause: string,
): Promise<TokenOutcome> {
  const check = checkToken(subscriptions, token, 'unsubscribe');
  if (!check.ok) return 'invalid';
  const outcome = await subscriptions.store.unsubscribe(check.subscriberId, cause, subscriptions.now());
  // A forgotten subscriber is as unsubscribed as can be: the reader's wish is fulfilled.
  return outcome === 'unsubscribed' ? 'done' : 'already';
}
