// Parsing is the build's largest CPU cost (~0.3 ms an article); on a site of thousands of articles it is
// shared between this thread and worker threads, one per further core. The workers also render the pages:
// of each article they parse, and of each chunk this thread parsed, sent to them as soon as it is parsed.
// After parsing, the main thread alone had every page to render, encode and write while the workers idled
// (at 10,000 articles, 1.5 s of a 10 s build); rendering them here during the parse instead cost 1 s of
// CPU and 150 MB more (the pages' garbage amid the parse's).

import { availableParallelism } from 'node:os';
import { parseArticle } from '../content/article.ts';
import type { SourceFile } from '../content/read-content.ts';
import { KurierError } from '../error.ts';
import type { Article, Site } from '../model.ts';
import { type PageTemplates, planPage, type RenderedPage } from '../render/pages.ts';
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

/** Files to parse (and render), or articles this thread parsed, whose pages to render. */
export type ParseRequest =
  | { readonly files: readonly SourceFile[] }
  | { readonly articles: readonly Article[] };

/** `page`: the article's page as UTF-8, if the worker could render it (else the main thread renders it). */
export type ParseResult =
  | { readonly article: Article; readonly page?: Uint8Array | undefined }
  | { readonly error: SerializedError };

export type ParseWorker = TaskWorker<ParseRequest, (ParseResult | RenderedPage)[]>;

export const PARSE_WORKER: WorkerModule = { source: 'build/parse-worker.ts', bundled: 'parse-worker' };

export function planParseResult(file: SourceFile, site: Site): ParseResult {
  try {
    return { article: parseArticle(file.text, file.path, site) };
  } catch (error) {
    if (!(error instanceof KurierError)) throw error;
    return { error: serializeError(error) };
  }
}

/** The file parsed, with its article's page (planPage). */
export function planParsedPage(
  file: SourceFile,
  site: Site,
  renderPage: ((article: Article) => string) | undefined,
): ParseResult {
  const result = planParseResult(file, site);
  if (renderPage === undefined || !('article' in result)) return result;
  return { ...result, ...planPage(result.article, renderPage) };
}

/**
 * How many worker threads parse a site of `articleCount` articles on `cores` cores: one per further core (at
 * most 3), none for a small site. A worker is ready after ~0.2 s of a core's time. With two cores, the one
 * further core is shared with the email thread: a first build of 1,000 or 2,000 articles took 5% longer
 * with a parse worker than without, one of 4,000 took 9% less (measured); with more cores, from 300.
 */
export function planParseWorkers(articleCount: number, cores: number): number {
  if (cores <= 1) return 0;
  if (cores === 2) return articleCount < 2500 ? 0 : 1;
  return articleCount < 300 ? 0 : Math.min(3, cores - 1);
}

/**
 * Below this many files, pages are not sent to the email thread: it is still loading MJML when they would
 * come, and this thread renders a few pages sooner itself.
 */
const RENDER_ELSEWHERE_FROM = 200;

// Smaller chunks hold fewer parsed articles in flight between the threads: 32 instead of 64 lowered the peak
// of a first build by 15 MB at 1,000 articles and 12 MB at 10,000, at the same time.
const CHUNK = 32;

/**
 * Starts the worker threads for a site of `articleCount` articles (planParseWorkers, or `count`). Started
 * before the article files are read, so that they are ready when parsing begins.
 */
export function startParseWorkers(
  settings: SourceFile,
  articleCount: number,
  options: { readonly count?: number; readonly pageTemplates?: PageTemplates } = {},
): ParseWorker[] {
  const workers = options.count ?? planParseWorkers(articleCount, availableParallelism());
  const data: ParseWorkerData = { settings, pageTemplates: options.pageTemplates };
  return Array.from({ length: workers }, () =>
    startTaskWorker<ParseRequest, (ParseResult | RenderedPage)[]>(PARSE_WORKER, data),
  );
}

export interface ParsedArticles {
  /** In file order: each an Article or the KurierError of that file. */
  readonly results: (Article | KurierError)[];
  /** The pages the workers rendered, by article, but for those `takePage` took. */
  readonly pages: ReadonlyMap<Article, Uint8Array>;
}

/**
 * Parses every file, in order. This thread parses a share too (unless `mainThreadShare` is false, which
 * tests use to prove the workers' results), and sends each chunk's articles to a worker for their pages if
 * `pagesOnWorkers`; without a worker, to `renderElsewhere` (the email thread, idle once its emails are
 * compiled), from RENDER_ELSEWHERE_FROM files on. Each page rendered elsewhere is offered to `takePage` as
 * it comes in, between this thread's chunks (a first build writes it at once); a page it takes is not
 * kept. `onTaken` sees each file as its chunk is handed out (a first build hashes it then, as it is read).
 * The workers are stopped when all is parsed and rendered.
 */
