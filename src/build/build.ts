// One build: content/ → model → renderers → out/, with compiled emails for the newest articles.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArticle } from '../content/article.ts';
import { type Content, planContent } from '../content/content.ts';
import { type ParseWorker, parseArticles, startParseWorkers } from '../content/parse-parallel.ts';
import { readContentSources } from '../content/read-content.ts';
import { parseSite } from '../content/settings.ts';
import type { CompiledEmail } from '../email/compile.ts';
import { EMAIL_COMPILER } from '../email/compile.ts';
import type { EmailTemplates } from '../email/read-templates.ts';
import { readEmailTemplates } from '../email/read-templates.ts';
import { renderWebVersion } from '../email/web.ts';
import { KurierError } from '../error.ts';
import type { Article, OutputFile, Site } from '../model.ts';
import { renderFeeds } from '../render/feeds.ts';
import { type PageTemplates, renderPages } from '../render/pages.ts';
import { type EmailCompiler, startEmailCompiler } from './compile-emails.ts';
import { planEmailCacheKey, pruneEmailCache, readCachedEmail, writeCachedEmail } from './email-cache.ts';
import {
  hashText,
  isPageCurrent,
  type PageRecord,
  planCodeVersion,
  planStoredArticle,
  readPageRecords,
  readParseCache,
  restoreArticle,
  writePageRecords,
  writeParseCache,
} from './parse-cache.ts';
import { readPageTemplates } from './read-templates.ts';
import { planOutput, readStaticFiles, STATIC_DIR } from './static-files.ts';
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

interface PlannedEmails {
  readonly templates: EmailTemplates;
  readonly cacheDir: string;
  readonly emails: readonly { article: Article; key: string; cached: CompiledEmail | undefined }[];
}

/** The emails of the newest articles, and which of them the cache holds. */
async function planEmails(
  options: BuildOptions,
  site: Site,
  articles: readonly Article[],
): Promise<PlannedEmails> {
  const templates = await readEmailTemplates(path.join(options.root, 'templates'));
  const cacheDir = path.join(options.stateDir, 'cache', 'emails');
  const emails = await Promise.all(
    articles.slice(0, site.email.window).map(async (article) => {
      const key = planEmailCacheKey(site, article, templates, EMAIL_COMPILER);
      return { article, key, cached: await readCachedEmail(cacheDir, key) };
    }),
  );
  return { templates, cacheDir, emails };
}

/** Sends every email the cache lacks to `compiler` at once, before the returned promise is awaited. */
async function buildEmails(
  site: Site,
  planned: PlannedEmails,
  compiler: EmailCompiler,
): Promise<BuiltEmail[]> {
  const emails = await Promise.all(
    planned.emails.map(async ({ article, key, cached }): Promise<BuiltEmail> => {
      if (cached !== undefined) return { article, email: cached, cached: true };
      const email = await compiler.compile({ site, article, templates: planned.templates });
      await writeCachedEmail(planned.cacheDir, key, email);
      return { article, email, cached: false };
    }),
  );
  await pruneEmailCache(planned.cacheDir, new Set(planned.emails.map(({ key }) => key)));
  return emails;
}

function* emailFiles(emails: readonly BuiltEmail[]): Generator<OutputFile> {
  for (const { article, email } of emails) {
    const web = renderWebVersion(email);
    yield { path: `${article.path}email.html`, content: web.html };
    yield { path: `${article.path}email.txt`, content: web.text };
  }
}

/**
 * Reads content/ and parses what the parse cache does not hold: an article whose source, settings and code
 * are unchanged comes from the cache, its HTML parsed again only if a renderer asks for it. Parse workers
 * start before the files are read when there is no usable cache, else once the misses are known.
 */
interface CachedContent {
  readonly content: Content;
  /** Hash of the code and settings the articles were parsed under. */
  readonly key: string;
  /** Hash of each article's source, by source path. */
  readonly hashes: ReadonlyMap<string, string>;
}

