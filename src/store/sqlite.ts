// The embedded store's driver: better-sqlite3 on a file in the private state folder, imported here only.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { KurierError } from '../error.ts';
import { SqliteDialect } from './sql.ts';

/** Distinct statements kept prepared: the store's queries, and IN lists of a few lengths. */
const PREPARED = 256;

/**
 * Kysely's SQLite driver prepares every query anew; preparing costs more than running a lookup by key (a
 * one-click unsubscribe runs five statements). The same SQL text gets the statement prepared before, unless
 * that one is still being iterated (better-sqlite3 refuses a busy statement).
 */
function cachePrepared(database: Database.Database) {
  const prepared = new Map<string, Database.Statement>();
  return {
    close: () => database.close(),
    prepare(sql: string): Database.Statement {
      const cached = prepared.get(sql);
      if (cached !== undefined && !cached.busy) return cached;
      const statement = database.prepare(sql);
      if (cached === undefined) {
        if (prepared.size >= PREPARED) {
          const oldest = prepared.keys().next();
          if (oldest.done !== true) prepared.delete(oldest.value);
        }
        prepared.set(sql, statement);
      }
      return statement;
    },
  };
}

/**
 * Opens (or creates) the database file. WAL lets the server read while a publish writes; synchronous=FULL
 * fsyncs the WAL on every commit, so an answered unsubscribe or a journalled send state survives a power
 * cut (https://sqlite.org/pragma.html#pragma_synchronous: NORMAL in WAL mode may lose the last commits).
 */
export function createSqliteDialect(file: string): SqliteDialect {
  let database: Database.Database;
  try {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    database = new Database(file);
    database.pragma('journal_mode = WAL');
    database.pragma('synchronous = FULL');
    database.pragma('foreign_keys = ON');
    // Another kurier process (server and publish side by side) holds the write lock for milliseconds.
    database.pragma('busy_timeout = 10000');
  } catch (error) {
    throw new KurierError(
      'STORE_UNAVAILABLE',
      `cannot open the subscriber database (${(error as Error).message}); check that the state folder is writable.`,
      { file, cause: error },
    );
  }
  return new SqliteDialect({ database: cachePrepared(database) });
}
