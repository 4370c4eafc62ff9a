// The CSV list (subscribers.csv, --subscribers, kurier subscribers import) into the store: rows become active
// subscribers with the import as their consent; the store never re-activates who left or bounced.

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

/** Imports the list in batches (memory stays flat for a million rows); invalid rows are reported and skipped. */
export async function importList(
  store: Store,
  list: ListFile,
  io: Io,
  now: Date,
  strict = false,
): Promise<ImportSummary> {
  if (strict) await checkStrict(list, io);
  let total = EMPTY;
  let shown = 0;
  for await (const rows of readSubscribers(list.file, list.displayName)) {
    const valid: ImportRow[] = [];
    let invalid = 0;
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
      invalid += 1;
      shown += 1;
      if (shown <= PROBLEMS_SHOWN) io.err(`${list.displayName}:${row.line}  ${row.problem}`);
      else if (shown === PROBLEMS_SHOWN + 1) io.err('… and more invalid rows (the summary counts them).');
    }
    total = addSummaries(total, await store.importRows(valid, list.displayName, now));
    total = { ...total, invalid: total.invalid + invalid };
  }
  return total;
}