async function readContent(root: string, stateDir: string): Promise<CachedContent> {
  const cached = await readParseCache(stateDir);
  let workers: ParseWorker[] = [];
  const sources = await readContentSources(root, (settings, count) => {
    if (cached?.key !== hashText(planCodeVersion(), settings.text))
      workers = startParseWorkers(settings, count);
  });
  const key = hashText(planCodeVersion(), sources.settings.text);
  const usable = cached?.key === key ? cached.articles : new Map<string, never>();
  const site = parseSite(sources.settings.text, sources.settings.path);
  const hashes = sources.articles.map((source) => hashText(source.path, source.text));
  const misses = sources.articles.filter((source, index) => usable.get(source.path)?.hash !== hashes[index]);
  if (workers.length === 0 && misses.length > 0) workers = startParseWorkers(sources.settings, misses.length);
  const parsed = await parseArticles(misses, site, workers);
  const next = new Map<string, { hash: string; article: ReturnType<typeof planStoredArticle> }>();
  let missIndex = 0;
  const results = sources.articles.map((source, index) => {
    const hash = hashes[index] ?? '';
    const entry = usable.get(source.path);
    if (entry?.hash === hash) {
      next.set(source.path, entry);
      return restoreArticle(entry.article, () => parseArticle(source.text, source.path, site));
    }
    const result = parsed[missIndex++] as Article | KurierError;
    if (!(result instanceof KurierError)) next.set(source.path, { hash, article: planStoredArticle(result) });
    return result;
  });
  if (misses.length > 0 || next.size !== usable.size || cached?.key !== key) {
    // Only a cache: a state folder that cannot take it costs the next build its parsing, nothing else.
    await writeParseCache(stateDir, { key, articles: next }).catch(() => undefined);
  }
  const content = planContent(site, results);
  return {
    content,
    key,
    hashes: new Map(sources.articles.map((source, index) => [source.path, hashes[index] ?? ''])),
  };
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

/**
 * The article pages to render: those whose inputs (code, settings, templates, source) changed since the
 * last build, or whose file in out/ is not the one that build left; the others are taken as they are.
 */
function planPages(
  options: BuildOptions,
  cached: CachedContent,
  templates: PageTemplates,
  records: ReadonlyMap<string, PageRecord>,
): { keys: Map<string, string>; render: Article[]; current: OutputFile[] } {
  const templatesKey = hashText(cached.key, JSON.stringify(templates));
  const keys = new Map<string, string>();
  const render: Article[] = [];
  const current: OutputFile[] = [];
  for (const article of cached.content.articles) {
    const file = `${article.path}index.html`;
    const key = hashText(templatesKey, cached.hashes.get(article.sourcePath) ?? '');
    keys.set(file, key);
    const target = path.join(options.outDir, ...file.split('/'));
    if (isPageCurrent(target, key, records.get(file)))
      current.push({ path: file, content: readFileSync(target) });
    else render.push(article);
  }
  return { keys, render, current };
}

export async function buildPublication(options: BuildOptions): Promise<BuildResult> {
  await checkOutDir(options.root, options.outDir);
  const cached = await readContent(options.root, options.stateDir);
  const { site, articles } = cached.content;
  const pageTemplates = await readPageTemplates(path.join(options.root, 'templates'));
  const pages = planPages(
    options,
    cached,
    pageTemplates,
    await readPageRecords(options.stateDir, options.outDir),
  );
  let emails: BuiltEmail[];
  let files: OutputFile[];
  const compiler = startEmailCompiler();
  try {
    // The emails compile on another thread while this one renders the pages.
    const building = buildEmails(site, await planEmails(options, site, articles), compiler);
    building.catch(() => undefined);
    // Everything is rendered before anything is written: a template that fails on one page stops the build
    // with out/ untouched.
    const rendered = [
      ...encoded(renderFeeds(site, articles)),
      ...encoded(renderPages(site, articles, pageTemplates, pages.render)),
      ...pages.current,
    ];
    emails = await building;
    rendered.push(...encoded(emailFiles(emails)));
    files = rendered;
  } finally {
    await compiler.stop();
  }
  const staticFiles = await readStaticFiles(path.join(options.root, STATIC_DIR));
  const written = writeOut(options.outDir, planOutput(files, staticFiles));
  // Only a cache: without it, the next build renders every page again.
  await writePageRecords(options.stateDir, options.outDir, pages.keys).catch(() => undefined);
  return {
    site,
    articles,
    drafts: cached.content.drafts.length,
    written,
    emails,
    warnings: emails.flatMap(({ email }) => email.warnings),
  };
}
