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

/** Below this many articles, starting a worker (~0.1 s) costs more than it saves. */
const PARALLEL_FROM = 500;
const CHUNK = 64;

function startWorker(settings: SourceFile): Worker {
  const workerData: ParseWorkerData = { settings };
  // From the bundle that bin/kurier.js runs, the worker is the bundled parse-worker.js beside this module.
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./parse-worker.js', import.meta.url), { workerData });
  // From the TypeScript sources (tests, benchmarks) the worker registers the tsx loader before loading itself.
  const source = new URL('./parse-worker.ts', import.meta.url).href;
  const bootstrap = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(source)}); });`;
  return new Worker(bootstrap, { eval: true, workerData });
}

/** Parses every file, in order: each result is an Article or the KurierError of that file. */
export interface ParallelOptions {
  /** Worker threads to start; default: one per further core (at most 3), none for small sites. */
  readonly workers?: number;
  /** Whether this thread parses a share too (tests turn it off to prove the workers' results). */
  readonly mainThreadShare?: boolean;
}

export async function parseArticles(
  files: readonly SourceFile[],
  site: Site,
  settings: SourceFile,
  options: ParallelOptions = {},
): Promise<(Article | KurierError)[]> {
  const results: ParseResult[] = new Array(files.length);
  let next = 0;
  const take = (): ParseRequest | undefined => {
    if (next >= files.length) return undefined;
    const start = next;
    next = Math.min(files.length, next + CHUNK);
    return { start, files: files.slice(start, next) };
  };

  const workerCount =
    options.workers ?? (files.length < PARALLEL_FROM ? 0 : Math.min(3, availableParallelism() - 1));
  const workers = Array.from({ length: workerCount }, () => startWorker(settings));
  const finished = workers.map(
    (worker) =>
      new Promise<void>((resolve, reject) => {
        const feed = () => {
          const request = take();
          if (request === undefined) resolve();
          else worker.postMessage(request);
        };
        worker.on('message', (message: 'ready' | { start: number; results: ParseResult[] }) => {
          if (message !== 'ready') results.splice(message.start, message.results.length, ...message.results);
          feed();
        });
        worker.on('error', reject);
        worker.on('exit', (code) => {
          if (code !== 0) reject(new Error(`a parse worker stopped with exit code ${code}`));
        });
      }),
  );

  const allFinished = Promise.all(finished);
  // Marked as handled now; the error is rethrown by the await below, after this thread's share is done.
  allFinished.catch(() => undefined);

  // This thread parses too, a chunk at a time, yielding between chunks so that workers are fed promptly.
  const share = options.mainThreadShare !== false || workerCount === 0;
  for (let request = share ? take() : undefined; request !== undefined; request = take()) {
    request.files.forEach((file, offset) => {
      results[(request as ParseRequest).start + offset] = planParseResult(file, site);
    });
    await new Promise((resolve) => setImmediate(resolve));
  }
  try {
    await allFinished;
  } finally {
    await Promise.all(workers.map((worker) => worker.terminate()));
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
