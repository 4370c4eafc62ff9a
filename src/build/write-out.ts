// The one writer of out/: brings it to exactly the rendered files as one transaction. It deletes only files
// it wrote before (a manifest in the private state folder says which), never writes through a symbolic link,
// and leaves out/ as it was when anything fails, a full disk included.

import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import path from 'node:path';
import { KurierError } from '../error.ts';
import type { OutputFile } from '../model.ts';

export interface WrittenFile {
  readonly path: string;
  readonly bytes: number;
  /** False when out/ already held exactly these bytes, so the file was not touched. */
  readonly changed: boolean;
}

/** The file-system calls the writer makes; tests hand in the real ones with a fault at a chosen call. */
export type Disk = Pick<
  typeof fs,
  | 'copyFileSync'
  | 'linkSync'
  | 'lstatSync'
  | 'mkdirSync'
  | 'readdirSync'
  | 'readFileSync'
  | 'renameSync'
  | 'rmdirSync'
  | 'rmSync'
  | 'writeFileSync'
>;

export const realDisk: Disk = fs;

export interface WriteOptions {
  /** Where the list of files the build wrote into this out/ is kept: private state, never out/ itself. */
  readonly manifestFile: string;
  /**
   * Files the caller knows to be in out/ exactly as it would write them (made from unchanged inputs, and
   * untouched since the last build, see parse-cache.ts), by path with their size: kept without being
   * rendered, read or compared.
   */
  readonly current?: ReadonlyMap<string, number>;
  /** How out/ is named in messages ("out", "docs"). */
  readonly outName: string;
  readonly disk?: Disk;
  /** Kept by a process that writes the same out/ again and again (kurier serve); see OutMemory. */
  readonly memory?: OutMemory;
  /** A first build's fresh folder, with the pages written into it ahead (startFreshOut), all settled. */
  readonly fresh?: FreshOut | undefined;
}

/**
 * out/ as this process's last write left it. `kurier serve` writes out/ on every save: listing its thousands
 * of files and reading the list of the writer's files cost more than the rest of the write. A write that
 * finds out/ itself unchanged since (same inode, modification and change times) trusts what it remembers,
 * and looks only at the paths it writes. Anything else (out/ removed or replaced, a name added or removed at
 * its top, a write that failed) clears it, and the next write lists out/ and reads the list again.
 */
export interface OutMemory {
  state?: RememberedOut;
}

interface RememberedOut {
  readonly outDir: string;
  /** out/'s own stamp (statStamp) right after the write. */
  readonly stamp: string;
  /** Every file in out/, all the writer's: a write leaves no other. */
  readonly files: ReadonlySet<string>;
  readonly folders: ReadonlySet<string>;
  /** The list of the writer's files as on disk. */
  readonly manifest: ReadonlySet<string>;
}

function statStamp(disk: Disk, file: string): string | undefined {
  const info = disk.lstatSync(file, { throwIfNoEntry: false });
  return info?.isDirectory() === true ? `${info.ino}:${info.mtimeMs}:${info.ctimeMs}` : undefined;
}

/** True when `memory` describes `outDir` as it still is, so that its records may be trusted unchecked. */
export function isOutRemembered(
  outDir: string,
  memory: OutMemory | undefined,
  disk: Disk = realDisk,
): boolean {
  const state = memory?.state;
  return state !== undefined && state.outDir === outDir && statStamp(disk, outDir) === state.stamp;
}

// Linux: a name has at most 255 bytes (NAME_MAX), a path at most 4,095 (PATH_MAX with its NUL).
const NAME_MAX = 255;
const PATH_MAX = 4095;

const LINKS_UNSUPPORTED = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'ENOSYS']);

/** Names of the writer's own temporary files; a build killed halfway leaves them, the next one removes them. */
const LITTER = /^\.kurier-[0-9a-f]{8}-\d+\.(?:tmp|old)$/;

/**
 * Refuses output folders whose cleaning would destroy the project: out/ must be a folder of its own below
 * the project root.
 */
