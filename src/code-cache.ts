// Loads the CommonJS bundles of packages that bin/kurier.js writes beside the bundle of src/ (bin/packages.js)
// with a V8 code cache beside each: with the cache V8 neither parses nor compiles the functions that the
// first run used, which halves MJML's load and that of the render path's packages.

import { readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Script } from 'node:vm';
import { threadId } from 'node:worker_threads';

/**
 * Whether the load used the cache file; "rejected": damaged, or refused by V8 (another V8 version or flags).
 * A missing or rejected one is written anew by `writeCodeCache`.
 */
export type CodeCacheState = 'used' | 'missing' | 'rejected';

export interface CachedModule {
  /** The file's `module.exports`. */
  readonly exports: unknown;
  readonly codeCache: CodeCacheState;
  /**
   * Writes the cache file if the load could not use it. Called after the module has done its work once, so
   * that the cache holds the functions V8 compiled lazily on the way, not only the top level.
   */
  writeCodeCache(): void;
}

// V8 checks a code cache's version, flags and source length, but its checksum only in debug builds
// (--verify-snapshot-checksum): a damaged file could be accepted and run. Hence a checksum of our own: a
// CRC-32 finds damage (a torn or flipped file, not an attacker, who could change the bundle beside it as
// well) and costs ~1 ms for MJML's cache in a new thread, where loading node:crypto for SHA-256 cost ~6.
const MAGIC = Buffer.from('kurier-v8-cache-2\n');
const DIGEST_BYTES = 4;

/** Runs `file` as a CommonJS module, from `cacheFile`'s code cache when that is intact and V8 accepts it. */
export function readCachedModule(file: string, cacheFile: string): CachedModule {
  const source = readFileSync(file, 'utf8');
  // The bundle of an unchanged lock file is never rewritten in place; its size and time identify it.
  const { size, mtimeMs } = statSync(file);
  const identity = `${size}:${mtimeMs}`;
  const cachedData = readCodeCache(cacheFile, identity);
  const usable = cachedData === 'damaged' || cachedData === undefined ? undefined : cachedData;
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, {
    filename: file,
    ...(usable === undefined ? {} : { cachedData: usable }),
  });
  const codeCache: CodeCacheState =
    cachedData === undefined
      ? 'missing'
      : cachedData === 'damaged' || script.cachedDataRejected === true
        ? 'rejected'
        : 'used';
  const module = { exports: {} as unknown };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  let written = codeCache === 'used';
  return {
    exports: module.exports,
    codeCache,
    writeCodeCache() {
      if (written) return;
      written = true;
      writeCodeCache(cacheFile, identity, script.createCachedData());
    },
  };
}

function readCodeCache(cacheFile: string, identity: string): Buffer | 'damaged' | undefined {
  let file: Buffer;
  try {
    file = readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const start = MAGIC.length + DIGEST_BYTES;
  if (file.length <= start || !file.subarray(0, MAGIC.length).equals(MAGIC)) return 'damaged';
  const data = file.subarray(start);
  return digest(identity, data).equals(file.subarray(MAGIC.length, start)) ? data : 'damaged';
}

function writeCodeCache(cacheFile: string, identity: string, data: Buffer): void {
  // Written under a name of its own and renamed into place, so that a thread reading it at the same time
  // sees the old file or the new one, never half of one.
  const temporary = `${cacheFile}.${process.pid}.${threadId}.tmp`;
  try {
    writeFileSync(temporary, Buffer.concat([MAGIC, digest(identity, data), data]));
    renameSync(temporary, cacheFile);
  } catch {
    // Only a cache: where node_modules is read-only, every run compiles MJML again, as it would without one.
    rmSync(temporary, { force: true });
  }
}

// Loaded on first use: a build that loads no package (nothing changed) does not load node:zlib (~1 ms).
let zlib: typeof import('node:zlib') | undefined;

function digest(identity: string, data: Buffer): Buffer {
  zlib ??= createRequire(import.meta.url)('node:zlib') as typeof import('node:zlib');
  const sum = Buffer.alloc(DIGEST_BYTES);
  sum.writeUInt32BE(zlib.crc32(data, zlib.crc32(`${identity}\0`)));
  return sum;
}

const packed = new Map<string, CachedModule>();

/**
 * The package `name` from its bundle beside this module, once per thread. The bundle of src/ imports the
 * packages of bin/packages.js through this (its esbuild plugin); the sources import them as they are.
 */
export function requirePacked(name: string): unknown {
  let loaded = packed.get(name);
  if (loaded === undefined) {
    const file = fileURLToPath(new URL(`./${name}.cjs`, import.meta.url));
    loaded = readCachedModule(file, `${file}.v8cache`);
    packed.set(name, loaded);
  }
  return loaded.exports;
}

/**
 * Writes the code cache of each bundle this thread loaded without a usable one. Called when a command or a
 * thread's task is done, so that the cache holds the functions compiled on the way, not only the top level.
 */
export function writeCodeCaches(): void {
  for (const loaded of packed.values()) loaded.writeCodeCache();
}
