// Parsing is the build's largest CPU cost (~0.3 ms an article); on a site of thousands of articles it is
// shared between this thread and worker threads, one per further core. A worker also renders the page of
// each article it parses: after parsing, the main thread alone still had every page to render, encode and
// write while the workers idled (at 10,000 articles, 1.5 s of a 10 s build).

import { availableParallelism } from 'node:os';
import { parseArticle } from '../content/article.ts';
import type { SourceFile } from '../content/read-content.ts';
import { KurierError } from '../error.ts';
import type { Article, Site } from '../model.ts';
import type { PageTemplates } from '../render/pages.ts';
import {
  deserializeError,
  type SerializedError,
  serializeError,
  startTaskWorker,
  type TaskWorker,
  type WorkerModule,
} from '../threads.ts';

export interface ParseWorkerData {
  readonly settings: SourceFile;
  /** The page templates; without them the worker only parses. */
  readonly pageTemplates?: PageTemplates | undefined;
}

export interface ParseRequest {
  readonly start: number;
  readonly files: readonly SourceFile[];
}

/** `page`: the article's page as UTF-8, if the worker could render it (else the main thread renders it). */
export type ParseResult =
  | { readonly article: Article; readonly page?: Uint8Array | undefined }
  | { readonly error: SerializedError };

export type ParseWorker = TaskWorker<ParseRequest, ParseResult[]>;

export const PARSE_WORKER: WorkerModule = { source: 'build/parse-worker.ts', bundled: 'parse-worker' };

export function planParseResult(file: SourceFile, site: Site): ParseResult {
  try {
    return { article: parseArticle(file.text, file.path, site) };
  } catch (error) {
    if (!(error instanceof KurierError)) throw error;
    return { error: serializeError(error) };
  }
}

const encoder = new TextEncoder();

/**
 * The file parsed, with its article's page as `renderPage` makes it (for drafts too: which articles are
 * published is known only once all are parsed). A page that fails is left out: the build renders it again
 * and reports the error as it would have.
 */
export function planParsedPage(
  file: SourceFile,
  site: Site,
  renderPage: ((article: Article) => string) | undefined,
): ParseResult {
  const result = planParseResult(file, site);
  if (renderPage === undefined || !('article' in result)) return result;
  try {
    return { ...result, page: encoder.encode(renderPage(result.article)) };
  } catch {
    return result;
  }
}

/** Below this many articles, a worker (ready after ~0.2 s) would cost more than it saves. */
const PARALLEL_FROM = 300;
const CHUNK = 64;

/**
 * Starts worker threads for a site of `articleCount` articles: one per further core (at most 3), none for
 * small sites. Started before the article files are read, so that they are ready when parsing begins.
 */
export function startParseWorkers(
  settings: SourceFile,
  articleCount: number,
  options: { readonly count?: number; readonly pageTemplates?: PageTemplates } = {},
): ParseWorker[] {
  const workers =
    options.count ?? (articleCount < PARALLEL_FROM ? 0 : Math.min(3, availableParallelism() - 1));
  const data: ParseWorkerData = { settings, pageTemplates: options.pageTemplates };
  return Array.from({ length: workers }, () =>
    startTaskWorker<ParseRequest, ParseResult[]>(PARSE_WORKER, data),
  );
}

export interface ParsedArticles {
  /** In file order: each an Article or the KurierError of that file. */
  readonly results: (Article | KurierError)[];
  /** The pages the workers rendered, by article. */
  readonly pages: ReadonlyMap<Article, Uint8Array>;
}

/**
 * Parses every file, in order. This thread parses a share too (unless `mainThreadShare` is false, which
 * tests use to prove the workers' results), without rendering pages: rendering them here as well, while the
 * parse's garbage is collected, cost a 10,000-article build 1 s of CPU and 150 MB more. The workers are
 * stopped when all is parsed.
 */
export async function parseArticles(
  files: readonly SourceFile[],
  site: Site,
  workers: readonly ParseWorker[],
  options: { readonly mainThreadShare?: boolean } = {},
): Promise<ParsedArticles> {
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
  const pages = new Map<Article, Uint8Array>();
  const parsed = results.map((result) => {
    if (!('article' in result)) return deserializeError(result.error);
    if (result.page !== undefined) pages.set(result.article, result.page);
    return result.article;
  });
  return { results: parsed, pages };
}