export async function checkOutDir(root: string, outDir: string): Promise<void> {
  const relative = path.relative(path.resolve(root), path.resolve(outDir));
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  const forbidden = ['content', 'templates', 'static', 'src', 'tests', 'node_modules', '.git', '.kurier'];
  if (!inside || forbidden.includes(relative.split(path.sep)[0] ?? '')) {
    throw new KurierError(
      'OUT_DIR_UNSAFE',
      `the output folder ${outDir} is not a folder of its own inside the project; every build replaces its contents, so choose e.g. out/.`,
    );
  }
  const existing = await fs.promises.stat(outDir).catch(() => undefined);
  if (existing !== undefined && !existing.isDirectory()) {
    throw new KurierError(
      'OUT_DIR_UNSAFE',
      `${outDir} exists and is not a folder: move it away or choose another --out.`,
    );
  }
}

/** What the writer needs to know of an entry of out/; a Dirent, or an lstat with the size. */
interface Entry {
  isFile(): boolean;
  isSymbolicLink(): boolean;
  readonly size?: number;
}

interface Listing {
  readonly exists: boolean;
  /** Everything that is not a folder (files, links, sockets …), "/"-separated. */
  readonly entries: Map<string, Entry>;
  readonly folders: Set<string>;
}

const REMEMBERED_FILE: Entry = { isFile: () => true, isSymbolicLink: () => false };

/**
 * out/ as remembered, with each path the write compares or replaces looked at again (one lstat each): a
 * link or folder put there since is refused as a listing would find it, and a known size spares reading a
 * file that differs anyway.
 */
function listRemembered(
  disk: Disk,
  outDir: string,
  remembered: RememberedOut,
  files: readonly OutputFile[],
): Listing {
  const entries = new Map<string, Entry>();
  for (const file of remembered.files) entries.set(file, REMEMBERED_FILE);
  const folders = new Set(remembered.folders);
  for (const file of files) {
    const info = disk.lstatSync(path.join(outDir, ...file.path.split('/')), { throwIfNoEntry: false });
    if (info === undefined) entries.delete(file.path);
    else if (info.isDirectory()) {
      entries.delete(file.path);
      folders.add(file.path);
    } else entries.set(file.path, info);
  }
  return { exists: true, entries, folders };
}

