// Parsing is the build's largest CPU cost (~0.3 ms an article); on a site of thousands of articles it is
// shared between this thread and worker threads, one per further core.

import { availableParallelism } from 'node:os';
import { KurierError } from '../error.ts';
import type { Article, Site } from '../model.ts';
import {
  deserializeError,
  type SerializedError,
  serializeError,
  startTaskWorker,
  type TaskWorker,
  type WorkerModule,
} from '../threads.ts';
import { parseArticle } from './article.ts';
import type { SourceFile } from './read-content.ts';

export interface ParseWorkerData {
  readonly settings: SourceFile;
}

export interface ParseRequest {
  readonly start: number;
  readonly files: readonly SourceFile[];
}

export type ParseResult = { readonly article: Article } | { readonly error: SerializedError };

export type ParseWorker = TaskWorker<ParseRequest, ParseResult[]>;

export const PARSE_WORKER: WorkerModule = { source: 'content/parse-worker.ts', bundled: 'parse-worker' };

export function planParseResult(file: SourceFile, site: Site): ParseResult {
  try {
    return { article: parseArticle(file.text, file.path, site) };
  } catch (error) {
    if (!(error instanceof KurierError)) throw error;
    return { error: serializeError(error) };
  }
}

/** Below this many articles, a worker (ready after ~0.2 s) would cost more than it saves. */
const PARALLEL_FROM = 300;
const CHUNK = 64;

/**
 * Starts worker threads for a site of `articleCount` articles: one per further core (at most 3), none for
 * small sites. Started before the article files are read, so that they are ready when parsing begins.
 */
export function startParseWorkers(settings: SourceFile, articleCount: number, count?: number): ParseWorker[] {
  const workers = count ?? (articleCount < PARALLEL_FROM ? 0 : Math.min(3, availableParallelism() - 1));
  return Array.from({ length: workers }, () =>
    startTaskWorker<ParseRequest, ParseResult[]>(PARSE_WORKER, { settings }),
  );
}

/**
 * Parses every file, in order: each result is an Article or the KurierError of that file. This thread
 * parses a share too (unless `mainThreadShare` is false, which tests use to prove the workers' results);
 * the workers are stopped when all is parsed.
 */
export async function parseArticles(
  files: readonly SourceFile[],
  site: Site,
  workers: readonly ParseWorker[],
  options: { readonly mainThreadShare?: boolean } = {},
): Promise<(Article | KurierError)[]> {
  const results: ParseResult[] = new Array(files.length);
  let next = 0;
  const take = (): ParseRequest | undefined => {
    if (next >= files.length) return undefined;
    const start = next;
    next = Math.min(files.length, next + CHUNK);
    return { start, files: files.slice(start, next) };
  };
  const store = (start: number, chunk: readonly ParseResult[]) => {
    chunk.forEach((result, offset) => {
      results[start + offset] = result;
    });
  };

  const workersDone = Promise.all(
    workers.map(async (worker) => {
      await worker.ready;
      for (let request = take(); request !== undefined; request = take()) {
        store(request.start, await worker.run(request));
      }
    }),
  );
  // Marked as handled now; a worker's error is rethrown by the await below, after this thread's share.
  workersDone.catch(() => undefined);

  // A chunk at a time, yielding between chunks so that the workers are fed promptly.
  const share = options.mainThreadShare !== false || workers.length === 0;
  for (let request = share ? take() : undefined; request !== undefined; request = take()) {
    store(
      request.start,
      request.files.map((file) => planParseResult(file, site)),
    );
    await new Promise((resolve) => setImmediate(resolve));
  }
  try {
    await workersDone;
  } finally {
    await Promise.all(workers.map((worker) => worker.stop()));
  }
  return results.map((result) => ('article' in result ? result.article : deserializeError(result.error)));
}
