// The send journal: one JSON line per state change of one recipient (by index in the frozen list), fsynced.

import { access } from 'node:fs/promises';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import { AppendLog, readLines } from './files.ts';

/**
 * pending → attempting → sent | rejected | deferred; skipped when the suppression list gained the address
 * after the list was frozen. One byte per recipient keeps a million of them in a megabyte.
 */
export const STATES = ['pending', 'attempting', 'sent', 'rejected', 'deferred', 'skipped'] as const;
export type RecipientState = (typeof STATES)[number];

export const PENDING = 0;
export const ATTEMPTING = 1;
export const SENT = 2;
export const REJECTED = 3;
export const DEFERRED = 4;
export const SKIPPED = 5;

const recordSchema = z.object({
  /** Index of the recipient in the frozen list. */
  i: z.number().int().nonnegative(),
  s: z.enum(['attempting', 'sent', 'rejected', 'deferred', 'skipped']),
  /** Milliseconds since the epoch. */
  t: z.number(),
  /** SMTP reply code, when there was one. */
  c: z.number().int().optional(),
  /** The server's reply or the error, for `kurier status` and for the record. */
  r: z.string().optional(),
});

export type JournalRecord = z.output<typeof recordSchema>;

export interface JournalSummary {
  readonly states: Uint8Array;
  readonly records: number;
  /** When the last record was written; undefined for an empty journal. */
  readonly lastAt: number | undefined;
  /** A line cut short by a crash (ignored). */
  readonly tornTail: boolean;
}

/** Replays the journal onto one state byte per recipient: the last record of each index wins. */
export async function readJournal(file: string, total: number): Promise<JournalSummary> {
  const states = new Uint8Array(total);
  let records = 0;
  let lastAt: number | undefined;
  let tornTail = false;
  try {
    await access(file);
  } catch {
    return { states, records, lastAt, tornTail };
  }
  for await (const line of readLines(file, () => {
    tornTail = true;
  })) {
    if (line.text === '') continue;
    let record: JournalRecord;
    try {
      record = recordSchema.parse(JSON.parse(line.text));
    } catch (error) {
      throw new KurierError(
        'JOURNAL_INVALID',
        `line ${line.number} of the send journal is damaged; restore it from a backup or move it away to start this send again (recipients would then get the email twice).`,
        { file, line: line.number, cause: error },
      );
    }
    if (record.i >= total) {
      throw new KurierError(
        'JOURNAL_INVALID',
        `the journal names recipient ${record.i}, but the frozen list has only ${total}; the journal belongs to another send.`,
        { file, line: line.number },
      );
    }
    states[record.i] = STATES.indexOf(record.s);
    records += 1;
    lastAt = record.t;
  }
  return { states, records, lastAt, tornTail };
}

export function countStates(states: Uint8Array): Record<RecipientState, number> {
  const counts = new Array<number>(STATES.length).fill(0);
  for (const state of states) counts[state] = (counts[state] ?? 0) + 1;
  return Object.fromEntries(STATES.map((name, index) => [name, counts[index] ?? 0])) as Record<
    RecipientState,
    number
  >;
}

/** Writes the records of one send; each `record` resolves once its line is on disk. */
export class Journal {
  readonly #log: AppendLog;

  private constructor(log: AppendLog) {
    this.#log = log;
  }

  static async open(file: string): Promise<Journal> {
    return new Journal(await AppendLog.open(file));
  }

  get file(): string {
    return this.#log.file;
  }

  record(record: JournalRecord): Promise<void> {
    return this.#log.append(JSON.stringify(record));
  }

  close(): Promise<void> {
    return this.#log.close();
  }
}
