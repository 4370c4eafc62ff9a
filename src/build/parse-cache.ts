// The build's cache of parsed articles, in the private state folder: an article whose source, settings and
// code are unchanged is not parsed again. It is only a cache: a missing, damaged or stale file costs a
// parse, never a wrong page, since every entry is keyed by a hash of all it was made from and the file
// carries a checksum of its body.

import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { KnownSources } from '../content/read-content.ts';
import type { CompiledEmail } from '../email/model.ts';
import type { Article } from '../model.ts';
import type { EmailCompiler } from './compile-emails.ts';
import type { OutMemory } from './write-out.ts';

/** Bumped when the file's layout changes. */
const CACHE_FORMAT = 'kurier-parse-cache-1';
const CACHE_FILE = 'articles.json';

/** An article as stored: every field but its bulky HTML, which is parsed again on demand. */
type StoredArticle = Record<string, unknown>;

export interface ParseCache {
  /** Hash of the code and the settings: entries made under another key are not used. */
  readonly key: string;
  /**
   * By source path: the hash of the source it was parsed from, the stored article, and the stamp of the
   * file (read-content.ts) when that hash was taken, if the file was old enough to trust it (see
   * `planStamp`).
   */
  readonly articles: ReadonlyMap<string, CacheEntry>;
  /** When the cache file was written (its modification time), on the file system's clock. */
  readonly writtenMs?: number;
  /** The content as planned from exactly these articles: the site, published and draft source paths in order. */
  readonly plan?: {
    readonly site: unknown;
    readonly published: readonly string[];
    readonly drafts: readonly string[];
  };
}

export interface CacheEntry {
  readonly hash: string;
  readonly article: StoredArticle;
  readonly stamp?: string;
}

/**
 * A file's stamp as the cache may keep it, or undefined when it cannot be trusted to tell a later change.
 * File times come from a coarse clock (a tick of up to 10 ms), so a file changed again within the tick of
 * its stat can keep its stamp. Only a file whose last change lies well before `before` (when the previous
 * cache was written, or the file clock read before a first build read anything) is stamped: any change
 * after this build's stat would give it a newer change time than its stamp's.
 */
export function planStamp(stamp: string | undefined, changeTime: number, before: number | undefined) {
  if (stamp === undefined || before === undefined) return undefined;
  return changeTime < before - STAMP_MARGIN_MS ? stamp : undefined;
}

/** Far more than a tick of the file clock. */
const STAMP_MARGIN_MS = 1000;

export function hashText(...parts: readonly string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}

let codeVersion: string | undefined;

/**
 * What distinguishes this code from other versions of it. bin/kurier.js runs a bundle from a folder named
 * by the hash of src/ and the lock file; run from the sources (tests, tsx), the sources are hashed here.
 */
export function planCodeVersion(moduleUrl: string = import.meta.url): string {
  if (codeVersion !== undefined) return codeVersion;
  const file = fileURLToPath(moduleUrl);
  if (!file.endsWith('.ts')) {
    codeVersion = path.basename(path.dirname(file));
    return codeVersion;
  }
  const src = path.resolve(path.dirname(file), '..');
  const hash = createHash('sha256');
  const files = readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
  for (const name of files) hash.update(path.relative(src, name)).update(readFileSync(name)).update('\0');
  hash.update(readFileSync(path.join(src, '..', 'package-lock.json')));
  codeVersion = `src-${hash.digest('hex').slice(0, 16)}`;
  return codeVersion;
}

// JSON has no undefined; the model has optional fields that templates in strict mode look up by name.
const UNDEFINED = { '\u0000undefined': true };

function isUndefinedMarker(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)['\u0000undefined'] === true
  );
}

function restoreUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(restoreUndefined);
  if (typeof value !== 'object' || value === null) return value;
  const result: Record<string, unknown> = {};
  for (const [key, entry] of Object.entries(value)) {
    result[key] = isUndefinedMarker(entry) ? undefined : restoreUndefined(entry);
  }
  return result;
}

/**
 * The stored form of a freshly parsed article: its fields in order, the HTML only if `withHtml` (the feeds'
 * newest articles: a build after an edit would otherwise parse all of them again for the feeds).
 */
export function planStoredArticle(article: Article, withHtml = false): StoredArticle {
  const stored: StoredArticle = {};
  for (const [key, value] of Object.entries(article)) {
    stored[key] = key === 'html' && !withHtml ? null : value;
  }
  return stored;
}

/** `entry` without its article's HTML, or itself when it holds none. */
export function withoutHtml(entry: CacheEntry): CacheEntry {
  if (typeof entry.article.html !== 'string') return entry;
  return { ...entry, article: { ...entry.article, html: null } };
}

