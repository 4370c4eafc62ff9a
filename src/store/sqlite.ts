// The embedded store's driver: better-sqlite3 on a file in the private state folder, imported here only.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { KurierError } from '../error.ts';
import { SqliteDialect } from './sql.ts';

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
  return new SqliteDialect({ database });
}
