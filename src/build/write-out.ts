// The one writer of out/: brings it to exactly the rendered files, each file replaced atomically, unchanged
// files left alone.

import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';
import type { OutputFile } from '../model.ts';

export interface WrittenFile {
  readonly path: string;
  readonly bytes: number;
  /** False when out/ already held exactly these bytes, so the file was not touched. */
  readonly changed: boolean;
}

/**
 * Refuses output folders whose cleaning would destroy the project: files in out/ that the build did not make
 * are deleted, so it must be a folder of its own below the project root.
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
  const existing = await stat(outDir).catch(() => undefined);
  if (existing !== undefined && !existing.isDirectory()) {
    throw new KurierError(
      'OUT_DIR_UNSAFE',
      `${outDir} exists and is not a folder: move it away or choose another --out.`,
    );
  }
}

/** Runs `task` for every item, at most `limit` at a time: enough to keep the disk busy, few enough for fds. */
async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) await task(items[index] as T);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

async function listFiles(dir: string): Promise<{ files: string[]; folders: string[] }> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const relative = (entry: { parentPath: string; name: string }) =>
    path.relative(dir, path.join(entry.parentPath, entry.name)).split(path.sep).join('/');
  return {
    files: entries.filter((entry) => !entry.isDirectory()).map(relative),
    folders: entries.filter((entry) => entry.isDirectory()).map(relative),
  };
}

/**
 * Makes `outDir` hold exactly `files`. Everything is rendered before this runs, so a build that fails on
 * its content or templates never reaches out/. Each changed file is written to a temporary name and renamed
 * over the old one, so a web server never serves half a page; files whose bytes are already there are not
 * touched (on this project's ext4 disks creating a file costs ~0.5 ms, comparing one ~0.02 ms), and files
 * the build no longer makes are deleted. Files are not fsynced one by one: out/ can be rebuilt from content/
 * at any time, and 10,000 fsyncs would cost more than the whole build.
 */
export async function writeOut(outDir: string, files: readonly OutputFile[]): Promise<WrittenFile[]> {
  const existing = await listFiles(outDir);
  const existingFiles = new Set(existing.files);
  const suffix = `.kurier-${randomBytes(4).toString('hex')}.tmp`;
  const folders = new Map<string, Promise<unknown>>();
  const ensureFolder = (folder: string) => {
    let ready = folders.get(folder);
    if (ready === undefined) {
      ready = mkdir(folder, { recursive: true });
      folders.set(folder, ready);
    }
    return ready;
  };

  const written: WrittenFile[] = new Array(files.length);
  const order = files.map((file, index) => ({ file, index }));
  await forEachLimited(order, 64, async ({ file, index }) => {
    const target = path.join(outDir, ...file.path.split('/'));
    const bytes = typeof file.content === 'string' ? Buffer.from(file.content) : file.content;
    if (existingFiles.has(file.path)) {
      const current = await readFile(target).catch(() => undefined);
      if (current?.equals(bytes)) {
        written[index] = { path: file.path, bytes: bytes.byteLength, changed: false };
        return;
      }
    }
    await ensureFolder(path.dirname(target));
    const temporary = `${target}${suffix}`;
    try {
      await writeFile(temporary, bytes);
      await rename(temporary, target);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
    written[index] = { path: file.path, bytes: bytes.byteLength, changed: true };
  });

  const produced = new Set(files.map((file) => file.path));
  await forEachLimited(
    existing.files.filter((file) => !produced.has(file)),
    64,
    (file) => rm(path.join(outDir, ...file.split('/')), { force: true }),
  );
  // Deepest first, so a folder emptied by removing its subfolders goes too; a folder still in use stays.
  const keptFolders = new Set(files.flatMap((file) => ancestorsOf(file.path)));
  for (const folder of existing.folders
    .filter((name) => !keptFolders.has(name))
    .sort((a, b) => b.length - a.length)) {
    await rmdir(path.join(outDir, ...folder.split('/'))).catch(() => undefined);
  }
  return written;
}

/** "a/b/c.html" → ["a", "a/b"] */
function ancestorsOf(file: string): string[] {
  const parts = file.split('/').slice(0, -1);
  return parts.map((_, index) => parts.slice(0, index + 1).join('/'));
}
