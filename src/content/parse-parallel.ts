// Parsing is the build's largest CPU cost (~0.3 ms an article); on a site of thousands of articles it is
// shared between this thread and worker threads, one per further core.

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type ErrorCode, KurierError } from '../error.ts';
import type { Article, Site } from '../model.ts';
import { parseArticle } from './article.ts';
import type { SourceFile } from './read-content.ts';

export interface ParseWorkerData {
  readonly settings: SourceFile;
}

export interface ParseRequest {
  readonly start: number;
  readonly files: readonly SourceFile[];
}

export type ParseResult =
  | { readonly article: Article }
  | {
      readonly error: {
        code: ErrorCode;
        message: string;
        file?: string | undefined;
        line?: number | undefined;
      };
    };

/** KurierError does not survive structured cloning between threads; its fields do. */
export function planParseResult(file: SourceFile, site: Site): ParseResult {
  try {
    return { article: parseArticle(file.text, file.path, site) };
  } catch (error) {
    if (!(error instanceof KurierError)) throw error;
    return { error: { code: error.code, message: error.message, file: error.file, line: error.line } };
  }
}

/** Below this many articles, a worker (ready after ~0.2 s) would cost more than it saves. */
const PARALLEL_FROM = 300;
const CHUNK = 64;

/** A parse worker thread: `run` sends it a chunk and resolves with the parsed results. */
export interface ParseWorker {
  readonly ready: Promise<void>;
  run(request: ParseRequest): Promise<ParseResult[]>;
  stop(): Promise<void>;
}

function startWorker(settings: SourceFile): ParseWorker {
  const workerData: ParseWorkerData = { settings };
  // From the bundle that bin/kurier.js runs, the worker is the bundled parse-worker.js beside this module.
  // From the TypeScript sources (tests, benchmarks) it registers the tsx loader before loading itself.
  const source = new URL('./parse-worker.ts', import.meta.url).href;
  const worker = import.meta.url.endsWith('.ts')
    ? new Worker(
        `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`,
        { eval: true, workerData },
      )
    : new Worker(new URL('./parse-worker.js', import.meta.url), { workerData });
  let pending: { resolve: (results: ParseResult[]) => void; reject: (error: Error) => void } | undefined;
  let failure: Error | undefined;
  // Listeners go on at once: the worker's "ready" may come before anyone asks for it.
  const ready = new Promise<void>((resolve, reject) => {
    const fail = (error: Error) => {
      failure ??= error;
      reject(error);
      pending?.reject(error);
    };
    worker.on('message', (message: 'ready' | { results: ParseResult[] }) => {
      if (message === 'ready') resolve();
      else pending?.resolve(message.results);
    });
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (code !== 0) fail(new Error(`a parse worker stopped with exit code ${code}`));
    });
  });
  ready.catch(() => undefined);
  return {
    ready,
    run: (request) =>
      new Promise((resolve, reject) => {
        if (failure !== undefined) return reject(failure);
        pending = { resolve, reject };
        worker.postMessage(request);
      }),
    stop: async () => {
      await worker.terminate();
    },
  };
}

/**
 * Starts worker threads for a site of `articleCount` articles: one per further core (at most 3), none for
 * small sites. Started before the article files are read, so that they are ready when parsing begins.
 */
export function startParseWorkers(settings: SourceFile, articleCount: number, count?: number): ParseWorker[] {
  const workers = count ?? (articleCount < PARALLEL_FROM ? 0 : Math.min(3, availableParallelism() - 1));
  return Array.from({ length: workers }, () => startWorker(settings));
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
  return results.map((result) =>
    'article' in result
      ? result.article
      : new KurierError(result.error.code, result.error.message, {
          file: result.error.file,
          line: result.error.line,
        }),
  );
}
