// The send journal: one JSON line per state change of one recipient (by index in the frozen list), fsynced.

import { access } from 'node:fs/promises';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import { JsonLinesLog, parseJsonLine, readLines } from './files.ts';

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
  /** Lines cut short by a crash (ignored). */
  readonly torn: number;
}

/**
 * A write cut short by a crash: the start of a record that never got its end. Kurier writes each record
 * with its newline in one write and awaits it before the message leaves, so dropping such a line can only
 * turn a "sent" into "attempting" (resent with the same Message-ID) or drop an "attempting" whose message
 * never left. Anything else that is not a record is damage a person must look at.
 */
function isTornRecord(text: string): boolean {
  return text.startsWith('{"i":') && !text.trimEnd().endsWith('}');
}

/** Replays the journal onto one state byte per recipient: the last record of each index wins. */
export async function readJournal(file: string, total: number): Promise<JournalSummary> {
  const states = new Uint8Array(total);
  let records = 0;
  let lastAt: number | undefined;
  let torn = 0;
  try {
    await access(file);
  } catch {
    return { states, records, lastAt, torn };
  }
  for await (const line of readLines(file)) {
    if (line.text === '') continue;
    const record = parseJsonLine(recordSchema, line.text);
    if (record === undefined) {
      if (isTornRecord(line.text)) {
        torn += 1;
        continue;
      }
      throw new KurierError(
        'JOURNAL_INVALID',
        `line ${line.number} of the send journal is damaged; restore it from a backup or move it away to start this send again (recipients would then get the email twice).`,
        { file, line: line.number },
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
  return { states, records, lastAt, torn };
}

export function countStates(states: Uint8Array): Record<RecipientState, number> {
  const counts = new Array<number>(STATES.length).fill(0);
  for (const state of states) counts[state] = (counts[state] ?? 0) + 1;
  return Object.fromEntries(STATES.map((name, index) => [name, counts[index] ?? 0])) as Record<
    RecipientState,
    number
  >;
}

/** Writes the records of one send; each `append` resolves once its line is on disk. */
export type Journal = JsonLinesLog<JournalRecord>;

export function openJournal(file: string): Promise<Journal> {
  return JsonLinesLog.open<JournalRecord>(file);
}
