// What the bounce service needs from the subscriber store: record each decided message once, with the state
// changes it causes, in one transaction. The store implements it (SQLite, PostgreSQL); tests use their own.

import type { Decision } from './classify.ts';

/** Whom an action is about: the reader a verified VERP token names, else the address a report names. */
export type ReaderRef =
  | { readonly sendId: number; readonly reader: number; readonly address?: string }
  | { readonly address: string };

export interface SoftBouncePolicy {
  /** This many soft bounces of one reader… */
  readonly count: number;
  /** …within this many days make the reader bounced. */
  readonly withinDays: number;
}

export type BounceAction =
  /** Status bounced (or complained) and on the suppression list. */
  | { readonly kind: 'suppress'; readonly reader: ReaderRef; readonly status: 'bounced' | 'complained' }
  /** Status unsubscribed and on the suppression list: an unsubscribe is never lost. */
  | { readonly kind: 'unsubscribe'; readonly reader: ReaderRef }
  /** Counted; the store makes the reader bounced when `policy.count` fall within `policy.withinDays`. */
  | { readonly kind: 'soft-bounce'; readonly reader: ReaderRef; readonly policy: SoftBouncePolicy }
  /** The sender or the message was refused: nothing changes for the reader; `status` reports it per send. */
  | { readonly kind: 'sender-refused'; readonly reader: ReaderRef; readonly reason: string };

export type Folder = 'handled' | 'unclassified';

export interface LedgerEntry {
  /** `message-id:<…>`, or `sha256:<hex>` of the raw message when it has no Message-ID. */
  readonly key: string;
  readonly messageId: string | undefined;
  readonly decidedAt: Date;
  readonly decision: Decision;
  readonly actions: readonly BounceAction[];
  /** Where the message goes once recorded: a re-run moves it there without deciding again. */
  readonly folder: Folder;
}

export interface RecordOutcome {
  /** False when the key was recorded before: nothing was changed a second time. */
  readonly recorded: boolean;
  /** Readers this entry made bounced or complained (including by the soft-bounce policy), for the report. */
  readonly suppressed: readonly ReaderRef[];
}

export interface BounceLedger {
  find(key: string): Promise<Pick<LedgerEntry, 'key' | 'folder'> | undefined>;
  /**
   * Stores the entry and applies its actions in one transaction, durable before it returns. A key recorded
   * before changes nothing, so a re-run after a crash between recording and moving counts nothing twice.
   */
  record(entry: LedgerEntry): Promise<RecordOutcome>;
}
