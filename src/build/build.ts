// One build: content/ → model → renderers → out/, with compiled emails for the newest articles.

import path from 'node:path';
import { type Content, parseContentInParallel } from '../content/content.ts';
import { type ParseWorker, startParseWorkers } from '../content/parse-parallel.ts';
import { readContentSources } from '../content/read-content.ts';
import { compileEmail, EMAIL_COMPILER } from '../email/compile.ts';
import type { CompiledEmail } from '../email/model.ts';
import { readEmailTemplates } from '../email/read-templates.ts';
import { renderWebVersion } from '../email/web.ts';
import type { Article, OutputFile, Site } from '../model.ts';
import { renderFeeds } from '../render/feeds.ts';
import { renderPages } from '../render/pages.ts';
import { planEmailCacheKey, pruneEmailCache, readCachedEmail, writeCachedEmail } from './email-cache.ts';
import { readPageTemplates } from './read-templates.ts';
import { planOutput, readStaticFiles, STATIC_DIR } from './static-files.ts';
import { checkOutDir, type Disk, type WrittenFile, writeOut } from './write-out.ts';

export interface BuildOptions {
  /** The project: content/ and templates/ below it. */
  readonly root: string;
  readonly outDir: string;
  /** Private state (never published); the email cache lives in its cache/ folder. */
  readonly stateDir: string;
  /** The file system out/ is written through; tests pass the real one with a fault injected. */
  readonly disk?: Disk;
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

/** The source texts are garbage once parsed: on a large site they are a fifth of the build's memory. */
async function readContent(root: string): Promise<Content> {
  let workers: ParseWorker[] = [];
  const sources = await readContentSources(root, (settings, count) => {
    workers = startParseWorkers(settings, count);
  });
  return parseContentInParallel(sources, workers);
}

/** A rendered page as UTF-8 bytes: half the memory of the JavaScript string for German text. */
function* encoded(files: Iterable<OutputFile>): Generator<OutputFile> {
  for (const file of files) {
    yield {
      path: file.path,
      content: typeof file.content === 'string' ? Buffer.from(file.content) : file.content,
    };
  }
}

export async function buildPublication(options: BuildOptions): Promise<BuildResult> {
  await checkOutDir(options.root, options.outDir);
  const content = await readContent(options.root);
  const { site, articles } = content;
  const pageTemplates = await readPageTemplates(path.join(options.root, 'templates'));
  const emails = await buildEmails(options, site, articles);
  // Everything is rendered before anything is written: a template that fails on one page stops the build
  // with out/ untouched.
  const rendered = [
    ...encoded(renderFeeds(site, articles)),
    ...encoded(renderPages(site, articles, pageTemplates)),
    ...encoded(emailFiles(emails)),
  ];
  const staticFiles = await readStaticFiles(path.join(options.root, STATIC_DIR));
  const outName = path.relative(options.root, options.outDir).split(path.sep).join('/');
  const written = writeOut(options.outDir, planOutput(rendered, staticFiles), {
    outName,
    manifestFile: path.join(options.stateDir, 'written', `${encodeURIComponent(outName)}.json`),
    ...(options.disk === undefined ? {} : { disk: options.disk }),
  });
  return {
    site,
    articles,
    drafts: content.drafts.length,
    written,
    emails,
    warnings: [
      ...[...articles, ...content.drafts].flatMap((article) => article.warnings ?? []),
      ...emails.flatMap(({ email }) => email.warnings),
    ],
  };
}
