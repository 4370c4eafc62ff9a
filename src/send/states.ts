// The states of one recipient of a send, and the record of a change of state that the store commits.

/**
 * pending → attempting → sent | rejected | deferred; skipped when the suppression list gained the address
 * after the list was frozen. The codes are the store's (src/store/store.ts RECIPIENT_STATES, same order).
 */
export const STATES = ['pending', 'attempting', 'sent', 'rejected', 'deferred', 'skipped'] as const;
export type RecipientState = (typeof STATES)[number];

export const PENDING = 0;
export const ATTEMPTING = 1;
export const SENT = 2;
export const REJECTED = 3;
export const DEFERRED = 4;
export const SKIPPED = 5;

/** One change of state: the recipient's index in the frozen list, its new state, when, and the reply. */
export interface StateRecord {
  readonly i: number;
  readonly s: Exclude<RecipientState, 'pending'>;
  /** Milliseconds since the epoch. */
  readonly t: number;
  /** SMTP reply code, when there was one. */
  readonly c?: number | undefined;
  /** The server's reply or the error, for `kurier status`. */
  readonly r?: string | undefined;
}
