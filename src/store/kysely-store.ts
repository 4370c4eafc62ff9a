// The Store on Kysely: the same queries for SQLite and PostgreSQL, each intention one transaction.

import { createHmac } from 'node:crypto';
import { parseAddress } from '../address.ts';
import {
  type BounceMessageRecord,
  type BounceRecordOutcome,
  type BounceRunSummary,
  countBouncesPerSend,
  findBounceMessage,
  readLatestBounceRun,
  recordBounceMessage,
  type SendBounceCounts,
} from './bounce-records.ts';
import {
  readLegacyJournal,
  readLegacyMessage,
  readLegacyRecipients,
  readLegacySends,
  readLegacySuppression,
} from './legacy.ts';
import type { Dialect } from './migrations.ts';
import { type Kysely, type Selectable, sql } from './sql.ts';
import {
  type AddOutcome,
  type ClaimBatchOptions,
  type ClaimOptions,
  type ConfirmationJob,
  type ConfirmEvidence,
  type ConfirmOutcome,
  type Counts,
  type ExportRow,
  type ImportRow,
  type ImportSummary,
  type LegacySummary,
  RECIPIENT_STATES,
  type RecipientState,
  type SendInfo,
  type SendInput,
  type SendRecipient,
  type SignUp,
  type StateUpdate,
  type Store,
  type SubscribeOptions,
  type SubscribeOutcome,
  type Subscriber,
  type SubscriberStatus,
  type SuppressionReason,
  type UnsubscribeOutcome,
} from './store.ts';
import type { SendRecipientsTable, SubscribersTable, Tables } from './tables.ts';

type Db = Kysely<Tables>;

const PENDING = 0;
const ATTEMPTING = 1;
const DEFERRED = 4;
const SKIPPED = 5;
/** Rows per statement when copying: well under SQLite's 32,766 and PostgreSQL's 65,535 parameters. */
const CHUNK = 500;
/** A key for pg_advisory_xact_lock: the one-time import of an old state folder runs in one process only. */
const LEGACY_LOCK = 0x6b75_7269;
const PAGE = 1000;
/**
 * Active subscribers per page while a dry run or the outbox renders them. A page lives until its last
 * reader is rendered; at 1,000 rows (30 ms of rendering) it outlived two young-generation collections and
 * was promoted, so the old generation grew by ~60 MiB between full collections (peak 314 MiB for a
 * 1,000,000-reader dry run); at 100 rows it dies young and the heap stays flat (251 MiB).
 */
const ACTIVE_PAGE = 100;
const LEGACY_KEY = 'legacy-state-imported';
/** Followed by the list's name: the hash of the file last imported whole. */
const IMPORTED_KEY = 'list-imported:';

