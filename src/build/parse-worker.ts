// A worker thread of parse-parallel.ts: parses the article files it is sent and renders their pages, or
// renders the pages of the articles it is sent, and answers with the results; the pages' bytes are moved,
// not copied.

import { workerData } from 'node:worker_threads';
import { parseSite } from '../content/settings.ts';
import { planArticlePageRenderer, planPage, type RenderedPage } from '../render/pages.ts';
import { serveTasks } from '../threads.ts';
import {
  type ParseRequest,
  type ParseResult,
  type ParseWorkerData,
  planParsedPage,
} from './parse-parallel.ts';

const { settings, pageTemplates } = workerData as ParseWorkerData;
const site = parseSite(settings.text, settings.path);
const renderPage = pageTemplates === undefined ? undefined : planArticlePageRenderer(site, pageTemplates);

serveTasks<ParseRequest, (ParseResult | RenderedPage)[]>(
  (request) =>
    'files' in request
      ? request.files.map((file) => planParsedPage(file, site, renderPage))
      : request.articles.map((article) => (renderPage === undefined ? {} : planPage(article, renderPage))),
  (results) =>
    results.flatMap((result) =>
      'page' in result && result.page !== undefined ? [result.page.buffer as ArrayBuffer] : [],
    ),
);
