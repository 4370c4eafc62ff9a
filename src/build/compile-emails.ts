// Newsletter emails compiled on a worker thread, so that MJML (~0.1 s to load from its bundle with its code
// cache, 0.3–0.4 s from the package; ~15 ms an email) runs on another core while the main thread renders pages.

import type { CompiledEmail } from '../email/model.ts';
import type { EmailTemplates } from '../email/read-templates.ts';
import type { Article, Site } from '../model.ts';
import type { PageTemplates, RenderedPage } from '../render/pages.ts';
import { deserializeError, type SerializedError, startTaskWorker, type WorkerModule } from '../threads.ts';

export interface EmailRequest {
  readonly site: Site;
  readonly article: Article;
  readonly templates: EmailTemplates;
}

/**
 * Pages of articles the main thread parsed, for the email thread to render while it has nothing else to do:
 * a site parsed on the main thread alone leaves the other core idle until the emails.
 */
export interface PagesRequest {
  readonly site: Site;
  readonly pageTemplates: PageTemplates;
  readonly articles: readonly Article[];
}

export type EmailResponse =
  | { readonly email: CompiledEmail }
  | { readonly error: SerializedError }
  | { readonly pages: readonly RenderedPage[] };

const EMAIL_WORKER: WorkerModule = { source: 'build/email-worker.ts', bundled: 'email-worker' };

export interface EmailCompiler {
  /** Starts the thread now, so that it loads MJML while the build does other work. */
  warm(): void;
  compile(request: EmailRequest): Promise<CompiledEmail>;
  renderPages(request: PagesRequest): Promise<readonly RenderedPage[]>;
  stop(): Promise<void>;
}

/**
 * Compiles each request's email on one worker thread, in order; the thread is started on the first request
 * and stopped by `stop`. A template error comes back as the KurierError it is.
 */
export function startEmailCompiler(): EmailCompiler {
  let worker: ReturnType<typeof startTaskWorker<EmailRequest | PagesRequest, EmailResponse>> | undefined;
  const start = () => {
    worker ??= startTaskWorker<EmailRequest | PagesRequest, EmailResponse>(EMAIL_WORKER, undefined);
    return worker;
  };
  return {
    warm: () => {
      start();
    },
    async compile(request) {
      const worker = start();
      // Structured cloning copies values, not getters: the article goes over as plain data.
      const response = await worker.run({ ...request, article: { ...request.article } });
      if ('error' in response) throw deserializeError(response.error);
      if (!('email' in response)) throw new Error('the email thread answered an email with pages');
      return response.email;
    },
    async renderPages(request) {
      const response = await start().run({
        ...request,
        articles: request.articles.map((article) => ({ ...article })),
      });
      if (!('pages' in response)) throw new Error('the email thread answered pages with an email');
      return response.pages;
    },
    stop: async () => {
      await worker?.stop();
    },
  };
}
