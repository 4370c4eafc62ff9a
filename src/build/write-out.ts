// The one writer of out/: every file goes into a staging folder, which then replaces out/ in one step.

import { mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { KurierError } from '../error.ts';
import type { OutputFile } from '../model.ts';

export interface WrittenFile {
  readonly path: string;
  readonly bytes: number;
}

/**
 * Refuses output folders whose replacement would destroy the project: out/ is deleted and recreated on every
 * build, so it must be a folder of its own below the project root.
 */
export async function checkOutDir(root: string, outDir: string): Promise<void> {
  const relative = path.relative(path.resolve(root), path.resolve(outDir));
  const inside = relative !== '' && !relative.startsWith('..') && !path.isAbsolute(relative);
  const forbidden = ['content', 'templates', 'src', 'tests', 'node_modules', '.git', '.kurier'];
  if (!inside || forbidden.includes(relative.split(path.sep)[0] ?? '')) {
    throw new KurierError(
      'OUT_DIR_UNSAFE',
      `the output folder ${outDir} is not a folder of its own inside the project; every build replaces it, so choose e.g. out/.`,
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

/**
 * Writes `files` into a staging folder beside `outDir`, then swaps it in. A build that fails, or a process
 * that dies, before the swap leaves the previous out/ as it was; readers of out/ never see a half-written
 * site. Files are not fsynced one by one: out/ is regenerated from content/ at any time, and 10,000 fsyncs
 * would cost more than the whole build.
 */
export async function writeOut(outDir: string, files: Iterable<OutputFile>): Promise<WrittenFile[]> {
  const parent = path.dirname(path.resolve(outDir));
  const base = path.basename(outDir);
  const staging = path.join(parent, `.${base}.staging-${process.pid}`);
  const retired = path.join(parent, `.${base}.old-${process.pid}`);
  await rm(staging, { recursive: true, force: true });
  const written: WrittenFile[] = [];
  try {
    // Each file's folder is created once, and writes run a bounded number at a time: awaiting them one by
    // one would leave the disk idle between round trips through libuv's thread pool.
    const folders = new Map<string, Promise<unknown>>();
    const inFlight = new Set<Promise<void>>();
    let failure: { error: unknown } | undefined;
    for (const file of files) {
      if (failure !== undefined) throw failure.error;
      const target = path.join(staging, ...file.path.split('/'));
      const folder = path.dirname(target);
      let folderReady = folders.get(folder);
      if (folderReady === undefined) {
        folderReady = mkdir(folder, { recursive: true });
        folders.set(folder, folderReady);
      }
      const tracked: Promise<void> = folderReady
        .then(() => writeFile(target, file.content))
        .catch((error: unknown) => {
          failure ??= { error };
        })
        .finally(() => inFlight.delete(tracked));
      inFlight.add(tracked);
      if (inFlight.size >= 128) await Promise.race(inFlight);
      const bytes =
        typeof file.content === 'string' ? Buffer.byteLength(file.content) : file.content.byteLength;
      written.push({ path: file.path, bytes });
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure.error;
    await mkdir(staging, { recursive: true });
    const hadPrevious = await stat(outDir).then(
      () => true,
      () => false,
    );
    if (hadPrevious) await rename(outDir, retired);
    try {
      await rename(staging, outDir);
    } catch (error) {
      if (hadPrevious) await rename(retired, outDir);
      throw error;
    }
    if (hadPrevious) await rm(retired, { recursive: true, force: true });
    return written;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
