#!/usr/bin/env node
// Runs Kurier from its TypeScript sources. Node 20 cannot run TypeScript, so esbuild bundles src/, once per
// version of the sources: the bundle's folder is named by a hash of every file below src/ (and of the
// lock file, whose packages the bundle imports), so a run whose sources are unchanged loads the bundle
// without loading esbuild (hashing ~300 KB costs ~3 ms; loading esbuild and bundling ~90 ms). The folder's
// name is also the code version that the build's caches are keyed by (src/cli.ts). Beside it go the
// packages that a build loads, one CommonJS file each (bin/packages.js), which load with a V8 code cache in
// a quarter to a half of the packages' time.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import module from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundlePackage, PACKAGES, packedImports } from './packages.js';

/** Bumped when the bundling below changes, so that bundles made the old way are not reused. */
const BUNDLER = 'kurier-bundle-5';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = path.join(root, 'node_modules', '.cache', 'kurier');
const lockFile = path.join(root, 'package-lock.json');

/**
 * The name of the packages' bundles: they depend on the installed packages and on how they are bundled, not
 * on src/, so an edit of the sources copies them into their new folder instead of bundling them again (~1 s).
 */
function namePackagesBundle() {
  const hash = createHash('sha256').update(BUNDLER);
  hash.update(existsSync(lockFile) ? readFileSync(lockFile) : '').update('\0');
  hash.update(readFileSync(fileURLToPath(new URL('./packages.js', import.meta.url)))).update('\0');
  return `packages-${hash.digest('hex').slice(0, 16)}`;
}

/** The bundle's name: its sources, and through `packagesName` the lock file and how packages are bundled. */
function hashSources(packagesName) {
  const hash = createHash('sha256').update(BUNDLER).update(packagesName);
  const src = path.join(root, 'src');
  const files = readdirSync(src, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => path.join(entry.parentPath, entry.name))
    .sort();
  for (const file of files) {
    hash.update(path.relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

/** Writes the named folder of the packages' bundles once (atomically, as the folder below); returns its path. */
async function writePackagesBundle(packagesName, build) {
  const folder = path.join(cacheDir, packagesName);
  if (PACKAGES.every((name) => existsSync(path.join(folder, `${name}.cjs`)))) return folder;
  const texts = await Promise.all(PACKAGES.map((name) => bundlePackage(root, build, name)));
  const staging = path.join(cacheDir, `.${packagesName}.${process.pid}`);
  await mkdir(staging, { recursive: true });
  for (const [index, name] of PACKAGES.entries())
    await writeFile(path.join(staging, `${name}.cjs`), texts[index]);
  await rename(staging, folder).catch(async (error) => {
    await rm(staging, { recursive: true, force: true });
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
  });
  return folder;
}

async function writeBundle(name, folder, packagesName) {
  const { build } = await import('esbuild');
  const bundles = build({
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
    // A stack trace needs the map's positions, not the sources, which are beside it in src/; without them
    // the maps that Node decodes and parses on every run (process.setSourceMapsEnabled below) are half the size.
    sourcesContent: false,
    write: false,
    logLevel: 'error',
    absWorkingDir: root,
    plugins: [packedImports(path.join(root, 'src', 'code-cache.ts'))],
  });
  const [result, packages] = await Promise.all([bundles, writePackagesBundle(packagesName, build)]);
  // Written to a folder of its own and renamed into place whole: two runs at once (a second `publish`,
  // which the send lock must refuse) never read a half-written bundle.
  const staging = path.join(cacheDir, `.${name}.${process.pid}`);
  await mkdir(staging, { recursive: true });
  for (const file of result.outputFiles)
    await writeFile(path.join(staging, path.basename(file.path)), file.contents);
  // Their code caches (src/code-cache.ts) are written beside them on the first run of the folder.
  for (const name of PACKAGES)
    await writeFile(path.join(staging, `${name}.cjs`), await readFile(path.join(packages, `${name}.cjs`)));
  await rename(staging, folder).catch(async (error) => {
    await rm(staging, { recursive: true, force: true });
    if (error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') throw error;
  });
  for (const old of await readdir(cacheDir)) {
    if (old !== name && old !== packagesName && !old.startsWith('.'))
      await rm(path.join(cacheDir, old), { recursive: true, force: true });
  }
}

const packagesName = namePackagesBundle();
const name = hashSources(packagesName);
const folder = path.join(cacheDir, name);
if (!existsSync(path.join(folder, 'kurier.js'))) await writeBundle(name, folder, packagesName);
process.setSourceMapsEnabled(true);
// Node 22.1+ keeps the V8 code of every module it loads from here on (the bundle, the packages) in a
// folder, as src/code-cache.ts does for the packages of bin/packages.js; it lives and goes with the bundle's
// folder.
module.enableCompileCache?.(path.join(folder, 'node-compile-cache'));
await import(pathToFileURL(path.join(folder, 'kurier.js')).href);
