// The frozen recipient list of one send: the subscribers at the moment the send started, one JSON line each, by index.

import { createHash } from 'node:crypto';
import { readdir, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';
import { z } from '../schema.ts';
import { AtomicFile, parseJsonLine, readLines, writeFileAtomic } from './files.ts';
import { FingerprintSet } from './fingerprints.ts';
import { readSubscribers } from './subscribers.ts';

export const RECIPIENTS_FILE = 'recipients.jsonl';
export const META_FILE = 'send.json';
export const JOURNAL_FILE = 'journal.jsonl';
export const LOCK_FILE = 'lock';

const recipientSchema = z.object({
  email: z.string().min(3),
  name: z.string().default(''),
  fields: z.record(z.string(), z.string()).default({}),
});

export type Recipient = z.output<typeof recipientSchema>;

export interface IndexedRecipient {
  readonly index: number;
  readonly recipient: Recipient;
}

const listStatsSchema = z.object({
  rows: z.number().int(),
  invalid: z.number().int(),
  duplicates: z.number().int(),
  inactive: z.number().int(),
  suppressed: z.number().int(),
});

export type ListStats = z.output<typeof listStatsSchema>;

const metaSchema = z.object({
  version: z.literal(1),
  articleId: z.string(),
  slug: z.string(),
  title: z.string(),
  /** ISO date: when the list was frozen; also the Date: header of every copy, so a resent copy is identical. */
  frozenAt: z.string(),
  total: z.number().int().nonnegative(),
  subscribers: z.string(),
  list: listStatsSchema,
});

export type SendMeta = z.output<typeof metaSchema>;

/** Each article's send lives in its own folder, named by its id (not its slug, which may be renamed). */
export function sendDirectory(stateDir: string, articleId: string): string {
  return path.join(stateDir, 'sends', createHash('sha256').update(articleId).digest('hex').slice(0, 16));
}

export async function readSendMeta(dir: string): Promise<SendMeta | undefined> {
  const file = path.join(dir, META_FILE);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  const meta = parseJsonLine(metaSchema, text);
  if (meta === undefined) {
    throw new KurierError(
      'JOURNAL_INVALID',
      'the description of this send is damaged (not the JSON Kurier wrote); restore it from a backup, or move its folder away to start the send from scratch (everyone would get the email again).',
      { file },
    );
  }
  return meta;
}

/** Every send the state folder knows, with its folder. */
export async function readSends(stateDir: string): Promise<{ dir: string; meta: SendMeta }[]> {
  const root = path.join(stateDir, 'sends');
  let names: string[];
  try {
    names = await readdir(root);
  } catch {
    return [];
  }
  const sends: { dir: string; meta: SendMeta }[] = [];
  for (const name of names.sort()) {
    const dir = path.join(root, name);
    const meta = await readSendMeta(dir);
    if (meta !== undefined) sends.push({ dir, meta });
  }
  return sends;
}

export interface ListProblem {
  readonly line: number;
  readonly problem: string;
}

export interface FreezeOptions {
  readonly subscribersFile: string;
  /** How the file is named in messages (relative to the project root). */
  readonly displayName: string;
  /** Lowercased addresses that must not be mailed. */
  readonly suppressed: ReadonlySet<string>;
  readonly onProblem: (problem: ListProblem) => void;
}

/** A frozen list written to a temporary file: `commit` makes it the list of the send, `abort` drops it. */
export interface FrozenDraft {
  readonly total: number;
  /** The first recipient, to render one copy before anything is sent. */
  readonly first: Recipient | undefined;
  readonly stats: ListStats;
  commit(meta: Omit<SendMeta, 'version' | 'total' | 'list'>): Promise<SendMeta>;
  abort(): Promise<void>;
}

function serialise(recipient: Recipient): string {
  const line: Record<string, unknown> = { email: recipient.email, name: recipient.name };
  if (Object.keys(recipient.fields).length > 0) line.fields = recipient.fields;
  return `${JSON.stringify(line)}\n`;
}

/**
 * Streams the subscriber list into the frozen list of a send: valid, active, not suppressed, each address
 * once (the first row wins; a later row that unsubscribes the address removes it). Memory grows with
 * the number of distinct addresses (for the duplicate check), never with the size of the file.
 */
export async function freezeRecipients(dir: string, options: FreezeOptions): Promise<FrozenDraft> {
  const file = path.join(dir, RECIPIENTS_FILE);
  let draft = await AtomicFile.create(file);
  const stats = { rows: 0, invalid: 0, duplicates: 0, inactive: 0, suppressed: 0 };
  const written = new FingerprintSet(1 << 16);
  const inactive = new FingerprintSet();
  const lateInactive = new Set<string>();
  let first: Recipient | undefined;
  try {
    for await (const rows of readSubscribers(options.subscribersFile, options.displayName)) {
      for (const row of rows) {
        stats.rows += 1;
        if (!row.ok) {
          stats.invalid += 1;
          options.onProblem({ line: row.line, problem: row.problem });
          continue;
        }
        const { key, status } = row.subscriber;
        if (status !== 'active') {
          if (inactive.add(key)) stats.inactive += 1;
          if (written.has(key)) lateInactive.add(key);
        } else if (options.suppressed.has(key)) {
          stats.suppressed += 1;
        } else if (inactive.has(key) || written.has(key)) {
          stats.duplicates += 1;
        } else {
          written.add(key);
          const recipient = {
            email: row.subscriber.email,
            name: row.subscriber.name,
            fields: row.subscriber.fields,
          };
          first ??= recipient;
          const flushing = draft.write(serialise(recipient));
          if (flushing !== undefined) await flushing;
        }
      }
    }
    if (lateInactive.size > 0) draft = await dropLateInactive(draft, lateInactive);
  } catch (error) {
    await draft.abort();
    throw error;
  }
  const total = written.size - lateInactive.size;
  const finalDraft = draft;
  return {
    total,
    first,
    stats,
    async commit(meta) {
      await finalDraft.commit();
      const full: SendMeta = { version: 1, ...meta, total, list: stats };
      await writeFileAtomic(path.join(dir, META_FILE), `${JSON.stringify(full, null, 2)}\n`);
      return full;
    },
    abort: () => finalDraft.abort(),
  };
}

/** A row further down unsubscribed an address already written: rewrite the draft without it (rare). */
async function dropLateInactive(draft: AtomicFile, keys: ReadonlySet<string>): Promise<AtomicFile> {
  const source = path.join(path.dirname(draft.file), `${RECIPIENTS_FILE}.unfiltered`);
  await draft.commit();
  await rename(draft.file, source);
  const filtered = await AtomicFile.create(draft.file);
  for await (const line of readLines(source)) {
    const recipient = parseRecipient(line.text, source, line.number);
    if (!keys.has(recipient.email.toLowerCase())) await filtered.write(`${line.text}\n`);
  }
  await rm(source, { force: true });
  return filtered;
}

/** Streams the frozen list in index order. */
export async function* readRecipients(dir: string): AsyncGenerator<IndexedRecipient> {
  const file = path.join(dir, RECIPIENTS_FILE);
  let index = 0;
  for await (const line of readLines(file)) {
    yield { index, recipient: parseRecipient(line.text, file, line.number) };
    index += 1;
  }
}

function parseRecipient(text: string, file: string, line: number): Recipient {
  const recipient = parseJsonLine(recipientSchema, text);
  if (recipient === undefined) {
    throw new KurierError(
      'JOURNAL_INVALID',
      'the frozen recipient list is damaged; restore it from a backup.',
      {
        file,
        line,
      },
    );
  }
  return recipient;
}
