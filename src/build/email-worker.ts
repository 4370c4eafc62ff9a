// A worker thread of compile-emails.ts: compiles the emails it is sent and answers with them or their errors,
// and renders the pages it is sent meanwhile (their bytes are moved, not copied).

import { compileEmail, preloadMjml } from '../email/compile.ts';
import { KurierError } from '../error.ts';
import type { Article } from '../model.ts';
import { planArticlePageRenderer, planPage } from '../render/pages.ts';
import { serializeError, serveTasks } from '../threads.ts';
import type { EmailRequest, EmailResponse, PagesRequest } from './compile-emails.ts';

preloadMjml();

// The renderer of the last site and templates: every request of one build carries the same.
let renderer: { readonly key: string; readonly render: (article: Article) => string } | undefined;

function renderPages(request: PagesRequest): EmailResponse {
  const key = JSON.stringify([request.site, request.pageTemplates]);
  if (renderer?.key !== key) {
    renderer = { key, render: planArticlePageRenderer(request.site, request.pageTemplates) };
  }
  const { render } = renderer;
  return { pages: request.articles.map((article) => planPage(article, render)) };
}

serveTasks<EmailRequest | PagesRequest, EmailResponse>(
  async (request) => {
    if ('articles' in request) return renderPages(request);
    try {
      return { email: await compileEmail(request.site, request.article, request.templates) };
    } catch (error) {
      if (!(error instanceof KurierError)) throw error;
      return { error: serializeError(error) };
    }
  },
  (response) =>
    'pages' in response
      ? response.pages.flatMap(({ page }) => (page === undefined ? [] : [page.buffer as ArrayBuffer]))
      : [],
);
