// The store's side of `kurier bounces`: each decided message of the return mailbox recorded once, under its
// key, together with the state changes it causes, in one transaction; and the counts `kurier status` shows.

import { type Kysely, sql } from './sql.ts';
import type { Tables } from './tables.ts';

/** Whom a change is about: a reader of a send (from a verified VERP token), or an address a report names. */
export type BounceTarget =
  | { readonly sendId: number; readonly reader: number; readonly address?: string }
  | { readonly address: string };

export type BounceChange =
  | { readonly kind: 'suppress'; readonly reader: BounceTarget; readonly status: 'bounced' | 'complained' }
  | { readonly kind: 'unsubscribe'; readonly reader: BounceTarget }
  | {
      readonly kind: 'soft-bounce';
      readonly reader: BounceTarget;
      readonly policy: { readonly count: number; readonly withinDays: number };
    }
  | { readonly kind: 'sender-refused'; readonly reader: BounceTarget; readonly reason: string };

export interface BounceMessageRecord {
  readonly key: string;
  readonly messageId: string | undefined;
  readonly decidedAt: Date;
  /** hard, soft, refused, complaint, unsubscribe, auto-reply, not-bounce, unknown. */
  readonly kind: string;
  readonly why: string;
  /** The whole decision, as JSON: `status` and a person can explain every change from it. */
  readonly decision: unknown;
  readonly folder: string;
  /** The run that recorded it: `status` names what the latest run suppressed. */
  readonly run: string;
  readonly changes: readonly BounceChange[];
}

export interface BounceRecordOutcome {
  readonly recorded: boolean;
  /** The targets this record made bounced, complained or unsubscribed. */
  readonly suppressed: readonly BounceTarget[];
}

export interface SendBounceCounts {
  readonly sendId: number;
  readonly articleId: string;
  /** Accepted by the receiving server: the base of the rates. */
  readonly sent: number;
  readonly bounced: number;
  readonly softBounced: number;
  readonly complained: number;
  readonly unsubscribed: number;
  readonly refused: number;
}

export interface BounceRunSummary {
  readonly run: string;
  readonly at: Date;
  readonly messages: number;
  /** Addresses (undefined once forgotten) this run suppressed, and as what. */
  readonly suppressed: readonly { readonly address: string | undefined; readonly status: string }[];
}

/** What the store lends a bounce record inside its transaction. */
export interface BounceTransaction {
  readonly db: Kysely<Tables>;
  readonly dialect: 'sqlite' | 'postgres';
  /** The lowercased key of an address (or of any text, when it does not parse). */
  looseKey(raw: string): string;
  /** The salted hash of a key, as the suppression list and the subscribers keep it. */
  hash(key: string): string;
  setStatus(
    subscriberId: number,
    status: 'bounced' | 'complained' | 'unsubscribed',
    cause: string,
    now: Date,
  ): Promise<void>;
}

interface Resolved {
  readonly sendId: number | null;
  readonly index: number | null;
  readonly subscriberId: number | null;
  readonly key: string;
  readonly hash: string;
}

/** The reader of a send row when the token names one; else the address the report names. */
async function resolveTarget(tx: BounceTransaction, target: BounceTarget): Promise<Resolved | undefined> {
  if ('sendId' in target) {
    const row = await tx.db
      .selectFrom('send_recipients')
      .select(['email', 'key_hash', 'subscriber_id'])
      .where('send_id', '=', target.sendId)
      .where('idx', '=', target.reader)
      .executeTakeFirst();
    if (row !== undefined) {
      return {
        sendId: target.sendId,
        index: target.reader,
        subscriberId: row.subscriber_id,
        key: tx.looseKey(row.email),
        hash: row.key_hash,
      };
    }
    if (target.address === undefined) return undefined;
  }
  const key = tx.looseKey(target.address as string);
  const subscriber = await tx.db
    .selectFrom('subscribers')
    .select('id')
    .where('key', '=', key)
    .executeTakeFirst();
  return { sendId: null, index: null, subscriberId: subscriber?.id ?? null, key, hash: tx.hash(key) };
}

/**
 * On the suppression list, and the subscriber's status changed while they were still pending or active (an
 * unsubscribe is not turned into a bounce). True when this made a difference.
 */
