// A throwaway copy of the sample project in a temp folder, and the CLI run against it with a fixed clock.

import { spawnSync } from 'node:child_process';
import { cp, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import { main } from '../../src/cli.ts';
import type { Env } from '../../src/context.ts';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const FIXED_NOW = new Date('2026-11-26T10:00:00Z');

/** A fresh project with the sample's content/, templates/ and static/; `bounceAddress` turns on VERP. */
export async function makeProject(options: { readonly bounceAddress?: string } = {}): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'kurier-project-'));
  for (const folder of ['content', 'templates', 'static']) {
    await cp(path.join(repoRoot, folder), path.join(root, folder), { recursive: true });
  }
  if (options.bounceAddress !== undefined) {
    const settings = path.join(root, 'content/site.yaml');
    const yaml = await readFile(settings, 'utf8');
    await writeFile(
      settings,
      yaml.replace(/^( {2}unsubscribeMailto: .*)$/m, `$1\n  bounceAddress: ${options.bounceAddress}`),
    );
  }
  return root;
}

export interface TempFolders {
  /** A fresh project (makeProject). */
  project(): Promise<string>;
  /** An empty folder outside any project. */
  folder(prefix: string): Promise<string>;
}

/** For one test file: fresh projects and folders, every one removed after the file's last test. */
export function useProjects(): TempFolders {
  const roots: string[] = [];
  afterAll(async () => {
    await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
  });
  const track = (root: string) => {
    roots.push(root);
    return root;
  };
  return {
    project: async () => track(await makeProject()),
    folder: async (prefix) => track(await mkdtemp(path.join(tmpdir(), prefix))),
  };
}

export interface CliRun {
  readonly code: number;
  readonly out: string[];
  readonly err: string[];
}

export async function runCli(root: string, argv: readonly string[], env: Env = {}): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, {
    root,
    env,
    io: { isTTY: false, out: (line) => out.push(line), err: (line) => err.push(line), status: () => {} },
    now: () => FIXED_NOW,
    signal: new AbortController().signal,
  });
  return { code, out, err };
}

/** Every file below `dir` with its bytes, keyed by "/"-separated relative path. */
export async function readTree(dir: string): Promise<Map<string, Buffer>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = new Map<string, Buffer>();
  for (const entry of entries.filter((candidate) => candidate.isFile())) {
    const full = path.join(entry.parentPath, entry.name);
    files.set(path.relative(dir, full).split(path.sep).join('/'), await readFile(full));
  }
  return new Map([...files].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** `actual` holds exactly the files of `expected`, byte for byte (failures name the file). */
export function expectSameFiles(actual: Map<string, Buffer>, expected: Map<string, Buffer>): void {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [name, bytes] of expected) expect(actual.get(name)?.equals(bytes), name).toBe(true);
}

/** `node bin/kurier.js build` on `root`, as `npm run build` runs it; fails the test unless it succeeds quietly. */
export function buildThroughBin(root: string): string {
  const run = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'kurier.js'), 'build'], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, KURIER_ROOT: root },
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  return run.stdout;
}
