// The subscriber store as an interface of intentions: each method is one transaction, on SQLite or PostgreSQL.

import type {
  BounceMessageRecord,
  BounceRecordOutcome,
  BounceRunSummary,
  SendBounceCounts,
} from './bounce-records.ts';

export const SUBSCRIBER_STATUSES = ['pending', 'active', 'unsubscribed', 'bounced', 'complained'] as const;
export type SubscriberStatus = (typeof SUBSCRIBER_STATUSES)[number];

export type SuppressionReason = 'unsubscribed' | 'bounced' | 'complained';

/** The states of one recipient of a send, in the order of their codes (as src/send/journal.ts numbers them). */
export const RECIPIENT_STATES = ['pending', 'attempting', 'sent', 'rejected', 'deferred', 'skipped'] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];

export interface Subscriber {
  readonly id: number;
  /** As typed in the form or the list. */
  readonly typed: string;
  /** Normalised (domain lowercase, punycode): what RCPT TO carries. */
  readonly email: string;
  readonly name: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly status: SubscriberStatus;
  /** Why the status is what it is: "confirmed", "one-click unsubscribe", "import subscribers.csv". */
  readonly statusCause: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

/** What the sign-up form showed and who sent it: the first half of the proof of double opt-in. */
export interface SignUpEvidence {
  /** Which form ("site" for the form on the pages). */
  readonly form: string;
  /** The page the form was on. */
  readonly page: string;
  /** The consent wording the form showed. */
  readonly wording: string;
  readonly ip: string;
  readonly userAgent: string;
}

/** Who pressed the confirm button: the second half. */
export interface ConfirmEvidence {
  readonly ip: string;
  readonly userAgent: string;
  /** When the confirmation link was made: a link older than a later unsubscribe must not undo it. */
  readonly linkIssuedAt: Date;
}

export interface SignUp {
  /** The address as typed; the store normalises it. */
  readonly address: string;
  readonly name: string;
  readonly evidence: SignUpEvidence;
}

export interface SubscribeOptions {
  /** At most one confirmation mail per address per this many milliseconds (nobody mail-bombs a third party). */
  readonly confirmationInterval: number;
}

/**
 * The store's answer, for the service and tests; the HTTP edge answers the same to all of them (no
 * enumeration). `queued`: a confirmation mail waits in the queue.
 */
export type SubscribeOutcome =
  | { readonly kind: 'queued'; readonly subscriberId: number }
  | { readonly kind: 'throttled'; readonly subscriberId: number }
  | { readonly kind: 'active'; readonly subscriberId: number }
  | { readonly kind: 'invalid'; readonly reason: string };

/** `stale`: the link predates the subscriber's unsubscribe (or bounce, complaint); nothing changed. */
export type ConfirmOutcome = 'confirmed' | 'already' | 'stale' | 'unknown';
export type UnsubscribeOutcome = 'unsubscribed' | 'already' | 'unknown';

export interface ImportRow {
  readonly address: string;
  readonly name: string;
  readonly fields: Readonly<Record<string, string>>;
  /** What the list says; an unsubscribed or bounced row suppresses the address. */
  readonly status: 'active' | 'unsubscribed' | 'bounced';
}

export interface ImportSummary {
  /** New subscribers, active with the import as their consent. */
  readonly added: number;
  /** Pending sign-ups the list made active. */
  readonly activated: number;
  /** Already active. */
  readonly unchanged: number;
  /** Not (re-)activated: unsubscribed, bounced, complained or on the suppression list. */
  readonly refused: number;
  /** Rows that mark the address unsubscribed or bounced: now suppressed. */
  readonly suppressed: number;
  readonly invalid: number;
}

export type AddOutcome = 'added' | 'activated' | 'already' | 'refused' | 'invalid';

export interface ExportRow {
  readonly email: string;
  readonly typed: string;
  readonly name: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly status: SubscriberStatus;
  readonly statusCause: string;
  readonly createdAt: string;
  readonly updatedAt: string;
  /** The latest consent: form, import or cli; empty when there is none. */
  readonly consentSource: string;
  readonly consentForm: string;
  readonly consentPage: string;
  readonly consentWording: string;
  readonly consentIp: string;
  readonly consentUserAgent: string;
  readonly consentRequestedAt: string;
  readonly consentConfirmedAt: string;
  readonly confirmIp: string;
  readonly confirmUserAgent: string;
}

export type Counts = Readonly<Record<SubscriberStatus, number>> & { readonly suppressed: number };

/** A confirmation mail to send, claimed by one sender for a while (a crashed sender's claim runs out). */
export interface ConfirmationJob {
  readonly id: number;
  readonly subscriberId: number;
  readonly email: string;
  readonly name: string;
  readonly attempts: number;
}

export interface ClaimOptions {
  readonly owner: string;
  readonly limit: number;
  readonly now: Date;
  /** How long the claim holds; after that another sender takes the mail again. */
  readonly leaseMs: number;
}

export interface SendInput {
  /** The article's id (tag: URI); one send per article. */
  readonly articleId: string;
  /** The frozen email, as JSON-serialisable data: a resumed send renders byte-identical copies from it. */
  readonly email: unknown;
  readonly frozenAt: Date;
}

export interface SendInfo {
  readonly id: number;
  readonly articleId: string;
  readonly email: unknown;
  readonly frozenAt: Date;
  readonly total: number;
}

export interface SendRecipient {
  readonly index: number;
  readonly subscriberId: number | null;
  readonly email: string;
  readonly name: string;
  readonly fields: Readonly<Record<string, string>>;
  readonly state: RecipientState;
  /** Attempts so far, this claim included. */
  readonly attempts: number;
  /** The last SMTP reply (or why skipped), for `kurier status`. */
  readonly code: number | null;
  readonly response: string | null;
  readonly updatedAt: Date | null;
}

export interface ClaimBatchOptions {
  /** This run; a row it already tried and deferred is left to its in-run retry. */
  readonly owner: string;
  readonly limit: number;
  readonly now: Date;
}

export interface StateUpdate {
  readonly index: number;
  readonly state: Exclude<RecipientState, 'pending'>;
  readonly at: Date;
  readonly code?: number | undefined;
  readonly response?: string | undefined;
}

export interface LegacySummary {
  /** False when the folder had been imported before (or held nothing to import). */
  readonly migrated: boolean;
  readonly suppressed: number;
  readonly sends: number;
  readonly recipients: number;
}

export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  /** A pending subscriber and a queued confirmation mail (or nothing new: see SubscribeOutcome). */
  subscribe(signUp: SignUp, now: Date, options: SubscribeOptions): Promise<SubscribeOutcome>;
  /** Pending → active with the consent recorded; lifts a suppression, since the owner of the mailbox asked. */
  confirm(subscriberId: number, evidence: ConfirmEvidence, now: Date): Promise<ConfirmOutcome>;
  /** Unsubscribed and suppressed, with the cause (token, one-click, mailed unsubscribe…). */
  unsubscribe(subscriberId: number, cause: string, now: Date): Promise<UnsubscribeOutcome>;
  /** On the suppression list whether or not a subscriber exists; a subscriber gets the matching status. */
  suppress(
    address: string,
    reason: SuppressionReason,
    cause: string,
    now: Date,
    detail?: string,
  ): Promise<void>;
  /** Active with the import as consent source; never re-activates an unsubscribed, bounced, complained or suppressed address. */
  importRows(rows: readonly ImportRow[], source: string, now: Date): Promise<ImportSummary>;
  /** The hash of the list file last imported under `source` whole, or undefined. */
  readImportedHash(source: string): Promise<string | undefined>;
  /** Remembers that the list file `source` with this hash was imported whole. */
  recordImportedHash(source: string, hash: string): Promise<void>;
  add(row: Omit<ImportRow, 'status'>, cause: string, now: Date): Promise<AddOutcome>;
  /** Unsubscribes and suppresses (the record stays); false when the address is unknown. */
  remove(address: string, cause: string, now: Date): Promise<boolean>;
  /** Erasure: personal data deleted, a salted hash kept on the suppression list. False when nothing was known. */
  forget(address: string, now: Date): Promise<boolean>;
  findSubscriber(address: string): Promise<Subscriber | undefined>;
  getSubscriber(id: number): Promise<Subscriber | undefined>;
  isSuppressed(address: string): Promise<boolean>;
  /** Pages of subscribers in id order, with their latest consent. */
  exportSubscribers(status?: SubscriberStatus): AsyncGenerator<readonly ExportRow[]>;
  counts(): Promise<Counts>;
  /** Pages of the active subscribers in id order: whom a rehearsal (dry run, outbox) of a new send renders for. */
  activeSubscribers(): AsyncGenerator<readonly Subscriber[]>;

