// The subscriber list: a CSV file (Kurier's own, a listmonk or a Mailchimp export) streamed row by row into checked subscribers.

import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import { parse } from 'csv-parse';
import { parseAddress } from '../address.ts';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';

export type ListFormat = 'kurier' | 'listmonk' | 'mailchimp';

/** How the columns of one list map onto a subscriber; found once from the header row. */
export interface ListLayout {
  readonly format: ListFormat;
  readonly header: readonly string[];
  readonly email: number;
  /** Columns joined with a space to make the name (Mailchimp has first and last name). */
  readonly name: readonly number[];
  readonly status: number | undefined;
  /** listmonk's JSON column, spread into the fields. */
  readonly attributes: number | undefined;
  /** Mailchimp marks unsubscribed and cleaned (bounced) members by a date in these columns. */
  readonly unsubscribedAt: number | undefined;
  readonly cleanedAt: number | undefined;
  /** Every other column: available to templates as a field under its header name. */
  readonly fields: readonly number[];
}

const STATUS_ALIASES: Readonly<Record<string, 'active' | 'unsubscribed' | 'bounced'>> = {
  '': 'active',
  active: 'active',
  subscribed: 'active',
  confirmed: 'active',
  // listmonk's subscriber statuses.
  enabled: 'active',
  disabled: 'unsubscribed',
  blocklisted: 'unsubscribed',
  blacklisted: 'unsubscribed',
  unsubscribed: 'unsubscribed',
  bounced: 'bounced',
  cleaned: 'bounced',
};

// C0/C1 controls and the Unicode line separators: a name is a header value in the message, and a line
// break there would start a new header (header injection). Templates get the same clean text.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

function cleanText(value: string): string {
  return value.replace(CONTROL, ' ').trim();
}

/** One row of any supported list, validated: the type every later stage relies on. */
export const subscriberSchema = z
  .object({
    email: z.string(),
    name: z.string().max(200, 'the name is longer than 200 characters').transform(cleanText),
    status: z
      .string()
      .transform((value) => value.trim().toLowerCase())
      .pipe(
        z.enum(Object.keys(STATUS_ALIASES) as [string, ...string[]], {
          error: 'status must be active, unsubscribed or bounced',
        }),
      )
      .transform((value) => STATUS_ALIASES[value] ?? 'active'),
    fields: z.record(z.string(), z.string().transform(cleanText)),
  })
  .transform((row, context) => {
    const parsed = parseAddress(row.email);
    if (!parsed.ok) {
      context.addIssue({ code: 'custom', message: parsed.reason, path: ['email'] });
      return z.NEVER;
    }
    return { email: parsed.address, key: parsed.key, name: row.name, status: row.status, fields: row.fields };
  });

export type Subscriber = z.output<typeof subscriberSchema>;

export type SubscriberRow =
  | { readonly ok: true; readonly line: number; readonly subscriber: Subscriber }
  | { readonly ok: false; readonly line: number; readonly problem: string };

function findColumn(header: readonly string[], ...names: string[]): number | undefined {
  const index = header.findIndex((column) => names.includes(column.trim().toLowerCase()));
  return index === -1 ? undefined : index;
}

export function parseLayout(header: readonly string[], file: string): ListLayout {
  const mailchimpEmail = findColumn(header, 'email address');
  const email = findColumn(header, 'email', 'e-mail') ?? mailchimpEmail;
  if (email === undefined) {
    throw new KurierError(
      'SUBSCRIBERS_INVALID',
      `the header row has no "email" column (found: ${header.join(', ')}); the first row must name the columns, e.g. "email,name".`,
      { file, line: 1 },
    );
  }
  const first = findColumn(header, 'first name');
  const last = findColumn(header, 'last name');
  const attributes = findColumn(header, 'attributes');
  const format: ListFormat =
    mailchimpEmail === email ? 'mailchimp' : attributes !== undefined ? 'listmonk' : 'kurier';
  const name =
    format === 'mailchimp'
      ? [first, last].filter((index) => index !== undefined)
      : [findColumn(header, 'name')].filter((index) => index !== undefined);
  const status = findColumn(header, 'status');
  const unsubscribedAt = format === 'mailchimp' ? findColumn(header, 'unsub_time') : undefined;
  const cleanedAt = format === 'mailchimp' ? findColumn(header, 'clean_time') : undefined;
  const taken = new Set([email, ...name, status, attributes, unsubscribedAt, cleanedAt]);
  const fields = header
    .map((_, index) => index)
    .filter((index) => !taken.has(index) && header[index]?.trim());
  return { format, header, email, name, status, attributes, unsubscribedAt, cleanedAt, fields };
}

