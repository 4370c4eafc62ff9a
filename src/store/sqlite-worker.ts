// The embedded store's thread: runs the statements that sqlite-thread.ts sends, one at a time, in order.

import { workerData } from 'node:worker_threads';
import { KurierError } from '../error.ts';
import { serializeError, serveTasks } from '../threads.ts';
import {
  openSqliteConnection,
  type SqliteAnswer,
  type SqliteConnection,
  type SqliteQuery,
} from './sqlite.ts';

const { file } = workerData as { file: string };
let connection: SqliteConnection | undefined;
let failure: KurierError | undefined;
try {
  connection = openSqliteConnection(file);
} catch (error) {
  failure =
    error instanceof KurierError
      ? error
      : new KurierError(
          'STORE_UNAVAILABLE',
          `cannot open the subscriber database (${(error as Error).message}).`,
          {
            file,
          },
        );
}
serveTasks<SqliteQuery | 'close', SqliteAnswer | { readonly failed: ReturnType<typeof serializeError> }>(
  (request) => {
    if (connection === undefined) return { failed: serializeError(failure as KurierError) };
    if (request === 'close') {
      connection.close();
      connection = undefined;
      failure = new KurierError('STORE_UNAVAILABLE', 'the subscriber database was closed.', { file });
      return { rows: [] };
    }
    return connection.run(request);
  },
);