  claimConfirmations(options: ClaimOptions): Promise<ConfirmationJob[]>;
  markConfirmationSent(id: number, now: Date): Promise<void>;
  /** Back to the queue after `retryAt`; gives up (state failed) when `giveUp`. */
  markConfirmationFailed(id: number, error: string, retryAt: Date, giveUp: boolean): Promise<void>;
  /** Confirmation mails not yet sent. */
  countQueuedConfirmations(): Promise<number>;

  /**
   * Freezes the recipient list of an article's send: every active, unsuppressed subscriber, in id order,
   * copied inside the database (INSERT … SELECT: memory stays flat for a million). A second call for the
   * same article returns the existing send unchanged (created: false).
   */
  createSend(input: SendInput): Promise<{ readonly send: SendInfo; readonly created: boolean }>;
  readSend(articleId: string): Promise<SendInfo | undefined>;
  listSends(): Promise<SendInfo[]>;
  /** The frozen list in index order, from `fromIndex`, at most `limit`. */
  readRecipients(sendId: number, fromIndex: number, limit: number): Promise<SendRecipient[]>;
  /** One run at a time per send, across machines; true when `owner` holds the lock until now + ttl. */
  lockSend(sendId: number, owner: string, now: Date, ttlMs: number): Promise<boolean>;
  unlockSend(sendId: number, owner: string): Promise<void>;
  /** Who holds the send's lock, and until when; undefined when nobody does. */
  readSendLock(sendId: number): Promise<{ readonly owner: string; readonly until: Date } | undefined>;
  /** Takes the lock from `staleOwner` (a run known to be dead), only if it still holds it. */
  takeOverSendLock(
    sendId: number,
    staleOwner: string,
    owner: string,
    now: Date,
    ttlMs: number,
  ): Promise<boolean>;
  /**
   * Messages of an earlier run whose outcome is unknown (state attempting, another owner): `resend` makes
   * them pending again (same Message-ID, duplicates only for those in flight), `skip` leaves them.
   * Returns how many there were.
   */
  recoverInFlight(sendId: number, owner: string, policy: 'resend' | 'skip', now: Date): Promise<number>;
  /**
   * The next recipients to send, in index order, durably `attempting` before this resolves (so a message
   * never leaves unrecorded). Pending rows, and rows deferred by another run; a recipient suppressed since
   * the freeze is marked skipped in the same transaction and not returned.
   */
  claimBatch(sendId: number, options: ClaimBatchOptions): Promise<SendRecipient[]>;
  /** Group commit: many recipients' outcomes in one transaction, durable when this resolves. */
  markStates(sendId: number, updates: readonly StateUpdate[]): Promise<void>;
  countStates(sendId: number): Promise<Record<RecipientState, number>>;

  /**
   * Imports a state folder written by the file-based Kurier (suppressed.jsonl, sends/*), once and whole:
   * one transaction, remembered in the store, so a second call (or a second machine) does nothing.
   */
  migrateLegacyState(stateDir: string, now: Date): Promise<LegacySummary>;

  /** A message of the return mailbox decided before: its folder, so a re-run only moves it. */
  findBounceMessage(key: string): Promise<{ readonly key: string; readonly folder: string } | undefined>;
  /** The decided message and its state changes in one transaction; a key recorded before changes nothing. */
  recordBounceMessage(record: BounceMessageRecord): Promise<BounceRecordOutcome>;
  countBouncesPerSend(): Promise<SendBounceCounts[]>;
  readLatestBounceRun(): Promise<BounceRunSummary | undefined>;
  close(): Promise<void>;
}
