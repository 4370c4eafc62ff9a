// The embedded store's connection as a Kysely dialect whose statements run on a worker thread
// (sqlite-worker.ts). better-sqlite3 is synchronous and every commit is an fsync: on the main thread each
// commit stopped the event loop for its duration (1.8 ms here), so a send's SMTP replies and the server's
// requests waited for the disk. On the worker the disk is waited for beside them.

import type { Worker } from 'node:worker_threads';
import { deserializeError, type SerializedError, startWorker } from '../threads.ts';
import {
  CompiledQuery,
  type DatabaseConnection,
  type Driver,
  type Kysely,
  type QueryDialect,
  type QueryResult,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
} from './sql.ts';
import type { SqliteAnswer, SqliteQuery } from './sqlite.ts';

type Answer = SqliteAnswer | { readonly failed: SerializedError };

/** The worker, asked one statement at a time; it answers in order. */
class SqliteThread {
  readonly #worker: Worker;
  readonly #waiting: { resolve: (answer: Answer) => void; reject: (error: Error) => void }[] = [];
  #failure: Error | undefined;

  constructor(file: string) {
    // Its garbage is a page of rows at a time: a small young generation keeps the thread's memory small
    // (V8's default lets it grow to tens of MiB, next to the main thread's own).
    this.#worker = startWorker(
      { source: 'store/sqlite-worker.ts', bundled: 'sqlite-worker' },
      { file },
      { maxYoungGenerationSizeMb: 4 },
    );
    const fail = (error: Error) => {
      this.#failure ??= error;
      for (const waiter of this.#waiting.splice(0)) waiter.reject(error);
    };
    this.#worker.on('message', (message: 'ready' | { response: Answer }) => {
      if (message === 'ready') return;
      this.#waiting.shift()?.resolve(message.response);
      // An idle store does not keep the process alive, as a connection on the main thread would not.
      if (this.#waiting.length === 0) this.#worker.unref();
    });
    this.#worker.on('error', fail);
    this.#worker.on('exit', () => fail(new Error('the subscriber database thread stopped')));
  }

  ask(request: SqliteQuery | 'close'): Promise<Answer> {
    return new Promise((resolve, reject) => {
      if (this.#failure !== undefined) return reject(this.#failure);
      this.#waiting.push({ resolve, reject });
      this.#worker.ref();
      this.#worker.postMessage(request);
    });
  }

  async query(query: SqliteQuery): Promise<QueryResult<unknown>> {
    const answer = await this.ask(query);
    if ('failed' in answer) throw deserializeError(answer.failed);
    if ('error' in answer) throw Object.assign(new Error(answer.error.message), { code: answer.error.code });
    if ('rows' in answer) return { rows: answer.rows };
    return {
      rows: [],
      numAffectedRows: BigInt(answer.changes),
      insertId: BigInt(answer.lastInsertRowid),
    };
  }

  async close(): Promise<void> {
    await this.ask('close').catch(() => undefined);
    await this.#worker.terminate();
  }
}

class ThreadConnection implements DatabaseConnection {
  readonly #thread: SqliteThread;

  constructor(thread: SqliteThread) {
    this.#thread = thread;
  }

  executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    return this.#thread.query({ sql: compiled.sql, parameters: compiled.parameters }) as Promise<
      QueryResult<R>
    >;
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    yield await this.executeQuery<R>(compiled);
  }
}

/** SQLite has one connection: whoever acquires it waits until the one before released it. */
class ThreadDriver implements Driver {
  readonly #file: string;
  #thread: SqliteThread | undefined;
  #connection: ThreadConnection | undefined;
  #held: Promise<void> = Promise.resolve();
  #release: (() => void) | undefined;

  constructor(file: string) {
    this.#file = file;
  }

  async init(): Promise<void> {
    this.#thread = new SqliteThread(this.#file);
    this.#connection = new ThreadConnection(this.#thread);
    // The first answer says whether the file opened.
    await this.#thread.query({ sql: 'select 1', parameters: [] });
  }

  async acquireConnection(): Promise<DatabaseConnection> {
    const before = this.#held;
    let release = () => {};
    this.#held = new Promise((resolve) => {
      release = resolve;
    });
    await before;
    this.#release = release;
    if (this.#connection === undefined) throw new Error('the subscriber database is not open');
    return this.#connection;
  }

  async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    this.#release?.();
  }

  async destroy(): Promise<void> {
    await this.#thread?.close();
    this.#thread = undefined;
    this.#connection = undefined;
  }
}

export class SqliteThreadDialect implements QueryDialect {
  readonly #file: string;

  constructor(file: string) {
    this.#file = file;
  }

  createDriver(): Driver {
    return new ThreadDriver(this.#file);
  }

  createQueryCompiler() {
    return new SqliteQueryCompiler();
  }

  createAdapter() {
    return new SqliteAdapter();
  }

  createIntrospector(db: Kysely<unknown>) {
    return new SqliteIntrospector(db);
  }
}
