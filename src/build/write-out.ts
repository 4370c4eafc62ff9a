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

interface Listing {
  readonly exists: boolean;
  /** Everything that is not a folder (files, links, sockets …), "/"-separated. */
  readonly entries: Map<string, fs.Dirent>;
  readonly folders: Set<string>;
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
  const entries = new Map<string, fs.Dirent>();
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
 * A first build: every file written straight into a fresh folder beside out/, which is renamed into place
 * whole at the end. No temporary name and rename per file (a third of the system calls); a failure removes
 * the fresh folder, and out/ never existed.
 */
function writeFresh(
  disk: Disk,
  outDir: string,
  outName: string,
  files: readonly { readonly path: string; readonly bytes: Uint8Array }[],
): void {
  const parent = path.dirname(outDir);
  const prefix = `.${path.basename(outDir)}.kurier-`;
  // What a first build killed halfway left behind: it never became out/.
  for (const name of disk.readdirSync(parent)) {
    if (name.startsWith(prefix) && /^[0-9a-f]{8}\.tmp$/.test(name.slice(prefix.length))) {
      disk.rmSync(path.join(parent, name), { recursive: true, force: true });
    }
  }
  const fresh = path.join(parent, `${prefix}${randomBytes(4).toString('hex')}.tmp`);
  const folders = new Set<string>();
  let current = fresh;
  try {
    disk.mkdirSync(fresh);
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
export function writeOut(outDir: string, files: readonly OutputFile[], options: WriteOptions): WrittenFile[] {
  const disk = options.disk ?? realDisk;
  const { outName } = options;
  const previous = readManifest(disk, options.manifestFile);
  const existing = listOut(disk, outDir);

  const target = (file: string) => path.join(outDir, ...file.split('/'));
  // Unchanged files are compared before anything is written; the rest are written in link order.
  const written: WrittenFile[] = [];
  const pending: { readonly path: string; readonly bytes: Uint8Array }[] = [];
  const identical = new Set<string>();
  for (const file of files) {
    const bytes = typeof file.content === 'string' ? Buffer.from(file.content) : file.content;
    const same =
      existing.entries.get(file.path)?.isFile() === true &&
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
  pending.sort((a, b) => linkRank(a.path) - linkRank(b.path));

  const litter = [...existing.entries.keys()].filter((name) => LITTER.test(path.posix.basename(name)));
  // A file that already holds exactly what the build makes loses nothing when it is kept as the build's: so
  // a fresh clone of a repository with a committed docs/ builds without its list of written files.
  const produced = new Set([...files.map((file) => file.path), ...(options.current?.keys() ?? [])]);
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

  for (const file of files) checkPath(outDir, outName, file.path);
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
  const neededFolders = new Set([...produced].flatMap(ancestorsOf));

  if (pending.length === 0 && obsolete.length === 0 && litter.length === 0 && previous !== undefined) {
    return written;
  }
  // Recorded before out/ changes, as everything that may be Kurier's: a build that stops halfway can still
  // tell its own files from the user's next time.
  // An edit in `kurier serve` makes no new file: the list on disk names them all already.
  const listed = previous !== undefined && [...produced].every((name) => previous.has(name));
  if (!listed) {
    writeManifest(disk, options.manifestFile, outName, new Set([...(previous ?? []), ...produced]));
  }
  if (!existing.exists) {
    writeFresh(disk, outDir, outName, pending);
    try {
      writeManifest(disk, options.manifestFile, outName, produced);
    } catch {
      // out/ is complete; the list written before names every file of it.
    }
    return written;
  }

  const tag = randomBytes(4).toString('hex');
  let counter = 0;
  const scratch = (file: string, kind: 'tmp' | 'old') =>
    path.join(path.dirname(target(file)), `.kurier-${tag}-${counter++}.${kind}`);
  const createdFolders: string[] = [];
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
    for (const name of obsolete.filter((candidate) => neededFolders.has(candidate))) {
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
    const folders = new Set([...existing.folders].map(target));
    for (const file of pending) {
      for (const folder of ancestorsOf(file.path).map(target)) {
        if (folders.has(folder)) continue;
        current = folder;
        try {
          disk.mkdirSync(folder);
          createdFolders.push(folder);
        } catch (error) {
          // EEXIST for a link or file instead of a folder would send the file elsewhere: refuse.
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !disk.lstatSync(folder).isDirectory()) {
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
    for (const name of obsolete.filter((candidate) => !neededFolders.has(candidate))) {
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
    .filter((name) => !neededFolders.has(name))
    .sort((a, b) => b.length - a.length)) {
    try {
      disk.rmdirSync(target(folder));
    } catch {
      // Not empty: it still holds something, such as an empty folder of the user's.
    }
  }
  if (listed && previous.size === produced.size) return written;
  try {
    writeManifest(disk, options.manifestFile, outName, produced);
  } catch {
    // out/ is complete; the list written before the commit still names every file of it, and more.
  }
  return written;
}
