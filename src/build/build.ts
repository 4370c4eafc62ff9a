// One build: content/ → model → renderers → out/, with compiled emails for the newest articles.

import path from 'node:path';
import { parseContentInParallel } from '../content/content.ts';
import { readContentSources } from '../content/read-content.ts';
import type { CompiledEmail } from '../email/compile.ts';
import { compileEmail, EMAIL_COMPILER } from '../email/compile.ts';
import { readEmailTemplates } from '../email/read-templates.ts';
import { renderWebVersion } from '../email/web.ts';
import type { Article, OutputFile, Site } from '../model.ts';
import { renderFeeds } from '../render/feeds.ts';
import { renderPages } from '../render/pages.ts';
import { planEmailCacheKey, pruneEmailCache, readCachedEmail, writeCachedEmail } from './email-cache.ts';
import { readPageTemplates } from './read-templates.ts';
import { checkOutDir, type WrittenFile, writeOut } from './write-out.ts';

export interface BuildOptions {
  /** The project: content/ and templates/ below it. */
  readonly root: string;
  readonly outDir: string;
  /** Private state (never published); the email cache lives in its cache/ folder. */
  readonly stateDir: string;
}

export interface BuiltEmail {
  readonly article: Article;
  readonly email: CompiledEmail;
  /** True when read from the cache instead of compiled. */
  readonly cached: boolean;
}

export interface BuildResult {
  readonly site: Site;
  /** Published articles, newest first. */
  readonly articles: readonly Article[];
  readonly drafts: number;
  readonly written: readonly WrittenFile[];
  /** Emails of the newest `site.email.window` articles, newest first. */
  readonly emails: readonly BuiltEmail[];
  readonly warnings: readonly string[];
}

async function buildEmails(
  options: BuildOptions,
  site: Site,
  articles: readonly Article[],
): Promise<BuiltEmail[]> {
  const templates = await readEmailTemplates(path.join(options.root, 'templates'));
  const cacheDir = path.join(options.stateDir, 'cache', 'emails');
  const keys = new Set<string>();
  const emails: BuiltEmail[] = [];
  for (const article of articles.slice(0, site.email.window)) {
    const key = planEmailCacheKey(site, article, templates, EMAIL_COMPILER);
    keys.add(key);
    const cached = await readCachedEmail(cacheDir, key);
    if (cached !== undefined) {
      emails.push({ article, email: cached, cached: true });
      continue;
    }
    const email = await compileEmail(site, article, templates);
    await writeCachedEmail(cacheDir, key, email);
    emails.push({ article, email, cached: false });
  }
  await pruneEmailCache(cacheDir, keys);
  return emails;
}

function* emailFiles(emails: readonly BuiltEmail[]): Generator<OutputFile> {
  for (const { article, email } of emails) {
    const web = renderWebVersion(email);
    yield { path: `${article.path}email.html`, content: web.html };
    yield { path: `${article.path}email.txt`, content: web.text };
  }
}

export async function buildPublication(options: BuildOptions): Promise<BuildResult> {
  await checkOutDir(options.root, options.outDir);
  const content = await parseContentInParallel(await readContentSources(options.root));
  const { site, articles } = content;
  const pageTemplates = await readPageTemplates(path.join(options.root, 'templates'));
  const emails = await buildEmails(options, site, articles);
  const files = function* (): Generator<OutputFile> {
    yield* renderFeeds(site, articles);
    yield* renderPages(site, articles, pageTemplates);
    yield* emailFiles(emails);
  };
  const written = await writeOut(options.outDir, files());
  return {
    site,
    articles,
    drafts: content.drafts.length,
    written,
    emails,
    warnings: emails.flatMap(({ email }) => email.warnings),
  };
}
