// The disk side of content/: reads the settings and every article file as text, nothing more.

import { type Dirent, lstatSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';
import { decodeUtf8 } from './text.ts';

export interface SourceFile {
  /** Relative to the project root, "/"-separated: what error messages show. */
  readonly path: string;
  readonly text: string;
}

export interface ContentSources {
  readonly settings: SourceFile;
  readonly articles: readonly SourceFile[];
}

export const POSTS_DIR = 'content/posts';
// Here rather than beside the settings' parser, so that reading content/ does not load YAML and zod.
export const SETTINGS_FILE = 'content/site.yaml';

/**
 * The article files, sorted. Hidden files are editors' litter (an Emacs lock `.#a.md` is even a symbolic
 * link). A linked article is refused rather than skipped or followed: skipping would unpublish its page
 * without a word, following could publish a file from anywhere on the disk.
 */
async function listMarkdown(root: string, dir: string): Promise<string[]> {
  const entries = await readdir(path.join(root, dir), { withFileTypes: true, recursive: true }).catch(
    (error: NodeJS.ErrnoException) => {
      throw new KurierError(
        'CONTENT_INVALID',
        error.code === 'ENOENT'
          ? `the folder ${dir}/ is missing: create it and put the articles there (an empty folder builds an empty site).`
          : `cannot read ${dir}/ (${error.message}).`,
        { file: `${dir}/`, cause: error },
      );
    },
  );
  // Each folder relative to the root worked out once: path.relative for each of a thousand articles was a
  // third of listing them, on every save of kurier serve.
  const folders = new Map<string, string>();
  const relative = (entry: Dirent) => {
    let folder = folders.get(entry.parentPath);
    if (folder === undefined) {
      folder = path.relative(root, entry.parentPath).split(path.sep).join('/');
      folders.set(entry.parentPath, folder);
    }
    return `${folder}/${entry.name}`;
  };
  const visible = entries.filter((entry) => !entry.name.startsWith('.'));
  const linked = visible.find((entry) => entry.isSymbolicLink());
  if (linked !== undefined) {
    throw new KurierError(
      'CONTENT_INVALID',
      `the ${linked.name.endsWith('.md') ? 'article' : 'entry'} is a symbolic link; Kurier reads only real files below ${dir}/ so that nothing from elsewhere is published by accident: copy it here instead of linking it.`,
      { file: relative(linked) },
    );
  }
  return visible
    .filter((entry) => entry.isFile() && entry.name.endsWith('.md'))
    .map(relative)
    .sort();
}

/**
 * Articles known from before, by path, each with the identity its file had then (inode, size, times):
 * `kurier serve` passes the same map to every build, and a build seeds it from the stamps of the parse
 * cache (with sources read only on demand), so an edit re-reads one file, not all of them.
 */
export type KnownSources = Map<string, { readonly stamp: string; readonly source: SourceFile }>;

/** content/site.yaml as text; a missing or unreadable file is a SETTINGS_INVALID error that says what to do. */
export async function readSettingsSource(root: string): Promise<SourceFile> {
  return readFile(path.join(root, SETTINGS_FILE)).then(
    (bytes) => ({ path: SETTINGS_FILE, text: decodeUtf8(bytes, SETTINGS_FILE) }),
    (error: unknown) => {
      throw new KurierError(
        'SETTINGS_INVALID',
        `cannot read the publication settings (${(error as Error).message}); create ${SETTINGS_FILE} (see README).`,
        { file: SETTINGS_FILE, cause: error },
      );
    },
  );
}

/**
 * Reads the settings and every article whose stamp `known` does not hold (and updates it). `onListed`
 * learns the settings and the number of articles before their files are read, so that parse workers can
 * start meanwhile. With `later`, an article's text is read when it is first asked for: a first build
 * reads each chunk of articles as it sends it to a parse worker, which parses while the rest is read.
 */
export async function readContentSources(
  root: string,
  onListed?: (settings: SourceFile, articleCount: number) => void,
  known?: KnownSources,
  later = false,
): Promise<ContentSources> {
  const settings = await readSettingsSource(root);
  const files = await listMarkdown(root, POSTS_DIR);
  onListed?.(settings, files.length);
  // One synchronous read after another: for thousands of small files in the page cache this is ~5× faster
  // than fs/promises, whose every open, stat, read and close is a round trip through libuv's thread pool.
  const read = later
    ? (file: string) => readSourceLater(root, file)
    : (file: string): SourceFile => ({ path: file, text: decodeUtf8(readSource(root, file), file) });
  if (known === undefined) return { settings, articles: files.map(read) };
  const seen = new Map(known);
  known.clear();
  const articles = files.map((file) => {
    const info = lstatSync(path.join(root, file), { throwIfNoEntry: false });
    const stamp = info === undefined ? '' : stampOf(info);
    const previous = seen.get(file);
    const source = previous !== undefined && previous.stamp === stamp ? previous.source : read(file);
    if (stamp !== '') known.set(file, { stamp, source });
    return source;
  });
  return { settings, articles };
}

/** What identifies a version of a file without reading it: inode, size, modification and change times. */
export function stampOf(info: { ino: number; size: number; mtimeMs: number; ctimeMs: number }): string {
  return `${info.ino}:${info.size}:${info.mtimeMs}:${info.ctimeMs}`;
}

/** The change time (ms) a stamp carries; ctime cannot be set back by a program, unlike mtime. */
export function changeTimeOf(stamp: string): number {
  return Number(stamp.split(':')[3]);
}

/**
 * An article known unchanged by its stamp: its text is read from disk only if something asks for it (a
 * renderer that needs its HTML, a parse under new settings).
 */
export function readSourceLater(root: string, file: string): SourceFile {
  let text: string | undefined;
  return {
    path: file,
    get text() {
      text ??= decodeUtf8(readSource(root, file), file);
      return text;
    },
  };
}

function readSource(root: string, file: string): Buffer {
  try {
    return readFileSync(path.join(root, file));
  } catch (error) {
    throw new KurierError(
      'CONTENT_INVALID',
      `cannot read the article (${(error as Error).message}); check its permissions.`,
      { file, cause: error },
    );
  }
}
