// The CSV list (subscribers.csv, --subscribers, kurier subscribers import) into the store: rows become active
// subscribers with the import as their consent; the store never re-activates who left or bounced.

import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Io } from '../context.ts';
import { KurierError } from '../error.ts';
import type { ImportRow, ImportSummary, Store } from '../store/store.ts';
import { readSubscribers } from './subscribers.ts';

export interface ListFile {
  readonly file: string;
  /** The list's name in messages, relative to the project root. */
  readonly displayName: string;
  /** Given on the command line: a missing file is an error, not "no list". */
  readonly required?: boolean;
}

const EMPTY: ImportSummary = { added: 0, activated: 0, unchanged: 0, refused: 0, suppressed: 0, invalid: 0 };
const PROBLEMS_SHOWN = 20;
/**
 * Rows per transaction. Each commit is an fsync, so a few hundred rows each made a million-row import
 * thousands of commits; a single transaction would hold SQLite's write lock for the whole import, and a
 * one-click unsubscribe arriving at `kurier server` meanwhile would wait past its busy timeout. A batch
 * lives until its commit, long enough to be promoted to the old generation: for 1,000,000 rows, batches of
 * 2,000 peaked at 304 MiB (73 s), 1,000 at 289 MiB (64 s), 500 at 234 MiB (84 s, on a busy machine).
 */
const ROWS_PER_TRANSACTION = 500;

function addSummaries(a: ImportSummary, b: ImportSummary): ImportSummary {
  return {
    added: a.added + b.added,
    activated: a.activated + b.activated,
    unchanged: a.unchanged + b.unchanged,
    refused: a.refused + b.refused,
    suppressed: a.suppressed + b.suppressed,
    invalid: a.invalid + b.invalid,
  };
}

/** With `strict`, the whole file is checked first, so that an invalid row stops the run before any import. */
async function checkStrict(list: ListFile, io: Io): Promise<void> {
  let invalid = 0;
  let first: number | undefined;
  for await (const rows of readSubscribers(list.file, list.displayName)) {
    for (const row of rows) {
      if (row.ok) continue;
      invalid += 1;
      first ??= row.line;
      if (invalid <= PROBLEMS_SHOWN) io.err(`${list.displayName}:${row.line}  ${row.problem}`);
    }
  }
  if (invalid > 0) {
    throw new KurierError(
      'SUBSCRIBER_INVALID',
      `${invalid} row(s) of the subscriber list are invalid (listed above); fix them, or run without --strict to skip them.`,
      { file: list.displayName, line: first },
    );
  }
}

/** The SHA-256 of the file's bytes: the list is imported again only when they changed. */
export async function readFileHash(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * `kurier publish` imports the list first on every run: when the file is byte for byte the one imported
 * whole before (its hash is in the store), that import would change nothing but take minutes for a million
 * rows, so it is skipped. Never re-activating is the store's rule either way; skipping also keeps an
 * unchanged list's "unsubscribed" row from undoing a later confirmed sign-up. --strict always reads the file.
 */
export async function importListIfChanged(
  store: Store,
  list: ListFile,
  io: Io,
  now: Date,
  strict = false,
): Promise<ImportSummary | 'unchanged'> {
  if (!strict && (await store.readImportedHash(list.displayName)) === (await readFileHash(list.file))) {
    return 'unchanged';
  }
  return importList(store, list, io, now, strict);
}

/** Imports the list in batches (memory stays flat for a million rows); invalid rows are reported and skipped. */
export async function importList(
  store: Store,
  list: ListFile,
  io: Io,
  now: Date,
  strict = false,
): Promise<ImportSummary> {
  // Hashed before it is read: a file changed meanwhile leaves the old hash, so the next run imports again.
  const hash = await readFileHash(list.file);
  if (strict) await checkStrict(list, io);
  let total = EMPTY;
  let shown = 0;
  let valid: ImportRow[] = [];
  const flush = async () => {
    if (valid.length > 0) total = addSummaries(total, await store.importRows(valid, list.displayName, now));
    valid = [];
  };
  for await (const rows of readSubscribers(list.file, list.displayName)) {
    for (const row of rows) {
      if (row.ok) {
        const { subscriber } = row;
        valid.push({
          address: subscriber.email,
          name: subscriber.name,
          fields: subscriber.fields,
          status: subscriber.status,
        });
        continue;
      }
      total = { ...total, invalid: total.invalid + 1 };
      shown += 1;
      if (shown <= PROBLEMS_SHOWN) io.err(`${list.displayName}:${row.line}  ${row.problem}`);
      else if (shown === PROBLEMS_SHOWN + 1) io.err('… and more invalid rows (the summary counts them).');
    }
    if (valid.length >= ROWS_PER_TRANSACTION) await flush();
  }
  await flush();
  await store.recordImportedHash(list.displayName, hash);
  return total;
}