function listOut(disk: Disk, dir: string): Listing {
  let dirents: fs.Dirent[];
  try {
    dirents = disk.readdirSync(dir, { recursive: true, withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT')
      return { exists: false, entries: new Map(), folders: new Set() };
    throw writeFailed(error, dir, 'cannot read');
  }
  const entries = new Map<string, Entry>();
  const folders = new Set<string>();
  // Each entry's folder relative to out/, worked out once per folder: path.relative for each of a thousand
  // entries was a quarter of listing out/.
  const parents = new Map<string, string>();
  const parentOf = (parentPath: string) => {
    let relative = parents.get(parentPath);
    if (relative === undefined) {
      relative = path.relative(dir, parentPath).split(path.sep).join('/');
      if (relative !== '') relative += '/';
      parents.set(parentPath, relative);
    }
    return relative;
  };
  for (const dirent of dirents) {
    const relative = parentOf(dirent.parentPath) + dirent.name;
    if (dirent.isDirectory()) folders.add(relative);
    else entries.set(relative, dirent);
  }
  return { exists: true, entries, folders };
}

/** The generator mark every index page of Kurier carries (templates/index.hbs). */
const GENERATOR_MARK = '<meta name="generator" content="Kurier">';

function isKurierIndex(disk: Disk, existing: Listing, file: string): boolean {
  if (existing.entries.get('index.html')?.isFile() !== true) return false;
  try {
    return disk.readFileSync(file, 'utf8').includes(GENERATOR_MARK);
  } catch {
    return false;
  }
}

function readManifest(disk: Disk, file: string): Set<string> | undefined {
  let text: string;
  try {
    text = disk.readFileSync(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw writeFailed(error, file, 'cannot read');
  }
  const files = (() => {
    try {
      return (JSON.parse(text) as { files?: unknown }).files;
    } catch {
      return undefined;
    }
  })();
  if (!Array.isArray(files) || !files.every((name) => typeof name === 'string')) {
    throw new KurierError(
      'OUT_DIR_UNSAFE',
      'the list of files the build wrote is damaged, so Kurier cannot tell its files from yours: check that the output folder holds only built files, delete it and this list, and build again.',
      { file },
    );
  }
  return new Set(files);
}

function writeManifest(disk: Disk, file: string, outName: string, files: Iterable<string>): void {
  const temporary = `${file}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    disk.mkdirSync(path.dirname(file), { recursive: true });
    disk.writeFileSync(temporary, `${JSON.stringify({ out: outName, files: [...files].sort() }, null, 1)}\n`);
    disk.renameSync(temporary, file);
  } catch (error) {
    disk.rmSync(temporary, { force: true });
    throw new KurierError(
      'WRITE_FAILED',
      `cannot write the private state folder (${messageOf(error)}); ${outName}/ was not changed. Make the folder writable, free some space, or choose another with --state or KURIER_STATE_DIR.`,
      { file, cause: error },
    );
  }
}

function writeFailed(error: unknown, file: string, what: string): KurierError {
  return new KurierError(
    'WRITE_FAILED',
    `${what} it (${messageOf(error)}); the output folder was left as it was. Free some space or fix the permissions, then build again.`,
    { file, cause: error },
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Files that link to others go last: a reader who follows a link during the build finds the page there. */
function linkRank(file: string): number {
  if (file === 'feed.xml' || file === 'rss.xml' || file === 'feed.json') return 3;
  if (file === 'index.html') return 2;
  if (/\/(?:index\.html|email\.html|email\.txt)$/.test(file)) return 1;
  return 0;
}

function checkPath(outDir: string, outName: string, file: string): void {
  const long = file.split('/').find((name) => Buffer.byteLength(name) > NAME_MAX);
  if (long !== undefined) {
    throw new KurierError(
      'PATH_TOO_LONG',
      `${outName}/${file}: the name "${long.slice(0, 40)}…" has ${Buffer.byteLength(long)} bytes; file systems allow ${NAME_MAX}. Shorten the slug or the file name.`,
    );
  }
  const full = Buffer.byteLength(path.join(outDir, file));
  if (full > PATH_MAX) {
    throw new KurierError(
      'PATH_TOO_LONG',
      `${outName}/${file}: the path has ${full} bytes; the limit is ${PATH_MAX}. Shorten the slug or the file name, or build into a folder with a shorter path.`,
    );
  }
}

function listNames(names: readonly string[], outName: string): string {
  const shown = names.slice(0, 3).map((name) => `${outName}/${name}`);
  return names.length > 3 ? `${shown.join(', ')} and ${names.length - 3} more` : shown.join(', ');
}

/** "a/b/c.html" → ["a", "a/b"] */
function ancestorsOf(file: string): string[] {
  const parts = file.split('/').slice(0, -1);
  return parts.map((_, index) => parts.slice(0, index + 1).join('/'));
}

/**
 * A first build's folder beside out/: every file is written straight into it, and it is renamed into place
 * whole at the end. No temporary name and rename per file (a third of the system calls); a failure removes
 * it, and out/ never existed. The build writes each page into it as soon as it has the page (writeFreshPage),
 * while the rest is still parsed and rendered.
 */
export interface FreshOut {
  readonly dir: string;
  /** The files given to writeFreshPage, with their sizes; one whose write failed is moved to `failed`. */
  readonly files: Map<string, number>;
  /** Writes under way on libuv's threads. */
  readonly pending: Set<Promise<void>>;
  /** Pages whose write failed: the build writes them with the rest, and writeOut reports what fails. */
  readonly failed: Map<string, Uint8Array>;
}

/** Removes the fresh folders of first builds killed halfway: they never became out/. */
function removeFreshLitter(disk: Disk, outDir: string): void {
  const prefix = `.${path.basename(outDir)}.kurier-`;
  for (const name of disk.readdirSync(path.dirname(outDir))) {
    if (name.startsWith(prefix) && /^[0-9a-f]{8}\.tmp$/.test(name.slice(prefix.length))) {
      disk.rmSync(path.join(path.dirname(outDir), name), { recursive: true, force: true });
    }
  }
}

function freshDirOf(outDir: string): string {
  return path.join(
    path.dirname(outDir),
    `.${path.basename(outDir)}.kurier-${randomBytes(4).toString('hex')}.tmp`,
  );
}

/** Makes the fresh folder of a first build, or undefined when out/ exists or the folder cannot be made. */
export function startFreshOut(outDir: string, disk: Disk = realDisk): FreshOut | undefined {
  try {
    if (disk.lstatSync(outDir, { throwIfNoEntry: false }) !== undefined) return undefined;
    removeFreshLitter(disk, outDir);
    const dir = freshDirOf(outDir);
    disk.mkdirSync(dir);
    return { dir, files: new Map(), pending: new Set(), failed: new Map() };
  } catch {
    // The writer tries again at the end, and reports what stops it.
    return undefined;
  }
}

/**
 * Removes the fresh folder unless it became out/: after a failed build, or one that did not need it. Its
 * writes end first, or one still under way would make the folder again.
 */
export async function discardFreshOut(fresh: FreshOut | undefined, disk: Disk = realDisk): Promise<void> {
  if (fresh === undefined) return;
  await settleFreshOut(fresh);
  removeFreshOut(fresh, disk);
}

function removeFreshOut(fresh: FreshOut, disk: Disk): void {
  disk.rmSync(fresh.dir, { recursive: true, force: true });
}

// Enough to keep libuv's four threads busy; each waiting page holds its bytes.
const MAX_PENDING = 32;

/**
 * Writes one page into a first build's fresh folder ahead of writeOut; false when it could not, and then
 * the build writes it with the rest and writeOut reports what fails. A path is written only once: a second
 * page there (two articles with one slug) is refused, and the build reports the clash. For the pages the
 * parse workers render: this thread writes them between its chunks, while a worker has the other core.
 */
export function writeFreshPage(fresh: FreshOut, file: string, bytes: Uint8Array): boolean {
  if (fresh.files.has(file)) return false;
  try {
    const target = path.join(fresh.dir, ...file.split('/'));
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, bytes, { flag: 'wx' });
  } catch {
    return false;
  }
  fresh.files.set(file, bytes.byteLength);
  return true;
}

/**
 * As writeFreshPage, but on libuv's threads, for the pages of a site parsed on this thread alone (rendered by
 * the email thread during the parse, or here after it): with the email thread busy on the other core, each
 * synchronous mkdir and write waited for a core (0.4 ms each at the median, against 0.06 ms alone: 1 s of a
 * 1,000-article build). Not for the workers' pages: beside a parse worker, libuv's threads took the cores
 * from it (10,000 articles: 7.6 s of system time against 5.1). A write that fails lands in `failed`
 * (settleFreshOut).
 */
export function writeFreshPageInBackground(fresh: FreshOut, file: string, bytes: Uint8Array): boolean {
  if (fresh.files.has(file)) return false;
  fresh.files.set(file, bytes.byteLength);
  const target = path.join(fresh.dir, ...file.split('/'));
  const written: Promise<void> = fs.promises
    .mkdir(path.dirname(target), { recursive: true })
    .then(() => fs.promises.writeFile(target, bytes, { flag: 'wx' }))
    .catch(() => {
      fresh.files.delete(file);
      fresh.failed.set(file, bytes);
    })
    .finally(() => fresh.pending.delete(written));
  fresh.pending.add(written);
  return true;
}

/** Resolves when fewer writes are under way than keep libuv busy: so no page waits long in memory. */
export async function whileFreshOutBusy(fresh: FreshOut): Promise<void> {
  while (fresh.pending.size >= MAX_PENDING) await Promise.race(fresh.pending);
}

/** Waits for every write under way; then `files` holds what is on disk, and `failed` what is not. */
export async function settleFreshOut(fresh: FreshOut): Promise<void> {
  while (fresh.pending.size > 0) await Promise.all(fresh.pending);
}

/** The pages written ahead, read back: out/ appeared while the build ran (another build made it). */
function readFreshPages(disk: Disk, fresh: FreshOut, outName: string): OutputFile[] {
  return [...fresh.files.keys()].map((file) => {
    try {
      return { path: file, content: disk.readFileSync(path.join(fresh.dir, ...file.split('/'))) };
    } catch (error) {
      throw new KurierError(
        'WRITE_FAILED',
        `another build wrote ${outName}/ while this one ran, and removed what this one had written (${messageOf(error)}); ${outName}/ was not changed. Build again, one build at a time.`,
        { file: `${outName}/${file}`, cause: error },
      );
    }
  });
}

/** Writes `files` into the fresh folder (made here if there is none yet), then renames it to out/. */
function writeFresh(
  disk: Disk,
  outDir: string,
  outName: string,
  files: readonly { readonly path: string; readonly bytes: Uint8Array }[],
  started: FreshOut | undefined,
): void {
  if (started === undefined) removeFreshLitter(disk, outDir);
  const fresh = started?.dir ?? freshDirOf(outDir);
  // Folders the parse threads made for their pages.
  const folders = new Set([...(started?.files.keys() ?? [])].flatMap(ancestorsOf));
  let current = fresh;
  try {
    if (started === undefined) disk.mkdirSync(fresh);
    for (const file of files) {
      for (const folder of ancestorsOf(file.path)) {
        if (folders.has(folder)) continue;
        current = path.join(fresh, ...folder.split('/'));
        disk.mkdirSync(current);
        folders.add(folder);
      }
      current = path.join(fresh, ...file.path.split('/'));
      disk.writeFileSync(current, file.bytes, { flag: 'wx' });
    }
    current = outDir;
    disk.renameSync(fresh, outDir);
  } catch (error) {
    disk.rmSync(fresh, { recursive: true, force: true });
    if (error instanceof KurierError) throw error;
    const shown = [outName, ...path.relative(fresh, current).split(path.sep)].filter(Boolean).join('/');
    throw writeFailed(error, shown, 'cannot write');
  }
}

/** What the commit did, in order, so that a failure can undo it. */
type Step =
  | { readonly kind: 'created'; readonly target: string }
  | { readonly kind: 'replaced'; readonly target: string; readonly backup: string }
  | { readonly kind: 'removed'; readonly target: string; readonly backup: string };

/**
 * Makes `outDir` hold exactly `files`. Nothing in out/ changes until every path is checked and every new file
 * is written under a temporary name next to its place; then pages are renamed into place before the index
 * and the feeds that link to them, and files the build no longer makes are removed. A failure at any point
 * removes what was created and puts back what was replaced or removed. Files whose bytes are already there
 * are not touched. Files are not fsynced one by one: out/ can be rebuilt from content/ at any time, and
 * 10,000 fsyncs would cost more than the whole build.
 *
 * Synchronous on purpose: for thousands of small files, fs/promises makes every open, stat, read and close a
 * round trip through libuv's four-thread pool; comparing 1,000 unchanged pages took 150 ms that way and 20 ms
 * like this. Creating files costs the same either way: it is bound by the disk.
 */
export function writeOut(
  outDir: string,
  rendered: readonly OutputFile[],
  options: WriteOptions,
): WrittenFile[] {
  const disk = options.disk ?? realDisk;
  const { outName, memory } = options;
  const remembered = isOutRemembered(outDir, memory, disk) ? memory?.state : undefined;
  // Forgotten until this write has succeeded: after a failure, out/ is listed again.
  if (memory !== undefined) memory.state = undefined;
  const previous = remembered?.manifest ?? readManifest(disk, options.manifestFile);
  const existing =
    remembered === undefined ? listOut(disk, outDir) : listRemembered(disk, outDir, remembered, rendered);
  // Pages already in a first build's fresh folder. When out/ appeared while the build ran, they are read
  // back and written like the rest.
  let files = rendered;
  let ahead: FreshOut | undefined = options.fresh;
  if (ahead !== undefined && existing.exists) {
    files = [...rendered, ...readFreshPages(disk, ahead, outName)];
    removeFreshOut(ahead, disk);
    ahead = undefined;
  }
  const remember = (folders: ReadonlySet<string>, manifest: ReadonlySet<string>) => {
    const stamp = memory === undefined ? undefined : statStamp(disk, outDir);
    if (memory !== undefined && stamp !== undefined) {
      memory.state = { outDir, stamp, files: produced, folders, manifest };
    }
  };

  const target = (file: string) => path.join(outDir, ...file.split('/'));
  // Unchanged files are compared before anything is written; the rest are written in link order.
  const written: WrittenFile[] = [];
  const pending: { readonly path: string; readonly bytes: Uint8Array }[] = [];
  const identical = new Set<string>();
  for (const file of files) {
    const bytes = typeof file.content === 'string' ? Buffer.from(file.content) : file.content;
    const entry = existing.entries.get(file.path);
    const same =
      entry?.isFile() === true &&
      (entry.size === undefined || entry.size === bytes.byteLength) &&
      (() => {
        try {
          return disk.readFileSync(target(file.path)).equals(bytes);
        } catch {
          return false;
        }
      })();
    written.push({ path: file.path, bytes: bytes.byteLength, changed: !same });
    if (same) identical.add(file.path);
    else pending.push({ path: file.path, bytes });
  }
  for (const [file, bytes] of options.current ?? []) {
    if (existing.entries.get(file)?.isFile() !== true) {
      throw new KurierError('WRITE_FAILED', `${outName}/${file} changed while the build ran; build again.`, {
        file: `${outName}/${file}`,
      });
    }
    written.push({ path: file, bytes, changed: false });
    identical.add(file);
  }
  for (const [file, bytes] of ahead?.files ?? []) written.push({ path: file, bytes, changed: true });
  pending.sort((a, b) => linkRank(a.path) - linkRank(b.path));

  const litter = [...existing.entries.keys()].filter((name) => LITTER.test(path.posix.basename(name)));
  // A file that already holds exactly what the build makes loses nothing when it is kept as the build's: so
  // a fresh clone of a repository with a committed docs/ builds without its list of written files.
  const produced = new Set([
    ...files.map((file) => file.path),
    ...(options.current?.keys() ?? []),
    ...(ahead?.files.keys() ?? []),
  ]);
  // Without a list, a folder whose index page Kurier generated was built by an earlier version (before the
  // list existed): its files at paths this build makes are the build's, even where the pages changed since.
  const adopted = previous === undefined && isKurierIndex(disk, existing, target('index.html'));
  const foreign = [...existing.entries]
    .filter(
      ([name, dirent]) =>
        !litter.includes(name) &&
        (!dirent.isFile() ||
          (previous?.has(name) !== true && !identical.has(name) && !(adopted && produced.has(name)))),
    )
    .map(([name]) => name)
    .sort();
  if (foreign.length > 0) {
    const links = foreign.filter((name) => existing.entries.get(name)?.isSymbolicLink());
    throw new KurierError(
      'OUT_DIR_UNSAFE',
      links.length > 0
        ? `${listNames(links, outName)} is a symbolic link; Kurier never writes through links. Remove the link (rm ${outName}/${links[0]}) and build again.`
        : `${outName}/ holds ${foreign.length === 1 ? 'a file' : `${foreign.length} files`} Kurier did not write (${listNames(foreign, outName)}). ` +
            `A build removes what it no longer makes, so it only builds into an empty folder or one it built before: ` +
            `move files you want published to static/ (copied into every build), or choose another --out.` +
            (previous === undefined
              ? ` If they are all from an earlier build (before Kurier kept a list of its files in the state folder), delete ${outName}/ and build again.`
              : ''),
    );
  }

  for (const file of [...files.map((file) => file.path), ...(ahead?.files.keys() ?? [])]) {
    checkPath(outDir, outName, file);
  }
  const folderClash = files.find((file) => existing.folders.has(file.path));
  if (folderClash !== undefined) {
    throw new KurierError(
      'OUT_DIR_UNSAFE',
      `${outName}/${folderClash.path} is a folder, but the build makes a file of that name: remove the folder and build again.`,
    );
  }
  const obsolete = [...existing.entries.keys()].filter(
    (name) => !produced.has(name) && !litter.includes(name),
  );
  // Only when something is removed or out/ is new: ~2,000 paths split again on every save of kurier serve.
  let needed: Set<string> | undefined;
  const neededFolders = () => {
    needed ??= new Set([...produced].flatMap(ancestorsOf));
    return needed;
  };

  if (pending.length === 0 && obsolete.length === 0 && litter.length === 0 && previous !== undefined) {
    remember(existing.folders, previous);
    return written;
  }
  // Recorded before out/ changes, as everything that may be Kurier's: a build that stops halfway can still
  // tell its own files from the user's next time.
  // An edit in `kurier serve` makes no new file: the list on disk names them all already.
  const listed = previous !== undefined && [...produced].every((name) => previous.has(name));
  let manifest: ReadonlySet<string> | undefined = previous;
  if (!listed) {
    manifest = new Set([...(previous ?? []), ...produced]);
    writeManifest(disk, options.manifestFile, outName, manifest);
  }
  if (!existing.exists) {
    writeFresh(disk, outDir, outName, pending, ahead);
    try {
      writeManifest(disk, options.manifestFile, outName, produced);
      manifest = produced;
    } catch {
      // out/ is complete; the list written before names every file of it.
    }
    if (manifest !== undefined) remember(neededFolders(), manifest);
    return written;
  }

  const tag = randomBytes(4).toString('hex');
  let counter = 0;
  const scratch = (file: string, kind: 'tmp' | 'old') =>
    path.join(path.dirname(target(file)), `.kurier-${tag}-${counter++}.${kind}`);
  const createdFolders: string[] = [];
  // The folders of out/ by "/"-separated name, as the write leaves them.
  const folders = new Set(existing.folders);
  const staged: { readonly path: string; readonly temporary: string }[] = [];
  const steps: Step[] = [];

  const undo = () => {
    for (const step of steps.reverse()) {
      try {
        if (step.kind === 'created') disk.rmSync(step.target, { force: true });
        else {
          disk.renameSync(step.backup, step.target);
          // When the new file never took the old one's place, backup and target are links to one file, and
          // rename(2) then leaves both names.
          disk.rmSync(step.backup, { force: true });
        }
      } catch {
        // Keep undoing the rest; the error that stopped the build is what the writer must hear about.
      }
    }
    for (const { temporary } of staged) disk.rmSync(temporary, { force: true });
    for (const folder of createdFolders.reverse()) {
      try {
        disk.rmdirSync(folder);
      } catch {
        // Not empty: it holds a file this build could not remove; the error is reported already.
      }
    }
  };

  let current = outDir;
  try {
    // A file the build no longer makes may stand where a folder is needed now ("a" → "a/index.html").
    for (const name of obsolete.filter((candidate) => neededFolders().has(candidate))) {
      current = target(name);
      const backup = scratch(name, 'old');
      disk.renameSync(current, backup);
      steps.push({ kind: 'removed', target: current, backup });
    }
    if (!existing.exists) {
      current = outDir;
      disk.mkdirSync(outDir, { recursive: true });
      createdFolders.push(outDir);
    }
    for (const file of pending) {
      for (const folder of ancestorsOf(file.path)) {
        if (folders.has(folder)) continue;
        current = target(folder);
        try {
          disk.mkdirSync(current);
          createdFolders.push(current);
        } catch (error) {
          // EEXIST for a link or file instead of a folder would send the file elsewhere: refuse.
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !disk.lstatSync(current).isDirectory()) {
            throw error;
          }
        }
        folders.add(folder);
      }
      current = target(file.path);
      const temporary = scratch(file.path, 'tmp');
      staged.push({ path: file.path, temporary });
      disk.writeFileSync(temporary, file.bytes, { flag: 'wx' });
    }
    for (const { path: file, temporary } of staged) {
      current = target(file);
      if (existing.entries.has(file)) {
        const backup = scratch(file, 'old');
        try {
          disk.linkSync(current, backup);
        } catch (error) {
          // No hard links on this file system (FAT, some network mounts): a copy keeps the old bytes too.
          if (!LINKS_UNSUPPORTED.has((error as NodeJS.ErrnoException).code ?? '')) throw error;
          disk.copyFileSync(current, backup);
        }
        steps.push({ kind: 'replaced', target: current, backup });
        disk.renameSync(temporary, current);
      } else {
        disk.renameSync(temporary, current);
        steps.push({ kind: 'created', target: current });
      }
    }
    for (const name of obsolete.filter((candidate) => !neededFolders().has(candidate))) {
      current = target(name);
      const backup = scratch(name, 'old');
      disk.renameSync(current, backup);
      steps.push({ kind: 'removed', target: current, backup });
    }
  } catch (error) {
    undo();
    if (error instanceof KurierError) throw error;
    const shown = [outName, ...path.relative(outDir, current).split(path.sep)].filter(Boolean).join('/');
    throw writeFailed(error, shown, 'cannot write');
  }

  // Committed. What follows only tidies up: a backup or litter left behind is removed by the next build.
  for (const step of steps) if (step.kind !== 'created') disk.rmSync(step.backup, { force: true });
  for (const name of litter) disk.rmSync(target(name), { force: true });
  const emptied = new Set([...obsolete, ...litter].flatMap(ancestorsOf));
  for (const folder of [...emptied]
    .filter((name) => !neededFolders().has(name))
    .sort((a, b) => b.length - a.length)) {
    try {
      disk.rmdirSync(target(folder));
      folders.delete(folder);
    } catch {
      // Not empty: it still holds something, such as an empty folder of the user's.
    }
  }
  if (!listed || previous.size !== produced.size) {
    try {
      writeManifest(disk, options.manifestFile, outName, produced);
      manifest = produced;
    } catch {
      // out/ is complete; the list written before the commit still names every file of it, and more.
    }
  }
  if (manifest !== undefined) remember(folders, manifest);
  return written;
}
