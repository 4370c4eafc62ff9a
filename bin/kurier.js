#!/usr/bin/env node
// Runs Kurier from its TypeScript sources. Node 20 cannot run TypeScript, so esbuild bundles src/, once per
// version of the sources: the bundle's folder is named by a hash of every file below src/ (and of the
// lock file, whose packages the bundle imports), so a run whose sources are unchanged loads the bundle
// without loading esbuild (hashing ~300 KB costs ~3 ms; loading esbuild and bundling ~90 ms). The folder's
// name is also the code version that the build's caches are keyed by (src/cli.ts).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/** Bumped when the bundling below changes, so that bundles made the old way are not reused. */
const BUNDLER = 'kurier-bundle-2';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = path.join(root, 'node_modules', '.cache', 'kurier');

function hashSources() {
  const hash = createHash('sha256').update(BUNDLER);
  const src = path.join(root, 'src');
  const files = readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
  for (const file of [...files, path.join(root, 'package-lock.json')]) {
    const text = existsSync(file) ? readFileSync(file) : '';
    hash.update(path.relative(root, file)).update('\0').update(text).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

async function writeBundle(name, folder) {
  const { build } = await import('esbuild');
  const result = await build({
    // Worker threads are entries of their own; src/threads.ts starts them from beside the main bundle.
    entryPoints: [
      path.join(root, 'src', 'kurier.ts'),
      path.join(root, 'src', 'build', 'parse-worker.ts'),
      path.join(root, 'src', 'build', 'email-worker.ts'),
      path.join(root, 'src', 'store', 'sqlite-worker.ts'),
    ],
    entryNames: '[name]',
    // Each command's modules in chunks of their own, so a build never loads the send side's libraries.
    splitting: true,
    chunkNames: 'chunk-[hash]',
    outdir: folder,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20.19',
    packages: 'external',
    sourcemap: 'inline',
    write: false,
    logLevel: 'error',
    absWorkingDir: root,
  });
  // Written to a folder of its own and renamed into place whole: two runs at once (a second `publish`,
  // which the send lock must refuse) never read a half-written bundle.
  const staging = path.join(cacheDir, `.${name}.${process.pid}`);
  await mkdir(staging, { recursive: true });
  for (const file of result.outputFiles)
    await writeFile(path.join(staging, path.basename(file.path)), file.contents);
  await rename(staging, folder).catch(async (error) => {
    await rm(staging, { recursive: true, force: true });
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
  });
  for (const old of await readdir(cacheDir)) {
    if (old !== name && !old.startsWith('.'))
      await rm(path.join(cacheDir, old), { recursive: true, force: true });
  }
}

const name = hashSources();
const folder = path.join(cacheDir, name);
if (!existsSync(path.join(folder, 'kurier.js'))) await writeBundle(name, folder);
process.setSourceMapsEnabled(true);
await import(pathToFileURL(path.join(folder, 'kurier.js')).href);