/**
 * The Article again, with its fields in the order the parser gives them (the email cache hashes them in
 * that order); `html`, unless stored, comes from `parseFull`, called once, on first use.
 */
export function restoreArticle(stored: StoredArticle, parseFull: () => Article): Article {
  let full: Article | undefined;
  const article: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(stored)) {
    if (key === 'html' && typeof value === 'string') {
      article[key] = value;
    } else if (key === 'html') {
      Object.defineProperty(article, key, {
        enumerable: true,
        get: () => {
          full ??= parseFull();
          return full.html;
        },
      });
    } else if (key === 'published' || key === 'updated') {
      article[key] = new Date(value as string);
    } else {
      article[key] = value;
    }
  }
  return article as unknown as Article;
}

const isStoredArticle = (value: unknown): value is StoredArticle => {
  const stored = value as Record<string, unknown> | null;
  return (
    typeof stored === 'object' &&
    stored !== null &&
    typeof stored.id === 'string' &&
    typeof stored.slug === 'string' &&
    typeof stored.path === 'string' &&
    typeof stored.published === 'string' &&
    typeof stored.updated === 'string' &&
    typeof stored.draft === 'boolean' &&
    'html' in stored
  );
};

/** The cache as last written, or undefined when the file is missing or damaged. */
export async function readParseCache(stateDir: string): Promise<ParseCache | undefined> {
  let text: string;
  let writtenMs: number;
  try {
    const file = path.join(stateDir, 'cache', CACHE_FILE);
    [text, writtenMs] = await Promise.all([readFile(file, 'utf8'), stat(file).then((info) => info.mtimeMs)]);
  } catch {
    return undefined;
  }
  const newline = text.indexOf('\n');
  const body = text.slice(newline + 1);
  if (newline === -1 || text.slice(0, newline) !== hashText(CACHE_FORMAT, body)) return undefined;
  try {
    const data = JSON.parse(body) as { key?: unknown; articles?: unknown; plan?: unknown };
    if (typeof data.key !== 'string' || typeof data.articles !== 'object' || data.articles === null) {
      return undefined;
    }
    const articles = new Map<string, CacheEntry>();
    for (const [file, entry] of Object.entries(data.articles as Record<string, unknown>)) {
      const { hash, article, stamp } = (entry ?? {}) as {
        hash?: unknown;
        article?: unknown;
        stamp?: unknown;
      };
      const restored = restoreUndefined(article);
      if (typeof hash === 'string' && isStoredArticle(restored))
        articles.set(
          file,
          typeof stamp === 'string' ? { hash, article: restored, stamp } : { hash, article: restored },
        );
    }
    const plan = restoreUndefined(data.plan) as ParseCache['plan'];
    const valid =
      plan !== undefined &&
      Array.isArray(plan.published) &&
      Array.isArray(plan.drafts) &&
      [...plan.published, ...plan.drafts].every((file) => articles.has(file));
    return valid ? { key: data.key, articles, plan, writtenMs } : { key: data.key, articles, writtenMs };
  } catch {
    return undefined;
  }
}

/**
 * The file system's clock now, as the time of a file written for the purpose (file times and the process
 * clock may disagree): without a previous cache, what a first build judges its stamps by. Undefined when
 * the state folder cannot be written; the build then keeps no stamps.
 */
export async function readFileClock(stateDir: string): Promise<number | undefined> {
  try {
    const dir = path.join(stateDir, 'cache');
    await mkdir(dir, { recursive: true });
    const file = path.join(dir, CLOCK_FILE);
    await writeFile(file, '');
    return (await stat(file)).mtimeMs;
  } catch {
    return undefined;
  }
}

const CLOCK_FILE = 'clock';

const withUndefined = (_key: string, value: unknown) => (value === undefined ? UNDEFINED : value);

/**
 * Each entry's JSON as last written: `kurier serve` writes the cache after every save, and serializing a
 * thousand unchanged entries again was most of that. An entry is immutable, so its text never goes stale.
 */
const entryTexts = new WeakMap<CacheEntry, string>();

/** The cache as JSON; the same text as one JSON.stringify of the whole, entry by entry. */
function planCacheBody(cache: ParseCache): string {
  const entries: string[] = [];
  for (const [file, entry] of cache.articles) {
    let text = entryTexts.get(entry);
    if (text === undefined) {
      text = JSON.stringify(entry, withUndefined);
      entryTexts.set(entry, text);
    }
    entries.push(`${JSON.stringify(file)}:${text}`);
  }
  return `{"key":${JSON.stringify(cache.key)},"articles":{${entries.join(',')}},"plan":${JSON.stringify(cache.plan, withUndefined)}}`;
}