/** An intention waiting for the next SQLite group commit. */
interface Job {
  readonly work: (db: Db) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

interface Outcome {
  readonly index: number;
  readonly state: number;
  readonly code: number | undefined;
  readonly response: string | undefined;
  readonly at: Date;
}

interface Address {
  readonly typed: string;
  readonly email: string;
  readonly key: string;
  readonly hash: string;
}

function parseFields(text: string): Record<string, string> {
  const value = JSON.parse(text) as unknown;
  return typeof value === 'object' && value !== null ? (value as Record<string, string>) : {};
}

function toSubscriber(row: Selectable<SubscribersTable>): Subscriber {
  return {
    id: row.id,
    typed: row.typed,
    email: row.email,
    name: row.name,
    fields: parseFields(row.fields),
    status: row.status as SubscriberStatus,
    statusCause: row.status_cause,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

function toRecipient(row: Selectable<SendRecipientsTable>): SendRecipient {
  return {
    index: row.idx,
    subscriberId: row.subscriber_id,
    email: row.email,
    name: row.name,
    fields: parseFields(row.fields),
    state: RECIPIENT_STATES[row.state] ?? 'pending',
    attempts: row.attempts,
    code: row.code,
    response: row.response,
    updatedAt: row.updated_at === null ? null : new Date(row.updated_at),
  };
}

function stateCode(state: RecipientState): number {
  return RECIPIENT_STATES.indexOf(state);
}

/** A new subscriber row, active from `at`: an import, an add, or a row of a bulk import. */
function activeRow(
  address: { readonly typed: string; readonly email: string; readonly key: string; readonly hash: string },
  row: { readonly name: string; readonly fields: Readonly<Record<string, string>> },
  cause: string,
  at: string,
) {
  return {
    typed: address.typed,
    email: address.email,
    key: address.key,
    key_hash: address.hash,
    name: row.name,
    fields: JSON.stringify(row.fields),
    status: 'active' as const,
    status_cause: cause,
    created_at: at,
    updated_at: at,
  };
}

/** The consent of an import or an add: the list (or the command line) is the source, confirmed at once. */
function importConsent(subscriberId: number, source: string, cause: string, at: string) {
  return {
    subscriber_id: subscriberId,
    source,
    form: cause,
    page: '',
    wording: '',
    ip: '',
    user_agent: '',
    requested_at: at,
    confirmed_at: at,
    confirm_ip: null,
    confirm_user_agent: null,
  };
}

export class KyselyStore implements Store {
  readonly dialect: Dialect;
  readonly #db: Db;
  readonly #salt: string;
  /** SQLite's group commit: intentions waiting for the next transaction, and the one being committed. */
  #pending: Job[] = [];
  #committing: Promise<void> | undefined;

  constructor(db: Db, dialect: Dialect, salt: string) {
    this.#db = db;
    this.dialect = dialect;
    this.#salt = salt;
  }

  /** Salted, so a forgotten address cannot be recovered from its hash by hashing a list of candidates. */
  #hash(key: string): string {
    return createHmac('sha256', this.#salt).update(key).digest('base64url');
  }

  #address(raw: string): Address | undefined {
    const parsed = parseAddress(raw);
    if (!parsed.ok) return undefined;
    return { typed: raw.trim(), email: parsed.address, key: parsed.key, hash: this.#hash(parsed.key) };
  }

  /** The key of any text: an address that does not parse is still blocked by its lowercased text. */
  #looseKey(raw: string): string {
    const parsed = parseAddress(raw);
    return parsed.ok ? parsed.key : raw.trim().toLowerCase();
  }

  /**
   * Each intention is one transaction. PostgreSQL: BEGIN … COMMIT on a pooled connection (the server
   * already flushes concurrent commits together). SQLite: group commit, since its one connection runs one
   * transaction at a time and each commit is an fsync: the intentions that queue up while a commit runs share
   * the next one, each inside a SAVEPOINT of its own, so one that fails is rolled back alone. Each resolves
   * only after the COMMIT (durable). BEGIN IMMEDIATE takes the write lock up front, so two processes never
   * deadlock upgrading a read lock (they wait busy_timeout instead).
   */
  #transact<T>(work: (db: Db) => Promise<T>): Promise<T> {
    if (this.dialect === 'postgres') {
      return this.#db.connection().execute(async (db) => {
        await sql.raw('begin').execute(db);
        try {
          const result = await work(db);
          await sql.raw('commit').execute(db);
          return result;
        } catch (error) {
          await sql.raw('rollback').execute(db);
          throw error;
        }
      });
    }
    return new Promise<T>((resolve, reject) => {
      this.#pending.push({ work, resolve: resolve as (value: unknown) => void, reject });
      this.#committing ??= this.#commitGroups();
    });
  }

  async #commitGroups(): Promise<void> {
    for (;;) {
      // A group starts one turn of the event loop later: the requests that arrived in the same turn join
      // it (measured before: one commit per one-click unsubscribe), and so do those that arrive while the
      // group before is committed on the database thread.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (this.#pending.length === 0) break;
      const group = this.#pending.splice(0);
      // Each statement is a round trip to the database thread: an intention alone needs no savepoint.
      const alone = group.length === 1;
      const outcomes: (() => void)[] = [];
      try {
        await this.#db.connection().execute(async (db) => {
          await sql.raw('begin immediate').execute(db);
          try {
            for (const job of group) {
              if (!alone) await sql.raw('savepoint intention').execute(db);
              try {
                const result = await job.work(db);
                if (!alone) await sql.raw('release intention').execute(db);
                outcomes.push(() => job.resolve(result));
              } catch (error) {
                if (alone) throw error;
                await sql.raw('rollback to intention').execute(db);
                await sql.raw('release intention').execute(db);
                outcomes.push(() => job.reject(error));
              }
            }
            await sql.raw('commit').execute(db);
          } catch (error) {
            await sql.raw('rollback').execute(db);
            throw error;
          }
        });
        for (const settle of outcomes) settle();
      } catch (error) {
        for (const job of group) job.reject(error);
      }
    }
    this.#committing = undefined;
  }

  /**
   * The subscriber's row, locked until the transaction ends on PostgreSQL, so a confirm and an unsubscribe
   * arriving together apply one after the other and the later one wins (SQLite has one writer anyway).
   */
  #lockSubscriber(db: Db, subscriberId: number) {
    return db
      .selectFrom('subscribers')
      .selectAll()
      .where('id', '=', subscriberId)
      .$if(this.dialect === 'postgres', (query) => query.forUpdate())
      .executeTakeFirst();
  }

  async #event(db: Db, subscriberId: number, status: string, cause: string, now: Date): Promise<void> {
    await db
      .insertInto('subscriber_events')
      .values({ subscriber_id: subscriberId, at: now.toISOString(), status, cause })
      .execute();
  }

  async #setStatus(
    db: Db,
    subscriberId: number,
    status: SubscriberStatus,
    cause: string,
    now: Date,
  ): Promise<void> {
    await db
      .updateTable('subscribers')
      .set({ status, status_cause: cause, updated_at: now.toISOString() })
      .where('id', '=', subscriberId)
      .execute();
    await this.#event(db, subscriberId, status, cause, now);
    if (status !== 'pending' && status !== 'active') {
      await db
        .updateTable('confirmations')
        .set({ state: 'cancelled' })
        .where('subscriber_id', '=', subscriberId)
        .where('state', '=', 'queued')
        .execute();
    }
  }

  async #suppressKey(
    db: Db,
    key: string,
    hash: string,
    reason: string,
    cause: string,
    now: Date,
    detail: string | undefined,
  ): Promise<void> {
    await db
      .insertInto('suppressions')
      .values({
        address_hash: hash,
        address_key: key,
        reason,
        cause,
        detail: detail ?? null,
        created_at: now.toISOString(),
      })
      .onConflict((conflict) => conflict.column('address_hash').doNothing())
      .execute();
  }

  async #isSuppressedHash(db: Db, hash: string): Promise<boolean> {
    const row = await db
      .selectFrom('suppressions')
      .select('address_hash')
      .where('address_hash', '=', hash)
      .executeTakeFirst();
    return row !== undefined;
  }

  async #queueConfirmation(db: Db, subscriberId: number, now: Date): Promise<void> {
    await db
      .insertInto('confirmations')
      .values({ subscriber_id: subscriberId, created_at: now.toISOString(), state: 'queued', attempts: 0 })
      .execute();
  }

  async subscribe(signUp: SignUp, now: Date, options: SubscribeOptions): Promise<SubscribeOutcome> {
    const address = this.#address(signUp.address);
    if (address === undefined) return { kind: 'invalid', reason: 'not an email address' };
    const at = now.toISOString();
    return this.#transact(async (db) => {
      // FOR UPDATE on PostgreSQL: a second sign-up of a known address waits here, then sees the mail queued.
      const find = () =>
        db
          .selectFrom('subscribers')
          .selectAll()
          .where('key', '=', address.key)
          .$if(this.dialect === 'postgres', (query) => query.forUpdate())
          .executeTakeFirst();
      let existing = await find();
      let subscriberId: number | undefined;
      if (existing === undefined) {
        // A double-clicked form sends two sign-ups at once. On PostgreSQL the second insert waits for the
        // first's row, does nothing, and takes the path of a known address instead of failing.
        const inserted = await db
          .insertInto('subscribers')
          .values({
            typed: address.typed,
            email: address.email,
            key: address.key,
            key_hash: address.hash,
            name: signUp.name,
            fields: '{}',
            status: 'pending',
            status_cause: 'sign-up form',
            created_at: at,
            updated_at: at,
          })
          .onConflict((conflict) => conflict.doNothing())
          .returning('id')
          .executeTakeFirst();
        if (inserted === undefined) existing = await find();
        else {
          subscriberId = inserted.id;
          await this.#event(db, subscriberId, 'pending', 'sign-up form', now);
        }
      }
      if (existing?.status === 'active') return { kind: 'active', subscriberId: existing.id };
      if (existing !== undefined) {
        subscriberId = existing.id;
        if (signUp.name !== '') {
          await db
            .updateTable('subscribers')
            .set({ name: signUp.name })
            .where('id', '=', subscriberId)
            .execute();
        }
      }
      if (subscriberId === undefined)
        throw new Error(`the sign-up of subscriber key ${address.hash} found no row`);
      const since = new Date(now.getTime() - options.confirmationInterval).toISOString();
      const recent = await db
        .selectFrom('confirmations')
        .select('id')
        .where('subscriber_id', '=', subscriberId)
        .where('created_at', '>', since)
        .where('state', '!=', 'cancelled')
        .executeTakeFirst();
      if (recent !== undefined) return { kind: 'throttled', subscriberId };
      // The consent asked for is the one the mail confirms; a throttled repeat sends no mail and adds none.
      const { evidence } = signUp;
      await db
        .insertInto('consents')
        .values({
          subscriber_id: subscriberId,
          source: 'form',
          form: evidence.form,
          page: evidence.page,
          wording: evidence.wording,
          ip: evidence.ip,
          user_agent: evidence.userAgent,
          requested_at: at,
          confirmed_at: null,
          confirm_ip: null,
          confirm_user_agent: null,
        })
        .execute();
      await this.#queueConfirmation(db, subscriberId, now);
      return { kind: 'queued', subscriberId };
    });
  }

  async confirm(subscriberId: number, evidence: ConfirmEvidence, now: Date): Promise<ConfirmOutcome> {
    return this.#transact(async (db) => {
      const subscriber = await this.#lockSubscriber(db, subscriberId);
      if (subscriber === undefined) return 'unknown';
      if (subscriber.status === 'active') return 'already';
      // Tokens carry whole seconds: a link made in the same second as the status counts as newer.
      const ended = subscriber.status !== 'pending';
      if (
        ended &&
        Math.floor(Date.parse(subscriber.updated_at) / 1000) > evidence.linkIssuedAt.getTime() / 1000
      ) {
        return 'stale';
      }
      const consent = await db
        .selectFrom('consents')
        .select('id')
        .where('subscriber_id', '=', subscriberId)
        .where('source', '=', 'form')
        .where('confirmed_at', 'is', null)
        .orderBy('id', 'desc')
        .executeTakeFirst();
      if (consent !== undefined) {
        await db
          .updateTable('consents')
          .set({
            confirmed_at: now.toISOString(),
            confirm_ip: evidence.ip,
            confirm_user_agent: evidence.userAgent,
          })
          .where('id', '=', consent.id)
          .execute();
      }
      // The owner of the mailbox asked again and proved it: that outranks an earlier unsubscribe or bounce.
      await db.deleteFrom('suppressions').where('address_hash', '=', subscriber.key_hash).execute();
      await this.#setStatus(db, subscriberId, 'active', 'confirmed (double opt-in)', now);
      await db
        .updateTable('confirmations')
        .set({ state: 'cancelled' })
        .where('subscriber_id', '=', subscriberId)
        .where('state', '=', 'queued')
        .execute();
      return 'confirmed';
    });
  }

  async unsubscribe(subscriberId: number, cause: string, now: Date): Promise<UnsubscribeOutcome> {
    return this.#transact(async (db) => {
      const subscriber = await this.#lockSubscriber(db, subscriberId);
      if (subscriber === undefined) return 'unknown';
      await this.#suppressKey(db, subscriber.key, subscriber.key_hash, 'unsubscribed', cause, now, undefined);
      if (subscriber.status !== 'active' && subscriber.status !== 'pending') return 'already';
      await this.#setStatus(db, subscriberId, 'unsubscribed', cause, now);
      return 'unsubscribed';
    });
  }

  async suppress(
    address: string,
    reason: SuppressionReason,
    cause: string,
    now: Date,
    detail?: string,
  ): Promise<void> {
    const key = this.#looseKey(address);
    const hash = this.#hash(key);
    await this.#transact(async (db) => {
      await this.#suppressKey(db, key, hash, reason, cause, now, detail);
      const subscriber = await db
        .selectFrom('subscribers')
        .select(['id', 'status'])
        .where('key', '=', key)
        .executeTakeFirst();
      if (subscriber !== undefined && subscriber.status !== reason) {
        await this.#setStatus(db, subscriber.id, reason, cause, now);
      }
    });
  }

  /** One row of an import (or `add`): never re-activates what was ended. */
  async #importRow(
    db: Db,
    row: ImportRow,
    source: string,
    cause: string,
    now: Date,
  ): Promise<AddOutcome | 'suppressed'> {
    const address = this.#address(row.address);
    if (address === undefined) return 'invalid';
    const existing = await db
      .selectFrom('subscribers')
      .selectAll()
      .where('key', '=', address.key)
      .executeTakeFirst();
    if (row.status !== 'active') {
      const reason = row.status;
      await this.#suppressKey(db, address.key, address.hash, reason, cause, now, undefined);
      if (existing !== undefined && (existing.status === 'active' || existing.status === 'pending')) {
        await this.#setStatus(db, existing.id, reason, cause, now);
      }
      return 'suppressed';
    }
    if (existing?.status === 'active') return 'already';
    if (existing !== undefined && existing.status !== 'pending') return 'refused';
    if (await this.#isSuppressedHash(db, address.hash)) return 'refused';
    if (existing === undefined) {
      await this.#insertActive(db, [{ row, address }], source, cause, now);
      return 'added';
    }
    await db
      .updateTable('subscribers')
      .set({
        name: row.name === '' ? existing.name : row.name,
        fields: JSON.stringify({ ...parseFields(existing.fields), ...row.fields }),
      })
      .where('id', '=', existing.id)
      .execute();
    await this.#setStatus(db, existing.id, 'active', cause, now);
    await db
      .insertInto('consents')
      .values(importConsent(existing.id, source, cause, now.toISOString()))
      .execute();
    return 'activated';
  }

  async importRows(rows: readonly ImportRow[], source: string, now: Date): Promise<ImportSummary> {
    const summary = { added: 0, activated: 0, unchanged: 0, refused: 0, suppressed: 0, invalid: 0 };
    const cause = `import ${source}`;
    await this.#transact(async (db) => {
      for (let start = 0; start < rows.length; start += CHUNK) {
        const chunk = rows.slice(start, start + CHUNK);
        // The common case of a big list, in three statements per chunk: active rows of addresses the store
        // has never seen. Everything else (a known address, a status to apply) takes the careful path.
        const parsed = chunk.map((row) => ({ row, address: this.#address(row.address) }));
        const keys = parsed.flatMap((item) => (item.address === undefined ? [] : [item.address.key]));
        const hashes = parsed.flatMap((item) => (item.address === undefined ? [] : [item.address.hash]));
        const known = new Map(
          keys.length === 0
            ? []
            : (
                await db
                  .selectFrom('subscribers')
                  .select(['key', 'status'])
                  .where('key', 'in', keys)
                  .execute()
              ).map((row) => [row.key, row.status]),
        );
        const suppressed = new Set(
          hashes.length === 0
            ? []
            : (
                await db
                  .selectFrom('suppressions')
                  .select('address_hash')
                  .where('address_hash', 'in', hashes)
                  .execute()
              ).map((row) => row.address_hash),
        );
        const fresh: { row: ImportRow; address: Address }[] = [];
        const careful: ImportRow[] = [];
        const seen = new Set<string>();
        for (const { row, address } of parsed) {
          if (address === undefined) {
            summary.invalid += 1;
            continue;
          }
          const status = known.get(address.key);
          // A list imported again is mostly addresses already active: nothing to write for them; and an
          // address that left stays out (both as #importRow decides them, without a query each).
          if (row.status === 'active' && status === 'active') summary.unchanged += 1;
          else if (row.status === 'active' && status !== undefined && status !== 'pending')
            summary.refused += 1;
          else if (row.status === 'active' && status === undefined && !seen.has(address.key)) {
            seen.add(address.key);
            if (suppressed.has(address.hash)) summary.refused += 1;
            else fresh.push({ row, address });
          } else careful.push(row);
        }
        await this.#insertActive(db, fresh, 'import', cause, now);
        summary.added += fresh.length;
        for (const row of careful) {
          const outcome = await this.#importRow(db, row, 'import', cause, now);
          if (outcome === 'already') summary.unchanged += 1;
          else summary[outcome] += 1;
        }
      }
    });
    return summary;
  }

  /** New active subscribers with the import as their consent: one INSERT each for subscribers, consents, events. */
  async #insertActive(
    db: Db,
    rows: readonly { row: ImportRow; address: Address }[],
    source: string,
    cause: string,
    now: Date,
  ): Promise<void> {
    if (rows.length === 0) return;
    const at = now.toISOString();
    const inserted = await db
      .insertInto('subscribers')
      .values(rows.map(({ row, address }) => activeRow(address, row, cause, at)))
      .returning('id')
      .execute();
    await db
      .insertInto('consents')
      .values(inserted.map(({ id }) => importConsent(id, source, cause, at)))
      .execute();
    await db
      .insertInto('subscriber_events')
      .values(inserted.map(({ id }) => ({ subscriber_id: id, at, status: 'active', cause })))
      .execute();
  }

  async readImportedHash(source: string): Promise<string | undefined> {
    const row = await this.#db
      .selectFrom('meta')
      .select('value')
      .where('key', '=', `${IMPORTED_KEY}${source}`)
      .executeTakeFirst();
    return row?.value;
  }

  async recordImportedHash(source: string, hash: string): Promise<void> {
    await this.#transact(async (db) => {
      await db
        .insertInto('meta')
        .values({ key: `${IMPORTED_KEY}${source}`, value: hash })
        .onConflict((conflict) => conflict.column('key').doUpdateSet({ value: hash }))
        .execute();
    });
  }

  async add(row: Omit<ImportRow, 'status'>, cause: string, now: Date): Promise<AddOutcome> {
    const outcome = await this.#transact((db) =>
      this.#importRow(db, { ...row, status: 'active' }, 'cli', cause, now),
    );
    return outcome === 'suppressed' ? 'refused' : outcome;
  }

  async remove(address: string, cause: string, now: Date): Promise<boolean> {
    const subscriber = await this.findSubscriber(address);
    if (subscriber === undefined) return false;
    await this.unsubscribe(subscriber.id, cause, now);
    return true;
  }

  async forget(address: string, now: Date): Promise<boolean> {
    const key = this.#looseKey(address);
    const hash = this.#hash(key);
    return this.#transact(async (db) => {
      const deleted = await db.deleteFrom('subscribers').where('key', '=', key).executeTakeFirst();
      const scrubbed = await db
        .updateTable('send_recipients')
        .set({
          email: '',
          name: '',
          fields: '{}',
          subscriber_id: null,
          response: null,
          state: sql<number>`case when state in (${PENDING}, ${DEFERRED}) then ${SKIPPED} else state end`,
        })
        .where('key_hash', '=', hash)
        .executeTakeFirst();
      const known = await db
        .selectFrom('suppressions')
        .select('address_key')
        .where('address_hash', '=', hash)
        .executeTakeFirst();
      if (known === undefined) {
        await db
          .insertInto('suppressions')
          .values({
            address_hash: hash,
            address_key: null,
            reason: 'forgotten',
            cause: 'erasure request',
            detail: null,
            created_at: now.toISOString(),
          })
          .execute();
      } else {
        await db
          .updateTable('suppressions')
          .set({ address_key: null, detail: null })
          .where('address_hash', '=', hash)
          .execute();
      }
      return (
        Number(deleted.numDeletedRows) > 0 ||
        Number(scrubbed.numUpdatedRows) > 0 ||
        (known !== undefined && known.address_key !== null)
      );
    });
  }

  async findSubscriber(address: string): Promise<Subscriber | undefined> {
    const row = await this.#db
      .selectFrom('subscribers')
      .selectAll()
      .where('key', '=', this.#looseKey(address))
      .executeTakeFirst();
    return row === undefined ? undefined : toSubscriber(row);
  }

  async getSubscriber(id: number): Promise<Subscriber | undefined> {
    const row = await this.#db.selectFrom('subscribers').selectAll().where('id', '=', id).executeTakeFirst();
    return row === undefined ? undefined : toSubscriber(row);
  }

  async isSuppressed(address: string): Promise<boolean> {
    return this.#isSuppressedHash(this.#db, this.#hash(this.#looseKey(address)));
  }

  async *activeSubscribers(): AsyncGenerator<readonly Subscriber[]> {
    for await (const rows of this.#subscriberPages('active', ACTIVE_PAGE)) yield rows.map(toSubscriber);
  }

  /** Subscribers in id order, a page at a time (keyset: no OFFSET that grows with the list). */
  async *#subscriberPages(
    status: SubscriberStatus | undefined,
    size: number,
  ): AsyncGenerator<readonly Selectable<SubscribersTable>[]> {
    let after = 0;
    for (;;) {
      const rows = await this.#db
        .selectFrom('subscribers')
        .selectAll()
        .where('id', '>', after)
        .$if(status !== undefined, (query) => query.where('status', '=', status ?? 'active'))
        .orderBy('id')
        .limit(size)
        .execute();
      if (rows.length === 0) return;
      after = rows.at(-1)?.id ?? after;
      yield rows;
    }
  }

  async *exportSubscribers(status?: SubscriberStatus): AsyncGenerator<readonly ExportRow[]> {
    for await (const rows of this.#subscriberPages(status, PAGE)) {
      const consents = await this.#db
        .selectFrom('consents')
        .selectAll()
        .where(
          'subscriber_id',
          'in',
          rows.map((row) => row.id),
        )
        .orderBy('id')
        .execute();
      const latest = new Map(consents.map((consent) => [consent.subscriber_id, consent]));
      yield rows.map((row) => {
        const consent = latest.get(row.id);
        return {
          email: row.email,
          typed: row.typed,
          name: row.name,
          fields: parseFields(row.fields),
          status: row.status as SubscriberStatus,
          statusCause: row.status_cause,
          createdAt: row.created_at,
          updatedAt: row.updated_at,
          consentSource: consent?.source ?? '',
          consentForm: consent?.form ?? '',
          consentPage: consent?.page ?? '',
          consentWording: consent?.wording ?? '',
          consentIp: consent?.ip ?? '',
          consentUserAgent: consent?.user_agent ?? '',
          consentRequestedAt: consent?.requested_at ?? '',
          consentConfirmedAt: consent?.confirmed_at ?? '',
          confirmIp: consent?.confirm_ip ?? '',
          confirmUserAgent: consent?.confirm_user_agent ?? '',
        };
      });
    }
  }

  async counts(): Promise<Counts> {
    const rows = await this.#db
      .selectFrom('subscribers')
      .select(['status', sql<string>`count(*)`.as('n')])
      .groupBy('status')
      .execute();
    const suppressed = await this.#db
      .selectFrom('suppressions')
      .select(sql<string>`count(*)`.as('n'))
      .executeTakeFirstOrThrow();
    const counts = { pending: 0, active: 0, unsubscribed: 0, bounced: 0, complained: 0 };
    for (const row of rows) counts[row.status as SubscriberStatus] = Number(row.n);
    return { ...counts, suppressed: Number(suppressed.n) };
  }

  async claimConfirmations(options: ClaimOptions): Promise<ConfirmationJob[]> {
    const at = options.now.toISOString();
    return this.#transact(async (db) => {
      const due = await db
        .selectFrom('confirmations')
        .select('id')
        .where('state', '=', 'queued')
        .where((where) => where.or([where('claimed_until', 'is', null), where('claimed_until', '<', at)]))
        .orderBy('id')
        .limit(options.limit)
        // Two servers claiming at once on PostgreSQL: each takes rows the other has not locked (SQLite has
        // one writer at a time anyway).
        .$if(this.dialect === 'postgres', (query) => query.forUpdate().skipLocked())
        .execute();
      if (due.length === 0) return [];
      const ids = due.map((row) => row.id);
      await db
        .updateTable('confirmations')
        .set({
          claimed_by: options.owner,
          claimed_until: new Date(options.now.getTime() + options.leaseMs).toISOString(),
          attempts: sql<number>`attempts + 1`,
        })
        .where('id', 'in', ids)
        .execute();
      const jobs = await db
        .selectFrom('confirmations')
        .innerJoin('subscribers', 'subscribers.id', 'confirmations.subscriber_id')
        .select([
          'confirmations.id as id',
          'confirmations.subscriber_id as subscriberId',
          'confirmations.attempts as attempts',
          'subscribers.email as email',
          'subscribers.name as name',
        ])
        .where('confirmations.id', 'in', ids)
        .orderBy('confirmations.id')
        .execute();
      return jobs;
    });
  }

  async markConfirmationSent(id: number, now: Date): Promise<void> {
    await this.#transact(async (db) => {
      await db
        .updateTable('confirmations')
        .set({ state: 'sent', sent_at: now.toISOString(), last_error: null })
        .where('id', '=', id)
        .execute();
    });
  }

  async markConfirmationFailed(id: number, error: string, retryAt: Date, giveUp: boolean): Promise<void> {
    await this.#transact(async (db) => {
      await db
        .updateTable('confirmations')
        .set({
          state: giveUp ? 'failed' : 'queued',
          claimed_until: retryAt.toISOString(),
          last_error: error.slice(0, 500),
        })
        .where('id', '=', id)
        .execute();
    });
  }

  async countQueuedConfirmations(): Promise<number> {
    const row = await this.#db
      .selectFrom('confirmations')
      .select(sql<string>`count(*)`.as('n'))
      .where('state', '=', 'queued')
      .executeTakeFirstOrThrow();
    return Number(row.n);
  }

  #toSend(row: Selectable<Tables['sends']>): SendInfo {
    return {
      id: row.id,
      articleId: row.article_id,
      email: JSON.parse(row.email) as unknown,
      frozenAt: new Date(row.frozen_at),
      total: row.total,
    };
  }

  async createSend(input: SendInput): Promise<{ send: SendInfo; created: boolean }> {
    return this.#transact(async (db) => {
      const existing = await db
        .selectFrom('sends')
        .selectAll()
        .where('article_id', '=', input.articleId)
        .executeTakeFirst();
      if (existing !== undefined) return { send: this.#toSend(existing), created: false };
      const { id } = await db
        .insertInto('sends')
        .values({
          article_id: input.articleId,
          email: JSON.stringify(input.email),
          frozen_at: input.frozenAt.toISOString(),
          total: 0,
          lock_owner: null,
          lock_until: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      await db
        .insertInto('send_recipients')
        .columns([
          'send_id',
          'idx',
          'subscriber_id',
          'email',
          'key_hash',
          'name',
          'fields',
          'state',
          'attempts',
        ])
        .expression(
          db
            .selectFrom('subscribers as s')
            .select([
              sql<number>`${id}`.as('send_id'),
              sql<number>`row_number() over (order by s.id) - 1`.as('idx'),
              's.id',
              's.email',
              's.key_hash',
              's.name',
              's.fields',
              sql<number>`${PENDING}`.as('state'),
              sql<number>`0`.as('attempts'),
            ])
            .where('s.status', '=', 'active')
            .where((where) =>
              where.not(
                where.exists(
                  where
                    .selectFrom('suppressions as x')
                    .select('x.address_hash')
                    .whereRef('x.address_hash', '=', 's.key_hash'),
                ),
              ),
            ),
        )
        .execute();
      const count = await db
        .selectFrom('send_recipients')
        .select(sql<string>`count(*)`.as('n'))
        .where('send_id', '=', id)
        .executeTakeFirstOrThrow();
      const row = await db
        .updateTable('sends')
        .set({ total: Number(count.n) })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      return { send: this.#toSend(row), created: true };
    });
  }

  async readSend(articleId: string): Promise<SendInfo | undefined> {
    const row = await this.#db
      .selectFrom('sends')
      .selectAll()
      .where('article_id', '=', articleId)
      .executeTakeFirst();
    return row === undefined ? undefined : this.#toSend(row);
  }

  async listSends(): Promise<SendInfo[]> {
    const rows = await this.#db.selectFrom('sends').selectAll().orderBy('id').execute();
    return rows.map((row) => this.#toSend(row));
  }

  async readRecipients(sendId: number, fromIndex: number, limit: number): Promise<SendRecipient[]> {
    const rows = await this.#db
      .selectFrom('send_recipients')
      .selectAll()
      .where('send_id', '=', sendId)
      .where('idx', '>=', fromIndex)
      .orderBy('idx')
      .limit(limit)
      .execute();
    return rows.map(toRecipient);
  }

  async lockSend(sendId: number, owner: string, now: Date, ttlMs: number): Promise<boolean> {
    const at = now.toISOString();
    return this.#transact(async (db) => {
      const result = await db
        .updateTable('sends')
        .set({ lock_owner: owner, lock_until: new Date(now.getTime() + ttlMs).toISOString() })
        .where('id', '=', sendId)
        .where((where) =>
          where.or([
            where('lock_owner', 'is', null),
            where('lock_owner', '=', owner),
            where('lock_until', '<', at),
          ]),
        )
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  async readSendLock(sendId: number): Promise<{ owner: string; until: Date } | undefined> {
    const row = await this.#db
      .selectFrom('sends')
      .select(['lock_owner', 'lock_until'])
      .where('id', '=', sendId)
      .executeTakeFirst();
    if (row?.lock_owner == null || row.lock_until == null) return undefined;
    return { owner: row.lock_owner, until: new Date(row.lock_until) };
  }

  async takeOverSendLock(
    sendId: number,
    staleOwner: string,
    owner: string,
    now: Date,
    ttlMs: number,
  ): Promise<boolean> {
    return this.#transact(async (db) => {
      const result = await db
        .updateTable('sends')
        .set({ lock_owner: owner, lock_until: new Date(now.getTime() + ttlMs).toISOString() })
        .where('id', '=', sendId)
        .where('lock_owner', '=', staleOwner)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    });
  }

  async unlockSend(sendId: number, owner: string): Promise<void> {
    await this.#transact(async (db) => {
      await db
        .updateTable('sends')
        .set({ lock_owner: null, lock_until: null })
        .where('id', '=', sendId)
        .where('lock_owner', '=', owner)
        .execute();
    });
  }

  async recoverInFlight(
    sendId: number,
    owner: string,
    policy: 'resend' | 'skip',
    now: Date,
  ): Promise<number> {
    return this.#transact(async (db) => {
      const unknown = db
        .selectFrom('send_recipients')
        .select(sql<string>`count(*)`.as('n'))
        .where('send_id', '=', sendId)
        .where('state', '=', ATTEMPTING)
        .where((where) => where.or([where('claimed_by', 'is', null), where('claimed_by', '!=', owner)]));
      const { n } = await unknown.executeTakeFirstOrThrow();
      if (policy === 'resend' && Number(n) > 0) {
        await db
          .updateTable('send_recipients')
          .set({
            state: PENDING,
            response: 'outcome unknown (run stopped in flight): sending again',
            updated_at: now.toISOString(),
          })
          .where('send_id', '=', sendId)
          .where('state', '=', ATTEMPTING)
          .where((where) => where.or([where('claimed_by', 'is', null), where('claimed_by', '!=', owner)]))
          .execute();
      }
      return Number(n);
    });
  }

  async claimBatch(sendId: number, options: ClaimBatchOptions): Promise<SendRecipient[]> {
    const at = options.now.toISOString();
    return this.#transact(async (db) => {
      for (;;) {
        const candidates = await db
          .selectFrom('send_recipients as r')
          .select([
            'r.idx',
            (select) =>
              select
                .exists(
                  select
                    .selectFrom('suppressions as x')
                    .select('x.address_hash')
                    .whereRef('x.address_hash', '=', 'r.key_hash'),
                )
                .as('suppressed'),
          ])
          .where('r.send_id', '=', sendId)
          // Literal, not bound: only then can SQLite prove the partial index send_recipients_open applies
          // (https://sqlite.org/partialindex.html §2.1); with parameters every claim scanned the sent rows.
          .where(sql<boolean>`r.state in (${sql.raw(String(PENDING))}, ${sql.raw(String(DEFERRED))})`)
          .where((where) =>
            where.or([
              where('r.state', '=', PENDING),
              where('r.claimed_by', 'is', null),
              where('r.claimed_by', '!=', options.owner),
            ]),
          )
          .orderBy('r.idx')
          .limit(options.limit)
          .$if(this.dialect === 'postgres', (query) => query.forUpdate('r').skipLocked())
          .execute();
        if (candidates.length === 0) return [];
        // SQLite answers EXISTS with 0/1, PostgreSQL with a boolean.
        const suppressed = candidates.filter((row) => Boolean(row.suppressed)).map((row) => row.idx);
        const open = candidates.filter((row) => !row.suppressed).map((row) => row.idx);
        if (suppressed.length > 0) {
          await db
            .updateTable('send_recipients')
            .set({ state: SKIPPED, response: 'on the suppression list', updated_at: at })
            .where('send_id', '=', sendId)
            .where('idx', 'in', suppressed)
            .execute();
        }
        if (open.length > 0) {
          const rows = await db
            .updateTable('send_recipients')
            .set({
              state: ATTEMPTING,
              claimed_by: options.owner,
              attempts: sql<number>`attempts + 1`,
              updated_at: at,
            })
            .where('send_id', '=', sendId)
            .where('idx', 'in', open)
            .returningAll()
            .execute();
          return rows.map(toRecipient).sort((a, b) => a.index - b.index);
        }
      }
    });
  }

  async markStates(sendId: number, updates: readonly StateUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    // The last update of a recipient within the group wins, as it would one by one.
    const last = new Map(updates.map((update) => [update.index, update]));
    const rows = [...last.values()].map((update) => ({
      index: update.index,
      state: stateCode(update.state),
      code: update.code,
      response: update.response,
      at: update.at,
    }));
    await this.#transact(async (db) => {
      for (let start = 0; start < rows.length; start += CHUNK) {
        await this.#writeOutcomes(db, sendId, rows.slice(start, start + CHUNK));
      }
    });
  }

  /**
   * Many recipients' outcomes in one statement, so a group of hundreds costs one round trip (to the server,
   * or to SQLite's thread), not hundreds. PostgreSQL joins a VALUES list by index. SQLite's UPDATE … FROM
   * over a VALUES list scanned the send's rows for each (~30 times slower than one UPDATE per row); CASE
   * over the index keeps the lookup by primary key (idx IN …) and picks each row's values.
   */
  async #writeOutcomes(db: Db, sendId: number, rows: readonly Outcome[]): Promise<void> {
    if (rows.length === 0) return;
    if (this.dialect === 'sqlite') {
      const pick = (value: (row: Outcome) => number | string | null) =>
        sql`case idx ${sql.join(
          rows.map((row) => sql`when ${row.index} then ${value(row)}`),
          sql` `,
        )} end`;
      await sql`update send_recipients set state = ${pick((row) => row.state)},
        code = ${pick((row) => row.code ?? null)}, response = ${pick((row) => row.response ?? null)},
        updated_at = ${pick((row) => row.at.toISOString())}
        where send_id = ${sendId} and idx in (${sql.join(rows.map((row) => row.index))})`.execute(db);
      return;
    }
    const values = rows.map(
      (row) =>
        sql`(cast(${row.index} as integer), cast(${row.state} as smallint), cast(${row.code ?? null} as integer), cast(${row.response ?? null} as text), cast(${row.at.toISOString()} as text))`,
    );
    await sql`with v(i, s, c, r, t) as (values ${sql.join(values)})
      update send_recipients set state = v.s, code = v.c, response = v.r, updated_at = v.t
      from v where send_recipients.send_id = ${sendId} and send_recipients.idx = v.i`.execute(db);
  }

  async countStates(sendId: number): Promise<Record<RecipientState, number>> {
    const rows = await this.#db
      .selectFrom('send_recipients')
      .select(['state', sql<string>`count(*)`.as('n')])
      .where('send_id', '=', sendId)
      .groupBy('state')
      .execute();
    const counts = Object.fromEntries(RECIPIENT_STATES.map((state) => [state, 0])) as Record<
      RecipientState,
      number
    >;
    for (const row of rows) {
      const state = RECIPIENT_STATES[row.state];
      if (state !== undefined) counts[state] = Number(row.n);
    }
    return counts;
  }

  async migrateLegacyState(stateDir: string, now: Date): Promise<LegacySummary> {
    const summary = { migrated: false, suppressed: 0, sends: 0, recipients: 0 };
    const done = await this.#db
      .selectFrom('meta')
      .select('value')
      .where('key', '=', LEGACY_KEY)
      .executeTakeFirst();
    if (done !== undefined) return summary;
    const sends = await readLegacySends(stateDir);
    return this.#transact(async (db) => {
      // PostgreSQL: two processes starting at once would both find no mark (read committed) and both
      // import; the second waits here until the first commits, then sees its mark (found by a test of two
      // servers starting together: "duplicate key … meta_pkey"). SQLite's BEGIN IMMEDIATE orders them already.
      if (this.dialect === 'postgres') await sql`select pg_advisory_xact_lock(${LEGACY_LOCK})`.execute(db);
      // Checked again inside the transaction: a second process may have imported meanwhile.
      const again = await db
        .selectFrom('meta')
        .select('value')
        .where('key', '=', LEGACY_KEY)
        .executeTakeFirst();
      if (again !== undefined) return summary;
      for await (const entry of readLegacySuppression(stateDir)) {
        const key = this.#looseKey(entry.email);
        const at = entry.at === undefined || Number.isNaN(Date.parse(entry.at)) ? now : new Date(entry.at);
        await this.#suppressKey(
          db,
          key,
          this.#hash(key),
          entry.reason,
          `suppressed.jsonl line ${entry.line}`,
          at,
          entry.detail,
        );
        const subscriber = await db
          .selectFrom('subscribers')
          .select(['id', 'status'])
          .where('key', '=', key)
          .executeTakeFirst();
        if (subscriber !== undefined && (subscriber.status === 'active' || subscriber.status === 'pending')) {
          await this.#setStatus(db, subscriber.id, entry.reason, `suppressed.jsonl line ${entry.line}`, at);
        }
        summary.suppressed += 1;
      }
      for (const legacy of sends) {
        const existing = await db
          .selectFrom('sends')
          .select('id')
          .where('article_id', '=', legacy.meta.articleId)
          .executeTakeFirst();
        if (existing !== undefined) continue;
        summary.recipients += await this.#importLegacySend(db, legacy.dir, legacy.meta);
        summary.sends += 1;
      }
      await db.insertInto('meta').values({ key: LEGACY_KEY, value: now.toISOString() }).execute();
      summary.migrated = true;
      return summary;
    });
  }

  async #importLegacySend(
    db: Db,
    dir: string,
    meta: { articleId: string; frozenAt: string; total: number },
  ): Promise<number> {
    const { total } = meta;
    // The journal replayed onto one byte per recipient (the last record wins), and the line of that record.
    const states = new Uint8Array(total);
    const lastLine = new Uint32Array(total);
    for await (const record of readLegacyJournal(dir, total)) {
      states[record.i] = stateCode(record.s);
      lastLine[record.i] = record.line;
    }
    const { id } = await db
      .insertInto('sends')
      .values({
        article_id: meta.articleId,
        // The message the old send froze (message.json), when it had one; without it, publish renders the
        // email again from the article, as the old version did then.
        email: JSON.stringify((await readLegacyMessage(dir)) ?? { legacy: meta }),
        frozen_at: meta.frozenAt,
        total,
        lock_owner: null,
        lock_until: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    let index = 0;
    let chunk: Tables['send_recipients'][] = [];
    const flush = async () => {
      if (chunk.length > 0) await db.insertInto('send_recipients').values(chunk).execute();
      chunk = [];
    };
    for await (const recipient of readLegacyRecipients(dir)) {
      const key = this.#looseKey(recipient.email);
      const state = states[index] ?? PENDING;
      chunk.push({
        send_id: id,
        idx: index,
        subscriber_id: null,
        email: recipient.email,
        key_hash: this.#hash(key),
        name: recipient.name,
        fields: JSON.stringify(recipient.fields),
        state,
        attempts: state === PENDING ? 0 : 1,
        // An attempt of the old run: its outcome is unknown to every new run (recoverInFlight).
        claimed_by: state === ATTEMPTING ? 'legacy' : null,
        code: null,
        response: null,
        updated_at: null,
      });
      index += 1;
      if (chunk.length === CHUNK) await flush();
    }
    await flush();
    let finals: Outcome[] = [];
    const flushFinals = async () => {
      await this.#writeOutcomes(db, id, finals);
      finals = [];
    };
    for await (const record of readLegacyJournal(dir, total)) {
      if (lastLine[record.i] !== record.line) continue;
      finals.push({
        index: record.i,
        state: stateCode(record.s),
        code: record.c,
        response: record.r,
        at: new Date(record.t),
      });
      if (finals.length === CHUNK) await flushFinals();
    }
    await flushFinals();
    return index;
  }

  async findBounceMessage(key: string): Promise<{ key: string; folder: string } | undefined> {
    return findBounceMessage(this.#db, key);
  }

  async recordBounceMessage(record: BounceMessageRecord): Promise<BounceRecordOutcome> {
    return this.#transact((db) =>
      recordBounceMessage(
        {
          db,
          dialect: this.dialect,
          looseKey: (raw) => this.#looseKey(raw),
          hash: (key) => this.#hash(key),
          setStatus: (id, status, cause, now) => this.#setStatus(db, id, status, cause, now),
        },
        record,
      ),
    );
  }

  async countBouncesPerSend(): Promise<SendBounceCounts[]> {
    return countBouncesPerSend(this.#db);
  }

  async readLatestBounceRun(): Promise<BounceRunSummary | undefined> {
    return readLatestBounceRun(this.#db);
  }

  async close(): Promise<void> {
    await this.#db.destroy();
  }
}