export async function parseArticles(
  files: readonly SourceFile[],
  site: Site,
  workers: readonly ParseWorker[],
  options: {
    readonly mainThreadShare?: boolean;
    readonly pagesOnWorkers?: boolean;
    readonly renderElsewhere?:
      | ((articles: readonly Article[]) => Promise<readonly RenderedPage[]>)
      | undefined;
    readonly takePage?: ((article: Article, page: Uint8Array) => boolean) | undefined;
    readonly onTaken?: ((file: SourceFile) => void) | undefined;
  } = {},
): Promise<ParsedArticles> {
  const results: ParseResult[] = new Array(files.length);
  let next = 0;
  const take = (): { start: number; files: SourceFile[] } | undefined => {
    if (next >= files.length) return undefined;
    const start = next;
    next = Math.min(files.length, next + CHUNK);
    const chunk = files.slice(start, next);
    if (options.onTaken !== undefined) chunk.forEach(options.onTaken);
    return { start, files: chunk };
  };
  const store = (index: number, article: Article, page: Uint8Array | undefined) => {
    results[index] =
      page === undefined || options.takePage?.(article, page) === true ? { article } : { article, page };
  };

  // The articles this thread parsed whose pages a worker is still to render, a chunk at a time. A worker
  // takes them before a chunk to parse: sent at once instead, they waited in the worker's queue as copies
  // (20 MB more at 1,000 articles).
  const unrendered: { readonly index: number; readonly article: Article }[][] = [];
  type RenderChunk = (articles: readonly Article[]) => Promise<readonly RenderedPage[]>;
  const render = async (renderChunk: RenderChunk, chunk: readonly { index: number; article: Article }[]) => {
    const answers = await renderChunk(chunk.map(({ article }) => article));
    answers.forEach((answer, offset) => {
      const parsed = chunk[offset];
      if (parsed !== undefined) store(parsed.index, parsed.article, answer.page);
    });
  };
  const onWorker =
    (worker: ParseWorker): RenderChunk =>
    async (articles) =>
      (await worker.run({ articles })) as RenderedPage[];

  // Two tasks in flight a worker: this thread hands out the next one only between its own chunks, so with
  // one a worker waited up to a chunk's time for its next (a fifth of its time at 10,000 articles).
  const workersDone = Promise.all(
    workers
      .flatMap((worker) => [worker, worker])
      .map(async (worker) => {
        await worker.ready;
        for (;;) {
          const pages = unrendered.shift();
          if (pages !== undefined) {
            await render(onWorker(worker), pages);
            continue;
          }
          const request = take();
          if (request === undefined) break;
          const chunk = (await worker.run({ files: request.files })) as ParseResult[];
          chunk.forEach((result, offset) => {
            if ('article' in result) store(request.start + offset, result.article, result.page);
            else results[request.start + offset] = result;
          });
        }
      }),
  );
  // Marked as handled now; a worker's error is rethrown by the await below, after this thread's share.
  workersDone.catch(() => undefined);

  // Sent as soon as parsed: the email thread renders faster than this thread parses, so they do not pile up.
  const rendering: Promise<void>[] = [];
  const renderElsewhere = files.length >= RENDER_ELSEWHERE_FROM ? options.renderElsewhere : undefined;

  // A chunk at a time, yielding between chunks so that the workers are fed promptly.
  const share = options.mainThreadShare !== false || workers.length === 0;
  for (let request = share ? take() : undefined; request !== undefined; request = take()) {
    const chunk = request.files.map((file) => planParseResult(file, site));
    const start = request.start;
    chunk.forEach((result, offset) => {
      results[start + offset] = result;
    });
    if (options.pagesOnWorkers === true && (workers.length > 0 || renderElsewhere !== undefined)) {
      const published = chunk.flatMap((result, offset) =>
        'article' in result && !result.article.draft
          ? [{ index: start + offset, article: result.article }]
          : [],
      );
      if (published.length > 0 && workers.length > 0) unrendered.push(published);
      else if (published.length > 0 && renderElsewhere !== undefined) {
        const done = render(renderElsewhere, published);
        // Handled now; rethrown by the await below.
        done.catch(() => undefined);
        rendering.push(done);
      }
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  try {
    await workersDone;
    await Promise.all(rendering);
    // What this thread parsed after the workers ran out of chunks.
    await Promise.all(
      unrendered.splice(0).map((pages, index) => {
        const worker = workers[index % workers.length];
        return worker === undefined ? undefined : render(onWorker(worker), pages);
      }),
    );
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