/**
 * Replaces the cache file whole (temporary file, then rename), so a crash leaves the old one or the new.
 * Returns when it was written, on the file system's clock.
 */
export async function writeParseCache(stateDir: string, cache: ParseCache): Promise<number> {
  const body = planCacheBody(cache);
  const dir = path.join(stateDir, 'cache');
  await mkdir(dir, { recursive: true });
  const target = path.join(dir, CACHE_FILE);
  const temporary = `${target}.${process.pid}.tmp`;
  try {
    await writeFile(temporary, `${hashText(CACHE_FORMAT, body)}\n${body}`);
    await rename(temporary, target);
    return (await stat(target)).mtimeMs;
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * What one process keeps between its builds (`kurier serve`): the caches as last written, and the articles
 * by source hash, HTML included once a renderer asked for it, so an edit re-reads and re-parses nothing else.
 */
export interface BuildMemory {
  parse?: ParseCache;
  /** The article files as last read. */
  sources?: KnownSources;
  /** The email thread, MJML loaded; whoever keeps the memory stops it. */
  emails?: EmailCompiler;
  records?: Map<string, OutputRecord>;
  outDir?: string;
  articles?: Map<string, Article>;
  /** out/ as the last write left it (write-out.ts). */
  out?: OutMemory;
  /** The emails of the last build by cache key (email-cache.ts), so that a save reads none of them again. */
  compiledEmails?: ReadonlyMap<string, CompiledEmail>;
  /** Each page's output key by its article's source hash, under the templates key it was made with. */
  pageKeys?: { readonly templatesKey: string; readonly byArticle: ReadonlyMap<string, string> };
  /** Caches in memory newer than on disk, left for writeBuildCaches (build.ts). */
  unsaved?: { readonly parse: boolean; readonly records: boolean };
}

/** What the last build wrote for an output file: the key of its inputs, and the file as it was left. */
export interface OutputRecord {
  readonly key: string;
  readonly size: number;
  readonly mtimeMs: number;
  readonly ino: number;
}

const OUTPUTS_FILE = 'outputs.json';

/** The files the last build wrote into `outDir`, by path; empty when unknown. */
export async function readOutputRecords(
  stateDir: string,
  outDir: string,
): Promise<Map<string, OutputRecord>> {
  try {
    const data = JSON.parse(await readFile(path.join(stateDir, 'cache', OUTPUTS_FILE), 'utf8')) as {
      outDir?: unknown;
      files?: Record<string, OutputRecord>;
    };
    if (data.outDir !== outDir || typeof data.files !== 'object' || data.files === null) return new Map();
    return new Map(Object.entries(data.files));
  } catch {
    return new Map();
  }
}

/**
 * True when the file is still the one recorded: same inputs, and the file untouched since (same inode, size
 * and modification time), so it need not be rendered, nor read and compared.
 */
export function isOutputCurrent(file: string, key: string, record: OutputRecord | undefined): boolean {
  if (record?.key !== key) return false;
  // lstat: a link put in the file's place is not the file the build wrote (and is never followed).
  const info = lstatSync(file, { throwIfNoEntry: false });
  return (
    info?.isFile() === true &&
    info.size === record.size &&
    info.mtimeMs === record.mtimeMs &&
    info.ino === record.ino
  );
}

/**
 * The files as they are now on disk, under the keys they were made from. `untouched`: records of files known
 * to be as recorded still (current before the build, and not written by it), kept without a stat.
 */
export function readOutputStamps(
  outDir: string,
  keys: ReadonlyMap<string, string>,
  untouched: ReadonlyMap<string, OutputRecord> = new Map(),
): Map<string, OutputRecord> {
  const records = new Map<string, OutputRecord>();
  for (const [file, key] of keys) {
    const record = untouched.get(file);
    if (record?.key === key) {
      records.set(file, record);
      continue;
    }
    const info = statSync(path.join(outDir, ...file.split('/')), { throwIfNoEntry: false });
    if (info !== undefined) records.set(file, { key, size: info.size, mtimeMs: info.mtimeMs, ino: info.ino });
  }
  return records;
}

export async function writeOutputRecords(
  stateDir: string,
  outDir: string,
  records: ReadonlyMap<string, OutputRecord>,
): Promise<void> {
  const dir = path.join(stateDir, 'cache');
  await mkdir(dir, { recursive: true });
  const target = path.join(dir, OUTPUTS_FILE);
  const temporary = `${target}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify({ outDir, files: Object.fromEntries(records) }));
  await rename(temporary, target);
}