function parseAttributes(text: string): Record<string, string> | string {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'attributes is not valid JSON';
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return 'attributes must be a JSON object';
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, typeof item === 'string' ? item : JSON.stringify(item)]),
  );
}

/** One CSV record → a subscriber, or the reason it is not one. Pure. */
export function parseSubscriberRow(
  layout: ListLayout,
  record: readonly string[],
  line: number,
): SubscriberRow {
  const cell = (index: number | undefined): string => (index === undefined ? '' : (record[index] ?? ''));
  const fields: Record<string, string> = {};
  for (const index of layout.fields) fields[(layout.header[index] ?? '').trim()] = cell(index);
  if (layout.attributes !== undefined) {
    const attributes = parseAttributes(cell(layout.attributes));
    if (typeof attributes === 'string') return { ok: false, line, problem: attributes };
    Object.assign(fields, attributes);
  }
  let status = cell(layout.status);
  if (cell(layout.cleanedAt).trim() !== '') status = 'bounced';
  else if (cell(layout.unsubscribedAt).trim() !== '') status = 'unsubscribed';
  const result = subscriberSchema.safeParse({
    email: cell(layout.email),
    name: layout.name.map(cell).join(' '),
    status,
    fields,
  });
  if (result.success) return { ok: true, line, subscriber: result.data };
  const issue = result.error.issues[0];
  return { ok: false, line, problem: issue === undefined ? 'invalid row' : issue.message };
}

/** The delimiter of the header line: German spreadsheet programs export CSV with ";". */
export function parseDelimiter(firstLine: string): string {
  const counts = [',', ';', '\t'].map((candidate) => ({
    candidate,
    count: firstLine.split(candidate).length,
  }));
  counts.sort((a, b) => b.count - a.count);
  return counts[0]?.count === 1 ? ',' : (counts[0]?.candidate ?? ',');
}

async function readFirstLine(file: string): Promise<string> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(file, 'r');
  } catch (error) {
    throw new KurierError(
      'SUBSCRIBERS_INVALID',
      `cannot read the subscriber list (${(error as Error).message}); create it (see subscribers.example.csv) or pass --subscribers FILE.`,
      { file, cause: error },
    );
  }
  try {
    const buffer = Buffer.alloc(64 * 1024);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString('utf8').split(/\r?\n/, 1)[0] ?? '';
  } finally {
    await handle.close();
  }
}

/**
 * The line to fix for a CSV error (RFC 4180 quoting: "" inside is a quote): for a quote that is never closed,
 * the line where it opened (csv-parse gives up at the end of the file); for any other error, the line of
 * csv-parse's count, which counts \r and \n inside a quoted field once each, so a CRLF file with line
 * breaks inside quotes comes out late.
 */
export function findCsvErrorLine(
  text: string,
  delimiter: string,
  error: { readonly code?: string; readonly lines?: number },
): number | undefined {
  const unclosed = error.code === 'CSV_QUOTE_NOT_CLOSED';
  let line = 1;
  let parserLine = 1;
  let quoteLine: number | undefined;
  let fieldStart = true;
  for (let i = 0; i < text.length; i += 1) {
    if (!unclosed && parserLine >= (error.lines ?? 0)) return line;
    const char = text[i];
    const lineBreak = char === '\n' || (char === '\r' && text[i + 1] !== '\n');
    if (quoteLine !== undefined) {
      if (char === '"') {
        if (text[i + 1] === '"') i += 1;
        else {
          quoteLine = undefined;
          fieldStart = false;
        }
      } else if (char === '\n' || char === '\r') parserLine += 1;
      if (lineBreak) line += 1;
      continue;
    }
    if (char === '"' && fieldStart) quoteLine = line;
    else if (lineBreak) {
      line += 1;
      parserLine += 1;
    }
    fieldStart = char === delimiter || char === '\n' || char === '\r';
  }
  return unclosed ? quoteLine : line;
}

