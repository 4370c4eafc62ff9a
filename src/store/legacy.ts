// The state folder of the file-based Kurier (before the store), read for its one-time import: suppressed.jsonl
// and sends/<hash>/{send.json, recipients.jsonl, journal.jsonl}. The formats are frozen here as they were written.

import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { parseAddress } from '../address.ts';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';

const suppressionSchema = z.object({
  email: z.string().min(1),
  reason: z.enum(['unsubscribed', 'bounced', 'complained']).default('unsubscribed'),
  at: z.string().optional(),
  detail: z.string().optional(),
});

export type LegacySuppression = z.output<typeof suppressionSchema> & { readonly line: number };

const metaSchema = z
  .object({
    version: z.literal(1),
    articleId: z.string(),
    frozenAt: z.string(),
    total: z.number().int().min(0),
  })
  .loose();

export type LegacyMeta = z.output<typeof metaSchema>;

const recipientSchema = z.object({
  email: z.string().min(1),
  name: z.string().default(''),
  fields: z.record(z.string(), z.string()).default({}),
});

export type LegacyRecipient = z.output<typeof recipientSchema>;

const recordSchema = z.object({
  i: z.number().int().nonnegative(),
  s: z.enum(['attempting', 'sent', 'rejected', 'deferred', 'skipped']),
  t: z.number(),
  c: z.number().int().optional(),
  r: z.string().optional(),
});

export type LegacyRecord = z.output<typeof recordSchema> & { readonly line: number };

export interface LegacySend {
  readonly dir: string;
  readonly meta: LegacyMeta;
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * Complete lines only by default: a journal's last line without its newline was cut short by a crash and
 * never counted. A suppression list is written by people too (an editor may leave out the last newline):
 * its last line counts (`keepLast`), so that the address on it is never mailed.
 */
async function* readLines(file: string, keepLast = false): AsyncGenerator<{ text: string; line: number }> {
  let rest = '';
  let line = 0;
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 64 * 1024 })) {
    const parts = (rest + (chunk as string)).split('\n');
    rest = parts.pop() ?? '';
    for (const text of parts) {
      line += 1;
      yield { text, line };
    }
  }
  if (keepLast && rest !== '') yield { text: rest, line: line + 1 };
}

function parseLine<T>(schema: z.ZodType<T>, text: string, file: string, line: number, what: string): T {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    value = undefined;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new KurierError(
      'STORE_INVALID',
      `this line of ${what} is damaged, so the old state folder cannot be imported; fix or remove the line and run again (nothing was imported).`,
      { file, line },
    );
  }
  return parsed.data;
}

/**
 * Every complete line counts, the last one too when it lacks its newline; a line that is not an address
 * stops the import: this list decides who must never be mailed, so a guess is not good enough.
 */
export async function* readLegacySuppression(stateDir: string): AsyncGenerator<LegacySuppression> {
  const file = path.join(stateDir, 'suppressed.jsonl');
  if (!(await exists(file))) return;
  for await (const { text: raw, line } of readLines(file, true)) {
    const text = raw.trim();
    if (text === '' || text.startsWith('#')) continue;
    if (text.includes('\uFFFD')) {
      throw new KurierError(
        'SUPPRESSION_INVALID',
        'this line of the suppression list is not UTF-8; save the file as UTF-8 (nothing was imported).',
        { file, line },
      );
    }
    // A bare address (or "Name <address>"): what a person or an unsubscribe form appended with `echo`.
    const entry = text.startsWith('{')
      ? parseLine(suppressionSchema, text, file, line, 'the suppression list')
      : { email: /<([^<>]*)>\s*$/.exec(text)?.[1] ?? text, reason: 'unsubscribed' as const };
    const address = parseAddress(entry.email);
    if (!address.ok) {
      throw new KurierError(
        'SUPPRESSION_INVALID',
        `this line of the suppression list is neither a JSON entry nor an address (${address.reason}); fix it: the list decides who must never be mailed (nothing was imported).`,
        { file, line },
      );
    }
    yield { ...entry, line };
  }
}

export async function readLegacySends(stateDir: string): Promise<LegacySend[]> {
  const root = path.join(stateDir, 'sends');
  const names = await readdir(root).catch(() => [] as string[]);
  const sends: LegacySend[] = [];
  for (const name of names.sort()) {
    const file = path.join(root, name, 'send.json');
    if (!(await exists(file))) continue;
    const meta = parseLine(metaSchema, await readFile(file, 'utf8'), file, 1, 'the send description');
    sends.push({ dir: path.join(root, name), meta });
  }
  return sends;
}

export async function* readLegacyRecipients(dir: string): AsyncGenerator<LegacyRecipient> {
  const file = path.join(dir, 'recipients.jsonl');
  if (!(await exists(file))) return;
  for await (const { text, line } of readLines(file)) {
    yield parseLine(recipientSchema, text, file, line, 'the frozen recipient list');
  }
}

export async function* readLegacyJournal(dir: string, total: number): AsyncGenerator<LegacyRecord> {
  const file = path.join(dir, 'journal.jsonl');
  if (!(await exists(file))) return;
  for await (const { text, line } of readLines(file)) {
    if (text === '') continue;
    const record = parseLine(recordSchema, text, file, line, 'the send journal');
    if (record.i >= total) {
      throw new KurierError(
        'STORE_INVALID',
        `the journal names recipient ${record.i}, but the frozen list has only ${total}; the journal belongs to another send.`,
        { file, line },
      );
    }
    yield { ...record, line };
  }
}

/** The frozen message of a send (message.json), as written; undefined when the send predates it. */
export async function readLegacyMessage(dir: string): Promise<unknown> {
  const file = path.join(dir, 'message.json');
  if (!(await exists(file))) return undefined;
  const text = await readFile(file, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new KurierError(
      'STORE_INVALID',
      'the frozen message of this send is damaged, so the old state folder cannot be imported; restore it from a backup or remove the send folder (its readers would get the email again).',
      { file },
    );
  }
}
