// The embedded store's driver: better-sqlite3 on a file in the private state folder, imported here only.
// It runs on a thread of its own (sqlite-worker.ts); the store talks to it through sqlite-thread.ts.

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { KurierError } from '../error.ts';

/** Distinct statements kept prepared: the store's queries, and IN lists of a few lengths. */
const PREPARED = 256;

export interface SqliteQuery {
  readonly sql: string;
  readonly parameters: readonly unknown[];
}

/** What a statement gave: rows for a query that returns any, the changes for one that does not. */
export type SqliteAnswer =
  | { readonly rows: unknown[] }
  | { readonly changes: number | bigint; readonly lastInsertRowid: number | bigint }
  | { readonly error: { readonly message: string; readonly code: string | undefined } };

export interface SqliteConnection {
  run(query: SqliteQuery): SqliteAnswer;
  close(): void;
}

/**
 * Opens (or creates) the database file. WAL lets the server read while a publish writes; synchronous=FULL
 * fsyncs the WAL on every commit, so an answered unsubscribe or a journalled send state survives a power
 * cut (https://sqlite.org/pragma.html#pragma_synchronous: NORMAL in WAL mode may lose the last commits).
 */
export function openSqliteConnection(file: string): SqliteConnection {
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
  // Preparing costs more than running a lookup by key (a one-click unsubscribe runs five statements), so
  // the same SQL text gets the statement prepared before.
  const prepared = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    const cached = prepared.get(sql);
    if (cached !== undefined) return cached;
    const statement = database.prepare(sql);
    if (prepared.size >= PREPARED) {
      const oldest = prepared.keys().next();
      if (oldest.done !== true) prepared.delete(oldest.value);
    }
    prepared.set(sql, statement);
    return statement;
  };
  return {
    run(query) {
      try {
        const statement = prepare(query.sql);
        if (statement.reader) return { rows: statement.all(...query.parameters) };
        const { changes, lastInsertRowid } = statement.run(...query.parameters);
        return { changes, lastInsertRowid };
      } catch (error) {
        // Errors do not cross threads whole: their message and SQLite's code do.
        return { error: { message: (error as Error).message, code: (error as { code?: string }).code } };
      }
    },
    close: () => database.close(),
  };
}