async function suppressTarget(
  tx: BounceTransaction,
  target: Resolved,
  status: 'bounced' | 'complained' | 'unsubscribed',
  cause: string,
  detail: string,
  now: Date,
): Promise<boolean> {
  const inserted = await tx.db
    .insertInto('suppressions')
    .values({
      address_hash: target.hash,
      address_key: target.key,
      reason: status,
      cause,
      detail,
      created_at: now.toISOString(),
    })
    .onConflict((conflict) => conflict.column('address_hash').doNothing())
    .returning('address_hash')
    .execute();
  let changed = inserted.length > 0;
  if (target.subscriberId !== null) {
    const subscriber = await tx.db
      .selectFrom('subscribers')
      .select('status')
      .where('id', '=', target.subscriberId)
      .$if(tx.dialect === 'postgres', (query) => query.forUpdate())
      .executeTakeFirst();
    if (subscriber?.status === 'active' || subscriber?.status === 'pending') {
      await tx.setStatus(target.subscriberId, status, cause, now);
      changed = true;
    }
  }
  return changed;
}

export async function findBounceMessage(
  db: Kysely<Tables>,
  key: string,
): Promise<{ readonly key: string; readonly folder: string } | undefined> {
  return db.selectFrom('bounce_messages').select(['key', 'folder']).where('key', '=', key).executeTakeFirst();
}

const DAY_MS = 86_400_000;

/** Runs inside the store's transaction: the insert of the key decides whether anything else happens. */
export async function recordBounceMessage(
  tx: BounceTransaction,
  record: BounceMessageRecord,
): Promise<BounceRecordOutcome> {
  const at = record.decidedAt.toISOString();
  const inserted = await tx.db
    .insertInto('bounce_messages')
    .values({
      key: record.key,
      message_id: record.messageId ?? null,
      decided_at: at,
      kind: record.kind,
      why: record.why,
      decision: JSON.stringify(record.decision),
      folder: record.folder,
      run: record.run,
    })
    .onConflict((conflict) => conflict.column('key').doNothing())
    .returning('key')
    .execute();
  if (inserted.length === 0) return { recorded: false, suppressed: [] };
  const suppressed: BounceTarget[] = [];
  const cause = `${record.kind} ${record.messageId ?? record.key}`;
  for (const change of record.changes) {
    const target = await resolveTarget(tx, change.reader);
    let event: string = change.kind;
    let detail = record.why;
    let changed = false;
    if (target !== undefined) {
      if (change.kind === 'suppress') {
        event = change.status;
        changed = await suppressTarget(tx, target, change.status, cause, record.why, record.decidedAt);
      } else if (change.kind === 'unsubscribe') {
        event = 'unsubscribed';
        changed = await suppressTarget(tx, target, 'unsubscribed', cause, record.why, record.decidedAt);
      } else if (change.kind === 'soft-bounce') {
        event = 'soft';
        // PostgreSQL: two runs counting the same reader's soft bounces take turns (the count, a statement
        // after the lock, then sees the other's committed event); SQLite has one writer anyway.
        if (tx.dialect === 'postgres' && target.subscriberId !== null) {
          await tx.db
            .selectFrom('subscribers')
            .select('id')
            .where('id', '=', target.subscriberId)
            .forUpdate()
            .execute();
        }
        const since = new Date(record.decidedAt.getTime() - change.policy.withinDays * DAY_MS).toISOString();
        const earlier = await tx.db
          .selectFrom('bounce_events')
          .select(sql<string>`count(*)`.as('n'))
          .where('address_hash', '=', target.hash)
          .where('kind', '=', 'soft')
          .where('at', '>', since)
          .executeTakeFirstOrThrow();
        if (Number(earlier.n) + 1 >= change.policy.count) {
          detail = `${Number(earlier.n) + 1} soft bounces within ${change.policy.withinDays} days`;
          changed = await suppressTarget(tx, target, 'bounced', cause, detail, record.decidedAt);
        }
      } else {
        event = 'refused';
        detail = change.reason;
      }
    }
    await tx.db
      .insertInto('bounce_events')
      .values({
        message_key: record.key,
        at,
        kind: event,
        send_id: target?.sendId ?? null,
        idx: target?.index ?? null,
        subscriber_id: target?.subscriberId ?? null,
        address_hash: target?.hash ?? null,
        detail,
        suppressed: changed ? 1 : 0,
      })
      .execute();
    if (changed) suppressed.push(change.reader);
  }
  return { recorded: true, suppressed };
}

