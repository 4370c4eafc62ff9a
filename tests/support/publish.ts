// `kurier publish` in a test: a throwaway copy of the sample's content and templates, its subscriber list,
// the command run through the CLI's own resolution of .env and paths with a fixed clock, and the store after.

import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type PublishOptions, publishCommand, runPublish } from '../../src/commands/publish.ts';
import type { CommandContext, Env, Io } from '../../src/context.ts';
import { resolveRunContext } from '../../src/environment.ts';
import type { PublishDeps } from '../../src/send/publish.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/store.ts';
import { repoRoot } from './project.ts';

export const PUBLISH_NOW = new Date('2026-11-26T08:00:00Z');

export const ARTICLE_ID = 'tag:kurier.example,2026:bochum-leben-nach-der-industrie';

/** A fresh project with the sample's content/ and templates/ (no static/: publish sends, it serves nothing). */
export async function makePublishProject(prefix: string): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), prefix));
  await cp(path.join(repoRoot, 'content'), path.join(root, 'content'), { recursive: true });
  await cp(path.join(repoRoot, 'templates'), path.join(root, 'templates'), { recursive: true });
  return root;
}

export function addresses(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `reader${index}@example.com`);
}

/** subscribers.csv in the project root: the header, then one line a row. */
export async function writeSubscribers(
  root: string,
  rows: readonly string[],
  header = 'email,name',
): Promise<void> {
  await writeFile(path.join(root, 'subscribers.csv'), `${header}\n${rows.map((row) => `${row}\n`).join('')}`);
}

export interface Output {
  readonly io: Io;
  readonly out: string[];
  readonly err: string[];
}

export function collectOutput(): Output {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (line) => out.push(line), err: (line) => err.push(line), status: () => {}, isTTY: false },
    out,
    err,
  };
}

export function publishContext(
  root: string,
  env: Env,
  io: Io,
  signal = new AbortController().signal,
): CommandContext {
  return { root, env, io, now: () => PUBLISH_NOW, signal };
}

/** `kurier publish` with `values` as parseArgs gives them; an error is thrown as the command throws it. */
export async function runPublishIn(
  root: string,
  io: Io,
  values: Record<string, string | boolean>,
  env: Env,
  positionals: readonly string[],
  deps: PublishDeps,
): Promise<number> {
  return runPublish(
    publishCommand.parseOptions(values) as PublishOptions,
    positionals,
    await resolveRunContext(publishContext(root, env, io), values),
    deps,
  );
}

/** The store as publish left it, for the test's look; closed afterwards. */
export async function withStore<T>(
  stateDir: string,
  databaseUrl: string | undefined,
  use: (store: Store) => Promise<T>,
): Promise<T> {
  const store = await openStore({ stateDir, databaseUrl, now: PUBLISH_NOW, randomBytes });
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}
