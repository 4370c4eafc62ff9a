#!/usr/bin/env node
// Runs Kurier from its TypeScript sources. Node 20 cannot run TypeScript, so esbuild bundles src/ first
// (~50 ms, on every run, so the bundle is never stale); a per-module loader such as tsx costs ~0.35 s of
// start-up on each build instead. Dependencies stay in node_modules and load as usual.
import { createHash } from 'node:crypto';
import { mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cacheDir = path.join(root, 'node_modules', '.cache', 'kurier');

const result = await build({
  // Worker threads are entries of their own; src/threads.ts starts them from beside the main bundle.
  entryPoints: [path.join(root, 'src', 'kurier.ts'), path.join(root, 'src', 'content', 'parse-worker.ts')],
  entryNames: '[name]',
  outdir: cacheDir,
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

// One folder per content, renamed into place whole: two runs at once (a second `publish`, which the send lock
// must refuse) never read a half-written bundle.
const hash = createHash('sha256');
for (const file of result.outputFiles) hash.update(file.path).update(file.contents);
const name = hash.digest('hex').slice(0, 16);
const folder = path.join(cacheDir, name);
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
process.setSourceMapsEnabled(true);
await import(pathToFileURL(path.join(folder, 'kurier.js')).href);