/** Per send, newest first: readers accepted, and readers who bounced, complained… (each counted once). */
export async function countBouncesPerSend(db: Kysely<Tables>): Promise<SendBounceCounts[]> {
  const sends = await db
    .selectFrom('sends as s')
    .select([
      's.id',
      's.article_id',
      (query) =>
        query
          .selectFrom('send_recipients as r')
          .select(sql<string>`count(*)`.as('n'))
          .whereRef('r.send_id', '=', 's.id')
          // 2: sent (the codes of src/send/journal.ts, as tables.ts lists them).
          .where('r.state', '=', 2)
          .as('sent'),
    ])
    .orderBy('s.frozen_at', 'desc')
    .orderBy('s.id', 'desc')
    .execute();
  const events = await db
    .selectFrom('bounce_events')
    .select(['send_id', 'kind', sql<string>`count(distinct idx)`.as('n')])
    .where('send_id', 'is not', null)
    .groupBy(['send_id', 'kind'])
    .execute();
  const count = (sendId: number, kind: string) =>
    Number(events.find((row) => row.send_id === sendId && row.kind === kind)?.n ?? 0);
  return sends.map((send) => ({
    sendId: send.id,
    articleId: send.article_id,
    sent: Number(send.sent ?? 0),
    bounced: count(send.id, 'bounced'),
    softBounced: count(send.id, 'soft'),
    complained: count(send.id, 'complained'),
    unsubscribed: count(send.id, 'unsubscribed'),
    refused: count(send.id, 'refused'),
  }));
}

/** The latest run that recorded anything, and whom it suppressed (addresses only while still known). */
export async function readLatestBounceRun(db: Kysely<Tables>): Promise<BounceRunSummary | undefined> {
  const latest = await db
    .selectFrom('bounce_messages')
    .select(['run', 'decided_at'])
    .orderBy('decided_at', 'desc')
    .orderBy('run', 'desc')
    .limit(1)
    .executeTakeFirst();
  if (latest === undefined) return undefined;
  const messages = await db
    .selectFrom('bounce_messages')
    .select(sql<string>`count(*)`.as('n'))
    .where('run', '=', latest.run)
    .executeTakeFirstOrThrow();
  const suppressed = await db
    .selectFrom('bounce_events as e')
    .innerJoin('bounce_messages as m', 'm.key', 'e.message_key')
    .leftJoin('suppressions as x', 'x.address_hash', 'e.address_hash')
    .select(['e.kind', 'x.address_key'])
    .where('m.run', '=', latest.run)
    .where('e.suppressed', '=', 1)
    .orderBy('e.id')
    .execute();
  const first = await db
    .selectFrom('bounce_messages')
    .select(sql<string>`min(decided_at)`.as('at'))
    .where('run', '=', latest.run)
    .executeTakeFirstOrThrow();
  return {
    run: latest.run,
    at: new Date(first.at),
    messages: Number(messages.n),
    suppressed: suppressed.map((row) => ({
      address: row.address_key ?? undefined,
      status: row.kind === 'soft' ? 'bounced' : row.kind,
    })),
  };
}

/** Migration 2: the record of every decided message, and the events per reader that it caused. */
export async function createBounceTables(db: Kysely<Tables>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  await db.schema
    .createTable('bounce_messages')
    .addColumn('key', 'text', (column) => column.primaryKey())
    .addColumn('message_id', 'text')
    .addColumn('decided_at', 'text', (column) => column.notNull())
    .addColumn('kind', 'text', (column) => column.notNull())
    .addColumn('why', 'text', (column) => column.notNull())
    .addColumn('decision', 'text', (column) => column.notNull())
    .addColumn('folder', 'text', (column) => column.notNull())
    .addColumn('run', 'text', (column) => column.notNull())
    .execute();
  await db.schema
    .createIndex('bounce_messages_run')
    .on('bounce_messages')
    .columns(['decided_at', 'run'])
    .execute();
  await db.schema
    .createTable('bounce_events')
    .addColumn('id', 'integer', (column) =>
      dialect === 'sqlite'
        ? column.primaryKey().autoIncrement()
        : column.primaryKey().generatedByDefaultAsIdentity(),
    )
    .addColumn('message_key', 'text', (column) =>
      column.notNull().references('bounce_messages.key').onDelete('cascade'),
    )
    .addColumn('at', 'text', (column) => column.notNull())
    .addColumn('kind', 'text', (column) => column.notNull())
    .addColumn('send_id', 'integer')
    .addColumn('idx', 'integer')
    // Set null on erasure (forget deletes the subscriber); the counts per send stay right.
    .addColumn('subscriber_id', 'integer', (column) =>
      column.references('subscribers.id').onDelete('set null'),
    )
    .addColumn('address_hash', 'text')
    .addColumn('detail', 'text', (column) => column.notNull())
    .addColumn('suppressed', 'integer', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('bounce_events_message').on('bounce_events').column('message_key').execute();
  await db.schema
    .createIndex('bounce_events_reader')
    .on('bounce_events')
    .columns(['address_hash', 'kind', 'at'])
    .execute();
  await db.schema
    .createIndex('bounce_events_send')
    .on('bounce_events')
    .columns(['send_id', 'kind'])
    .execute();
}
