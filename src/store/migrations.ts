// The store's schema as numbered migrations, applied in order at start. A released migration is never
// edited: a change of schema is a new entry at the end of the list.

import { KurierError } from '../error.ts';
import { type Kysely, sql } from './sql.ts';
import type { Tables } from './tables.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Migration {
  readonly version: number;
  readonly name: string;
  up(db: Kysely<Tables>, dialect: Dialect): Promise<void>;
}

/** An identity column: SQLite's rowid alias, PostgreSQL's standard IDENTITY (int4: ids appear in tokens). */
function identity(db: Kysely<Tables>, dialect: Dialect, table: string) {
  return db.schema
    .createTable(table)
    .addColumn('id', 'integer', (column) =>
      dialect === 'sqlite'
        ? column.primaryKey().autoIncrement()
        : column.primaryKey().generatedByDefaultAsIdentity(),
    );
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'subscribers, consent, suppression, confirmation queue, sends',
    async up(db, dialect) {
      await db.schema
        .createTable('meta')
        .addColumn('key', 'text', (column) => column.primaryKey())
        .addColumn('value', 'text', (column) => column.notNull())
        .execute();
      await identity(db, dialect, 'subscribers')
        .addColumn('typed', 'text', (column) => column.notNull())
        .addColumn('email', 'text', (column) => column.notNull())
        .addColumn('key', 'text', (column) => column.notNull().unique())
        .addColumn('key_hash', 'text', (column) => column.notNull().unique())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('fields', 'text', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('status_cause', 'text', (column) => column.notNull())
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('updated_at', 'text', (column) => column.notNull())
        .execute();
      await db.schema.createIndex('subscribers_status').on('subscribers').columns(['status', 'id']).execute();
      await identity(db, dialect, 'consents')
        .addColumn('subscriber_id', 'integer', (column) =>
          column.notNull().references('subscribers.id').onDelete('cascade'),
        )
        .addColumn('source', 'text', (column) => column.notNull())
        .addColumn('form', 'text', (column) => column.notNull())
        .addColumn('page', 'text', (column) => column.notNull())
        .addColumn('wording', 'text', (column) => column.notNull())
        .addColumn('ip', 'text', (column) => column.notNull())
        .addColumn('user_agent', 'text', (column) => column.notNull())
        .addColumn('requested_at', 'text', (column) => column.notNull())
        .addColumn('confirmed_at', 'text')
        .addColumn('confirm_ip', 'text')
        .addColumn('confirm_user_agent', 'text')
        .execute();
      await db.schema.createIndex('consents_subscriber').on('consents').column('subscriber_id').execute();
      await identity(db, dialect, 'subscriber_events')
        .addColumn('subscriber_id', 'integer', (column) =>
          column.notNull().references('subscribers.id').onDelete('cascade'),
        )
        .addColumn('at', 'text', (column) => column.notNull())
        .addColumn('status', 'text', (column) => column.notNull())
        .addColumn('cause', 'text', (column) => column.notNull())
        .execute();
      await db.schema
        .createIndex('subscriber_events_subscriber')
        .on('subscriber_events')
        .column('subscriber_id')
        .execute();
      await db.schema
        .createTable('suppressions')
        .addColumn('address_hash', 'text', (column) => column.primaryKey())
        .addColumn('address_key', 'text')
        .addColumn('reason', 'text', (column) => column.notNull())
        .addColumn('cause', 'text', (column) => column.notNull())
        .addColumn('detail', 'text')
        .addColumn('created_at', 'text', (column) => column.notNull())
        .execute();
      await identity(db, dialect, 'confirmations')
        .addColumn('subscriber_id', 'integer', (column) =>
          column.notNull().references('subscribers.id').onDelete('cascade'),
        )
        .addColumn('created_at', 'text', (column) => column.notNull())
        .addColumn('state', 'text', (column) => column.notNull())
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_until', 'text')
        .addColumn('attempts', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('sent_at', 'text')
        .addColumn('last_error', 'text')
        .execute();
      await db.schema
        .createIndex('confirmations_state')
        .on('confirmations')
        .columns(['state', 'id'])
        .execute();
      await db.schema
        .createIndex('confirmations_subscriber')
        .on('confirmations')
        .columns(['subscriber_id', 'created_at'])
        .execute();
      await identity(db, dialect, 'sends')
        .addColumn('article_id', 'text', (column) => column.notNull().unique())
        .addColumn('email', 'text', (column) => column.notNull())
        .addColumn('frozen_at', 'text', (column) => column.notNull())
        .addColumn('total', 'integer', (column) => column.notNull())
        .addColumn('lock_owner', 'text')
        .addColumn('lock_until', 'text')
        .execute();
      await db.schema
        .createTable('send_recipients')
        .addColumn('send_id', 'integer', (column) =>
          column.notNull().references('sends.id').onDelete('cascade'),
        )
        .addColumn('idx', 'integer', (column) => column.notNull())
        .addColumn('subscriber_id', 'integer')
        .addColumn('email', 'text', (column) => column.notNull())
        .addColumn('key_hash', 'text', (column) => column.notNull())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('fields', 'text', (column) => column.notNull())
        .addColumn('state', 'smallint', (column) => column.notNull())
        .addColumn('attempts', 'integer', (column) => column.notNull().defaultTo(0))
        .addColumn('claimed_by', 'text')
        .addColumn('code', 'integer')
        .addColumn('response', 'text')
        .addColumn('updated_at', 'text')
        .addPrimaryKeyConstraint('send_recipients_pk', ['send_id', 'idx'])
        .execute();
      // Only the rows still to send, in list order: a claim stays cheap at the end of a million-row send.
      await db.schema
        .createIndex('send_recipients_open')
        .on('send_recipients')
        .columns(['send_id', 'idx'])
        .where(sql.ref('state'), 'in', [0, 4])
        .execute();
    },
  },
];

/** A key for pg_advisory_lock: two servers starting at once apply each migration once. */
const MIGRATION_LOCK = 727_150_409;

export async function runMigrations(db: Kysely<Tables>, dialect: Dialect, now: Date): Promise<void> {
  await db.connection().execute(async (connection) => {
    if (dialect === 'postgres') await sql`select pg_advisory_lock(${MIGRATION_LOCK})`.execute(connection);
    try {
      await connection.schema
        .createTable('schema_migrations')
        .ifNotExists()
        .addColumn('version', 'integer', (column) => column.primaryKey())
        .addColumn('name', 'text', (column) => column.notNull())
        .addColumn('applied_at', 'text', (column) => column.notNull())
        .execute();
      const known = Math.max(...MIGRATIONS.map((migration) => migration.version));
      for (const migration of MIGRATIONS) {
        // SQLite: BEGIN IMMEDIATE takes the write lock first, so a second process waits and then sees the
        // version applied; PostgreSQL: DDL is transactional, and the advisory lock orders the processes.
        await sql.raw(dialect === 'sqlite' ? 'begin immediate' : 'begin').execute(connection);
        try {
          const applied = await connection.selectFrom('schema_migrations').select('version').execute();
          const newest = Math.max(0, ...applied.map((row) => row.version));
          if (newest > known) {
            throw new KurierError(
              'STORE_INVALID',
              `the subscriber database has schema version ${newest}, this Kurier knows up to ${known}; update Kurier on this machine.`,
            );
          }
          if (!applied.some((row) => row.version === migration.version)) {
            await migration.up(connection, dialect);
            await connection
              .insertInto('schema_migrations')
              .values({ version: migration.version, name: migration.name, applied_at: now.toISOString() })
              .execute();
          }
          await sql.raw('commit').execute(connection);
        } catch (error) {
          await sql.raw('rollback').execute(connection);
          throw error;
        }
      }
    } finally {
      if (dialect === 'postgres') await sql`select pg_advisory_unlock(${MIGRATION_LOCK})`.execute(connection);
    }
  });
}