function notUtf8(file: string, line: number): KurierError {
  return new KurierError(
    'SUBSCRIBERS_INVALID',
    'this row has bytes that are not UTF-8 (a list saved as Latin-1 or Windows-1252?); save the list as UTF-8 (in Excel: "CSV UTF-8") and run again.',
    { file, line },
  );
}

const BATCH = 256;
const LINE_BREAKS = /\r\n|\r|\n/g;

/**
 * Takes what the stream has buffered in batches: one await per thousand rows instead of several promises
 * per row, which is what a million-row list spends most of its time and garbage on otherwise.
 */
async function* readBatches(stream: Readable): AsyncGenerator<unknown[]> {
  for (;;) {
    const batch: unknown[] = [];
    for (let item = stream.read(); item !== null; item = stream.read()) {
      batch.push(item);
      if (batch.length === BATCH) break;
    }
    if (batch.length > 0) {
      yield batch;
      continue;
    }
    if (stream.errored !== null) throw stream.errored;
    if (stream.readableEnded) return;
    await new Promise<void>((resolve, reject) => {
      const settle = (error?: unknown): void => {
        stream.off('readable', onReadable);
        stream.off('end', onEnd);
        stream.off('error', settle);
        if (error === undefined) resolve();
        else reject(error);
      };
      const onReadable = (): void => settle();
      const onEnd = (): void => settle();
      stream.once('readable', onReadable);
      stream.once('end', onEnd);
      stream.once('error', settle);
    });
  }
}

/**
 * Streams the list: memory stays flat however long it is. Yields the data rows in batches, each with its
 * line number; a broken file (bad quoting, no email column) throws SUBSCRIBERS_INVALID.
 */
export async function* readSubscribers(
  file: string,
  displayName = file,
): AsyncGenerator<readonly SubscriberRow[], { readonly format: ListFormat }> {
  const delimiter = parseDelimiter(await readFirstLine(file));
  // pipeline() (unlike pipe()) carries a read error of the file into the parser, so the loop below sees it.
  const parser = pipeline(
    // Small chunks: csv-parse turns a whole chunk into records at once, and records waiting in its buffer
    // when the young generation is collected get promoted; a 16 KiB chunk keeps that to a few hundred.
    createReadStream(file, { highWaterMark: 16 * 1024 }),
    // No `info`: csv-parse would build a ~15-field object per row (a million of them are most of the
    // garbage of a big list). Lines are counted here instead: one per record plus the breaks inside quotes.
    parse({ bom: true, delimiter, relax_column_count: true }),
    () => {},
  );
  let layout: ListLayout | undefined;
  let line = 0;
  try {
    for await (const records of readBatches(parser)) {
      const rows: SubscriberRow[] = [];
      for (const record of records as string[][]) {
        const start = line + 1;
        line += 1;
        let blank = true;
        for (const field of record) {
          if (blank && field.trim() !== '') blank = false;
          if (field.includes('\n') || field.includes('\r')) line += field.match(LINE_BREAKS)?.length ?? 0;
          // The decoder puts U+FFFD where bytes are not UTF-8: a name would reach readers garbled.
          if (field.includes('\uFFFD')) throw notUtf8(displayName, start);
        }
        if (blank) continue;
        if (layout === undefined) layout = parseLayout(record, displayName);
        else rows.push(parseSubscriberRow(layout, record, start));
      }
      yield rows;
    }
  } catch (error) {
    if (error instanceof KurierError) throw error;
    // csv-parse's line is not the one to fix (see findCsvErrorLine): read again, only on this error path.
    const where = findCsvErrorLine(
      await readFile(file, 'utf8'),
      delimiter,
      error as { code?: string; lines?: number },
    );
    throw new KurierError(
      'SUBSCRIBERS_INVALID',
      `the subscriber list is not valid CSV (${(error as Error).message.replace(/ at line \d+/, '')}); fix the quoting on this line.`,
      { file: displayName, line: where, cause: error },
    );
  }
  if (layout === undefined) {
    throw new KurierError(
      'SUBSCRIBERS_INVALID',
      'the subscriber list is empty; the first row must name the columns, e.g. "email,name".',
      {
        file: displayName,
      },
    );
  }
  return { format: layout.format };
}
