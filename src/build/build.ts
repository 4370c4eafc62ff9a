// One build: content/ → model → renderers → out/, with compiled emails for the newest articles. What has
// not changed since the last build comes from the caches in the state folder (parse-cache.ts), and the
// parsers and renderers are loaded only when something must be parsed or rendered.

import { existsSync, lstatSync } from 'node:fs';
import path from 'node:path';
import {
  changeTimeOf,
  type KnownSources,
  readContentSources,
  readSourceLater,
  type SourceFile,
} from '../content/read-content.ts';
import type { CompiledEmail } from '../email/model.ts';
import { type EmailTemplates, readEmailTemplates } from '../email/read-templates.ts';
import { KurierError } from '../error.ts';
import type { Article, OutputFile, Site } from '../model.ts';
import { planFeedLinks } from '../render/feed-links.ts';
import type { PageTemplates, RenderedPage } from '../render/pages.ts';
import { type EmailCompiler, startEmailCompiler } from './compile-emails.ts';
import { planEmailCacheKey, pruneEmailCache, readCachedEmail, writeCachedEmail } from './email-cache.ts';
import {
  type BuildMemory,
  type CacheEntry,
  hashText,
  isOutputCurrent,
  type ParseCache,
  planCodeVersion,
  planStamp,
  planStoredArticle,
  readFileClock,
  readOutputRecords,
  readOutputStamps,
  readParseCache,
  restoreArticle,
  withoutHtml,
  writeOutputRecords,
  writeParseCache,
} from './parse-cache.ts';
import type { ParseWorker } from './parse-content.ts';
import { readPageTemplates } from './read-templates.ts';
import { planOutput, readStaticFiles, STATIC_DIR } from './static-files.ts';
import {
  checkOutDir,
  type Disk,
  discardFreshOut,
  type FreshOut,
  isOutRemembered,
  settleFreshOut,
  startFreshOut,
  type WrittenFile,
  whileFreshOutBusy,
  writeFreshPage,
  writeFreshPageInBackground,
  writeOut,
} from './write-out.ts';

export interface BuildOptions {
  /** The project: content/ and templates/ below it. */
  readonly root: string;
  readonly outDir: string;
  /** Private state (never published); the email cache lives in its cache/ folder. */
  readonly stateDir: string;
  /**
   * False when the caller reads no article's HTML or Markdown after the build (build, serve): then a build
   * with nothing to render does not load the parser. Default true (publish compiles from the articles).
   */
  readonly fullArticles?: boolean;
  /** Kept between builds of one process, and updated by each. */
  readonly memory?: BuildMemory;
  /** The file system out/ is written through; tests pass the real one with a fault injected. */
  readonly disk?: Disk;
  /** How many threads parse besides this one; by default as many as the site's size and the cores merit. */
  readonly parseWorkers?: number;
  /**
   * Write the pages and feeds before the emails that must be compiled are ready, then the emails (kurier
   * serve: a reader sees the page ~15 ms per email sooner). Each write is whole; a failed email leaves the
   * new pages beside the last good email. Default false: one write of everything.
   */
  readonly emailsAfterPages?: boolean;
  /**
   * Leave the caches of the state folder to writeBuildCaches (kurier serve: its next build uses the ones in
   * memory, and a burst of saves writes them once). Default false: written before the build returns.
   */
  readonly cachesLater?: boolean;
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

type Parser = typeof import('./parse-content.ts');
let parser: Parser | undefined;

async function loadParser(): Promise<Parser> {
  parser ??= await import('./parse-content.ts');
  return parser;
}

/** The parser for the HTML of a cached article; buildPublication loads it before anything may ask. */
function loadedParser(): Parser {
  if (parser === undefined) throw new Error('an article was read before the parser was loaded');
  return parser;
}

// A source read again is a new object; one kept by `kurier serve` is hashed once.
const sourceHashes = new WeakMap<SourceFile, string>();

function hashSource(source: SourceFile): string {
  let hash = sourceHashes.get(source);
  if (hash === undefined) {
    hash = hashText(source.path, source.text);
    sourceHashes.set(source, hash);
  }
  return hash;
}

/** The entry for an article; `stored` itself when it says the same (its JSON is kept, see parse-cache.ts). */
function withStamp(stored: CacheEntry, stamp: string | undefined): CacheEntry {
  if (stored.stamp === stamp) return stored;
  return stamp === undefined
    ? { hash: stored.hash, article: stored.article }
    : { hash: stored.hash, article: stored.article, stamp };
}

/**
 * The articles the parse cache holds with a stamp, as known sources whose text is read only on demand: an
 * unchanged site is checked by one lstat per article, not read and hashed (9 MB for 1,000 articles).
 */
function seedKnownSources(root: string, cache: ParseCache, known: KnownSources): void {
  for (const [file, entry] of cache.articles) {
    if (entry.stamp === undefined) continue;
    const source = readSourceLater(root, file);
    sourceHashes.set(source, entry.hash);
    known.set(file, { stamp: entry.stamp, source });
  }
}

interface BuildContent {
  readonly site: Site;
  /** Published articles, newest first. */
  readonly articles: readonly Article[];
  readonly drafts: readonly Article[];
  /** Hash of the code and settings the articles were parsed under. */
  readonly key: string;
  /** Hash of each article's source, by source path. */
  readonly hashes: ReadonlyMap<string, string>;
  /** True when the parse cache in memory.parse differs from the one on disk. */
  readonly changed: boolean;
  /** Pages the parse workers rendered with the build's page templates, by article. */
  readonly pages: ReadonlyMap<Article, Uint8Array>;
}

/**
 * Reads content/ and parses what the parse cache does not hold: an article whose source, settings and code
 * are unchanged comes from the cache, its HTML parsed again only if a renderer asks for it. Parse workers
 * start before the files are read when there is no cache, else once the misses are known. In a first build,
 * the workers' pages go into the `fresh` folder as they come: creating the files overlaps the parse, and no
 * page waits in memory for the end of the build. Only this thread writes: two threads creating files in one
 * folder contended for it, and took longer.
 */
async function readContent(
  root: string,
  stateDir: string,
  memory: BuildMemory,
  persistent: boolean,
  parsers: {
    readonly pageTemplates: PageTemplates;
    readonly count?: number | undefined;
    /** Where pages go when no worker parses (the email thread). */
    readonly renderPages?:
      | ((site: Site, articles: readonly Article[]) => Promise<readonly RenderedPage[]>)
      | undefined;
  },
  fresh: FreshOut | undefined,
  onEmailsLikely: () => void,
): Promise<BuildContent> {
  const cache = memory.parse ?? (await readParseCache(stateDir));
  // Read before any article is stat'ed, so that a first build can stamp what was changed long before.
  const before = cache?.writtenMs ?? (cache === undefined ? await readFileClock(stateDir) : undefined);
  const early = cache === undefined ? await loadParser() : undefined;
  let workers: ParseWorker[] = [];
  const known: KnownSources = memory.sources ?? new Map();
  // Only a process that builds again (kurier serve) keeps the files it read.
  if (persistent) memory.sources = known;
  if (known.size === 0 && cache !== undefined) seedKnownSources(root, cache, known);
  const sources = await readContentSources(
    root,
    (settings, count) => {
      if (early !== undefined) workers = early.startParseWorkers(settings, count, parsers);
    },
    known,
    // Without a cache, every article is parsed: each is read (and hashed) as its chunk goes to a parser.
    cache === undefined,
  );
  const key = hashText(planCodeVersion(), sources.settings.text);
  const hashesOf = () => new Map(sources.articles.map((source) => [source.path, hashSource(source)]));
  const stamps = new Map(
    sources.articles.map((source) => {
      const stamp = known.get(source.path)?.stamp;
      const changed = stamp === undefined ? 0 : changeTimeOf(stamp);
      return [source.path, planStamp(stamp, changed, before)];
    }),
  );
  const usable = cache?.key === key ? cache.articles : new Map<string, never>();
  const byPath = new Map(sources.articles.map((source) => [source.path, source]));
  const remembered = cache?.key === key ? memory.articles : undefined;
  const kept = new Map<string, Article>();
  const restore = (
    file: string,
    site: Site,
    stored: { readonly hash: string; readonly article: Record<string, unknown> },
  ) => {
    const article =
      remembered?.get(stored.hash) ??
      restoreArticle(stored.article, () =>
        loadedParser().parseArticle(byPath.get(file)?.text ?? '', file, site),
      );
    kept.set(stored.hash, article);
    return article;
  };

  const plan = cache?.key === key ? cache.plan : undefined;
  const unchanged =
    plan !== undefined &&
    usable.size === sources.articles.length &&
    sources.articles.every((source) => usable.get(source.path)?.hash === hashSource(source));
  if (unchanged) {
    const site = plan.site as Site;
    const restorePlanned = (file: string) => {
      const stored = usable.get(file);
      if (stored === undefined) throw new Error(`the parse cache plan names ${file}, which it lacks`);
      return restore(file, site, stored);
    };
    const articles = plan.published.map(restorePlanned);
    const drafts = plan.drafts.map(restorePlanned);
    memory.articles = kept;
    // Files that can be stamped now (old enough) and were not: stamped, the next build need not read them.
    const restamped = sources.articles.some(
      (source) => usable.get(source.path)?.stamp !== stamps.get(source.path),
    );
    if (!restamped) {
      memory.parse = cache;
      return { site, articles, drafts, key, hashes: hashesOf(), changed: false, pages: new Map() };
    }
    const entries = new Map([...usable].map(([file, entry]) => [file, withStamp(entry, stamps.get(file))]));
    memory.parse = { key, articles: entries, plan };
    return { site, articles, drafts, key, hashes: hashesOf(), changed: true, pages: new Map() };
  }

  const misses = sources.articles.filter(
    // Not hashed when not in the cache: a first build reads the file only when it parses it.
    (source) => {
      const stored = usable.get(source.path);
      return stored === undefined || stored.hash !== hashSource(source);
    },
  );
  // An article new or among the last build's newest may need its email compiled; an older one edited (or
  // redated, a rare case that only waits longer) does not start the email thread for nothing.
  const emailed = new Set(plan?.published.slice(0, (plan.site as Site).email.window));
  if (plan === undefined || misses.some((source) => emailed.has(source.path) || !usable.has(source.path))) {
    onEmailsLikely();
  }
  const parse = await loadParser();
  // The settings are part of the key: a plan made under it holds the site they give.
  const site =
    plan === undefined ? parse.parseSite(sources.settings.text, sources.settings.path) : (plan.site as Site);
  if (workers.length === 0 && misses.length > 0) {
    workers = parse.startParseWorkers(sources.settings, misses.length, parsers);
  }
  const { renderPages } = parsers;
  const { results: parsed, pages } = await parse.parseArticles(misses, site, workers, {
    pagesOnWorkers: true,
    renderElsewhere: renderPages === undefined ? undefined : (articles) => renderPages(site, articles),
    onTaken: hashSource,
    takePage:
      fresh === undefined
        ? undefined
        : (article, page) =>
            // The email thread's pages arrive while this thread parses: written in the background, without
            // holding the parse back (waiting for the writes between chunks made 1,000 articles 26% slower).
            // A parse worker's at once (see writeFreshPageInBackground).
            (workers.length === 0 ? writeFreshPageInBackground : writeFreshPage)(
              fresh,
              `${article.path}index.html`,
              page,
            ),
  });
  const next = new Map<string, CacheEntry>();
  const justParsed = new Map<string, Article>();
  let missIndex = 0;
  const results = sources.articles.map((source) => {
    const hash = hashSource(source);
    const stored = usable.get(source.path);
    if (stored?.hash === hash) {
      next.set(source.path, withStamp(stored, stamps.get(source.path)));
      return restore(source.path, site, stored);
    }
    const result = parsed[missIndex++] as Article | KurierError;
    if (!(result instanceof KurierError)) {
      next.set(source.path, withStamp({ hash, article: planStoredArticle(result) }, stamps.get(source.path)));
      kept.set(hash, result);
      justParsed.set(source.path, result);
    }
    return result;
  });
  memory.articles = kept;
  let content: ReturnType<Parser['planContent']>;
  try {
    content = parse.planContent(site, results);
  } catch (error) {
    // What did parse is kept for the build after the fix.
    memory.parse = { key, articles: next };
    await writeParseCache(stateDir, memory.parse).catch(() => undefined);
    throw error;
  }
  // The feeds' articles keep their HTML in the cache: after an edit, the feeds are made without parsing
  // the twenty newest again. Only what this build parsed is stored so; older entries keep what they hold.
  const fed = new Set(content.articles.slice(0, Math.max(0, site.feedEntries)).map((a) => a.sourcePath));
  for (const [file, entry] of next) {
    const article = justParsed.get(file);
    if (fed.has(file) && article !== undefined) {
      next.set(file, { ...entry, article: planStoredArticle(article, true) });
    } else if (!fed.has(file)) {
      next.set(file, withoutHtml(entry));
    }
  }
  memory.parse = {
    key,
    articles: next,
    plan: {
      site,
      published: content.articles.map((article) => article.sourcePath),
      drafts: content.drafts.map((article) => article.sourcePath),
    },
  };
  return {
    site,
    articles: content.articles,
    drafts: content.drafts,
    key,
    hashes: hashesOf(),
    changed: true,
    pages,
  };
}

interface PlannedEmail {
  readonly article: Article;
  readonly key: string;
  readonly cached: CompiledEmail | undefined;
}

/** The emails of the newest articles, and which of them the cache holds. */
async function planEmails(
  options: BuildOptions,
  content: BuildContent,
  templates: EmailTemplates,
  memory: BuildMemory,
): Promise<PlannedEmail[]> {
  const cacheDir = path.join(options.stateDir, 'cache', 'emails');
  return Promise.all(
    content.articles.slice(0, content.site.email.window).map(async (article) => {
      const articleKey = hashText(content.key, content.hashes.get(article.sourcePath) ?? '');
      const key = planEmailCacheKey(content.site, articleKey, templates, content.key);
      return {
        article,
        key,
        cached: memory.compiledEmails?.get(key) ?? (await readCachedEmail(cacheDir, key)),
      };
    }),
  );
}

/** Sends every email the cache lacks to `compiler` at once, before the returned promise is awaited. */
async function buildEmails(
  options: BuildOptions,
  site: Site,
  templates: EmailTemplates,
  planned: readonly PlannedEmail[],
  compiler: EmailCompiler,
): Promise<BuiltEmail[]> {
  const cacheDir = path.join(options.stateDir, 'cache', 'emails');
  const emails = await Promise.all(
    planned.map(async ({ article, key, cached }): Promise<BuiltEmail> => {
      if (cached !== undefined) return { article, email: cached, cached: true };
      const email = await compiler.compile({ site, article, templates });
      await writeCachedEmail(cacheDir, key, email);
      return { article, email, cached: false };
    }),
  );
  await pruneEmailCache(cacheDir, new Set(planned.map(({ key }) => key)));
  return emails;
}

/** A rendered page as UTF-8 bytes: half the memory of the JavaScript string for German text. */
function encode(content: string | Uint8Array): Uint8Array {
  return typeof content === 'string' ? Buffer.from(content) : content;
}

/**
 * The key of every file the build renders, from the hashes of what it is made of: code, settings, templates
 * and article sources. A file whose key is unchanged and that is still as the last build left it in out/ is
 * neither rendered nor compared again.
 */
function planOutputKeys(
  content: BuildContent,
  pageTemplates: unknown,
  emails: readonly PlannedEmail[],
  memory: BuildMemory,
): Map<string, string> {
  const templatesKey = hashText(content.key, JSON.stringify(pageTemplates));
  // A thousand hashes per save of kurier serve for pages whose key cannot have changed.
  const known = memory.pageKeys?.templatesKey === templatesKey ? memory.pageKeys.byArticle : undefined;
  const pageKeys = new Map<string, string>();
  const articleKey = (article: Article) => content.hashes.get(article.sourcePath) ?? '';
  const links = planFeedLinks(content.site);
  const feedsKey = hashText(
    content.key,
    ...content.articles.slice(0, Math.max(0, content.site.feedEntries)).map(articleKey),
  );
  const keys = new Map<string, string>();
  for (const link of [links.atom, links.rss, links.json]) keys.set(link.path, feedsKey);
  keys.set('index.html', hashText(templatesKey, 'index', ...content.articles.map(articleKey)));
  keys.set('style.css', hashText(templatesKey, 'style'));
  for (const article of content.articles) {
    const hash = articleKey(article);
    const key = known?.get(hash) ?? hashText(templatesKey, 'page', hash);
    pageKeys.set(hash, key);
    keys.set(`${article.path}index.html`, key);
  }
  memory.pageKeys = { templatesKey, byArticle: pageKeys };
  for (const email of emails) {
    keys.set(`${email.article.path}email.html`, hashText(email.key, 'html'));
    keys.set(`${email.article.path}email.txt`, hashText(email.key, 'text'));
  }
  return keys;
}

/**
 * Writes the caches a build left in memory into the state folder, for the next process. Only caches, written
 * once out/ is complete: without them the next build parses and renders again, nothing worse.
 */
export async function writeBuildCaches(stateDir: string, memory: BuildMemory): Promise<void> {
  const { parse, records, outDir, unsaved } = memory;
  memory.unsaved = undefined;
  if (unsaved?.parse === true && parse !== undefined) {
    // Its time is what the next build judges the stamps by.
    await writeParseCache(stateDir, parse).then(
      (writtenMs) => {
        if (memory.parse === parse) memory.parse = { ...parse, writtenMs };
      },
      () => undefined,
    );
  }
  if (unsaved?.records === true && records !== undefined && outDir !== undefined) {
    await writeOutputRecords(stateDir, outDir, records).catch(() => undefined);
  }
}

export async function buildPublication(options: BuildOptions): Promise<BuildResult> {
  await checkOutDir(options.root, options.outDir);
  const memory = options.memory ?? {};
  const compiler = memory.emails ?? startEmailCompiler();
  // Without compiled emails (a first build), the email thread loads MJML while this one parses; a process
  // that keeps its memory (kurier serve) has it ready for the first edit. Otherwise it starts once readContent
  // finds a changed article that may be emailed, before parsing it: MJML's load was most of the wait of a
  // build after an edit of the newest article.
  if (options.memory !== undefined || !existsSync(path.join(options.stateDir, 'cache', 'emails'))) {
    compiler.warm();
  }
  // A first build writes its pages as it has them; through a fault-injecting disk (tests), all in writeOut.
  const fresh = options.disk === undefined ? startFreshOut(options.outDir) : undefined;
  try {
    return await buildWith(options, memory, compiler, fresh);
  } finally {
    // Gone already if it became out/.
    await discardFreshOut(fresh);
    if (options.memory === undefined) await compiler.stop();
    else options.memory.emails = compiler;
  }
}

async function buildWith(
  options: BuildOptions,
  memory: BuildMemory,
  compiler: EmailCompiler,
  fresh: FreshOut | undefined,
): Promise<BuildResult> {
  const templatesDir = path.join(options.root, 'templates');
  // Read first: the parse workers render the pages of the articles they parse.
  const pageTemplates = await readPageTemplates(templatesDir);
  const content = await readContent(
    options.root,
    options.stateDir,
    memory,
    options.memory !== undefined,
    {
      pageTemplates,
      count: options.parseWorkers,
      renderPages: (site, articles) => compiler.renderPages({ site, pageTemplates, articles }),
    },
    fresh,
    () => compiler.warm(),
  );
  const { site, articles } = content;
  const emailTemplates = await readEmailTemplates(templatesDir);
  const plannedEmails = await planEmails(options, content, emailTemplates, memory);
  const keys = planOutputKeys(content, pageTemplates, plannedEmails, memory);
  const records =
    memory.outDir === options.outDir && memory.records !== undefined
      ? memory.records
      : await readOutputRecords(options.stateDir, options.outDir);
  // In a process that wrote out/ itself and finds it as it left it (kurier serve), a record is trusted
  // without a look at its file.
  const remembered =
    options.memory !== undefined &&
    memory.outDir === options.outDir &&
    isOutRemembered(options.outDir, memory.out, options.disk);
  const current = new Set(
    [...keys]
      .filter(([file, key]) =>
        remembered
          ? records.get(file)?.key === key
          : isOutputCurrent(path.join(options.outDir, ...file.split('/')), key, records.get(file)),
      )
      .map(([file]) => file),
  );
  const pagesToRender = articles.filter((article) => !current.has(`${article.path}index.html`));
  const emailsToRender = plannedEmails.filter(
    (email) =>
      email.cached === undefined ||
      !current.has(`${email.article.path}email.html`) ||
      !current.has(`${email.article.path}email.txt`),
  );
  const renderIndex = !current.has('index.html') || !current.has('style.css') || pagesToRender.length > 0;
  const renderFeeds = [...keys.keys()].some(
    (file) => !current.has(file) && /^(feed\.xml|rss\.xml|feed\.json)$/.test(file),
  );
  const rendering = renderIndex || renderFeeds || emailsToRender.length > 0;
  if (rendering || options.fullArticles !== false) await loadParser();
  const render = rendering ? await import('./renderers.ts') : undefined;

  const made = new Map<string, Uint8Array>();
  // Written after the pages and feeds: their emails are compiled once those are on disk, so that the
  // compile does not take the second core from the pages on a busy machine. Otherwise the emails compile
  // on another thread while this one renders the pages.
  const emailsLater =
    options.emailsAfterPages === true && emailsToRender.some((email) => email.cached === undefined);
  const startEmails = () => {
    const building = buildEmails(options, site, emailTemplates, plannedEmails, compiler);
    building.catch(() => undefined);
    return building;
  };
  const building = emailsLater ? undefined : startEmails();
  // Everything is rendered before anything is written: a template that fails on one page stops the build
  // with out/ untouched.
  if (render !== undefined && renderFeeds) {
    for (const file of render.renderFeeds(site, articles)) made.set(file.path, encode(file.content));
  }
  if (render !== undefined && renderIndex) {
    const unrendered = pagesToRender.filter(
      (article) => !content.pages.has(article) && fresh?.files.has(`${article.path}index.html`) !== true,
    );
    for (const file of render.renderPages(site, articles, pageTemplates, unrendered)) {
      const bytes = encode(file.content);
      // A first build's pages go into the fresh folder at once, as the workers' did (readContent).
      if (
        fresh === undefined ||
        !file.path.endsWith('/index.html') ||
        !writeFreshPageInBackground(fresh, file.path, bytes)
      ) {
        made.set(file.path, bytes);
      } else {
        await whileFreshOutBusy(fresh);
      }
    }
    for (const article of pagesToRender) {
      const page = content.pages.get(article);
      if (page !== undefined) made.set(`${article.path}index.html`, page);
    }
  }
  if (fresh !== undefined) {
    await settleFreshOut(fresh);
    for (const [file, bytes] of fresh.failed) made.set(file, bytes);
  }
  const outName = path.relative(options.root, options.outDir).split(path.sep).join('/');
  const staticFiles = await readStaticFiles(path.join(options.root, STATIC_DIR));
  memory.out ??= {};
  const outMemory = memory.out;
  const written = new Set<string>();
  const ahead: ReadonlyMap<string, number> = fresh?.files ?? new Map();
  let freshLeft = fresh;
  const write = (made: ReadonlyMap<string, Uint8Array>, later: ReadonlySet<string>) => {
    // In the order a first build makes them; a file still current in out/, or written by this build's first
    // write, is only named, with its size, and so is a page already in the fresh folder.
    const files: OutputFile[] = [];
    const kept = new Map<string, number>();
    const fromFresh: string[] = [];
    for (const file of keys.keys()) {
      const bytes = made.get(file);
      const size = bytes?.byteLength ?? ahead.get(file);
      if (size !== undefined && written.has(file)) kept.set(file, size);
      else if (bytes !== undefined) files.push({ path: file, content: bytes });
      else if (size !== undefined) fromFresh.push(file);
      else if (!later.has(file)) kept.set(file, records.get(file)?.size ?? 0);
      else {
        // An email still compiling: its last version stays (as it is) until the next write replaces it.
        const info = lstatSync(path.join(options.outDir, ...file.split('/')), { throwIfNoEntry: false });
        if (info?.isFile() === true) kept.set(file, info.size);
      }
    }
    const named = [...kept.keys(), ...fromFresh].map((file) => ({ path: file, content: '' }));
    const output = planOutput([...files, ...named], staticFiles).filter(
      (file) => !kept.has(file.path) && !ahead.has(file.path),
    );
    const result = writeOut(options.outDir, output, {
      outName,
      manifestFile: path.join(options.stateDir, 'written', `${encodeURIComponent(outName)}.json`),
      current: kept,
      ...(options.disk === undefined ? {} : { disk: options.disk }),
      memory: outMemory,
      fresh: freshLeft,
    });
    freshLeft = undefined;
    for (const file of [...files.map(({ path }) => path), ...fromFresh]) written.add(file);
    return result;
  };
  const early = emailsLater
    ? write(
        made,
        new Set(
          emailsToRender.flatMap(({ article }) => [`${article.path}email.html`, `${article.path}email.txt`]),
        ),
      )
    : [];
  const changedEarly = new Set(early.filter((file) => file.changed).map((file) => file.path));
  const emails = await (building ?? startEmails());
  memory.compiledEmails = new Map(emails.map(({ email }, index) => [plannedEmails[index]?.key ?? '', email]));
  for (const { article, email } of emails) {
    if (render === undefined || !emailsToRender.some((planned) => planned.article === article)) continue;
    const web = render.renderWebVersion(email);
    made.set(`${article.path}email.html`, encode(web.html));
    made.set(`${article.path}email.txt`, encode(web.text));
  }
  const writtenFiles = write(made, new Set()).map((file) =>
    changedEarly.has(file.path) ? { ...file, changed: true } : file,
  );
  const untouched = new Map(
    [...current].flatMap((file) => {
      const record = records.get(file);
      return record === undefined ? [] : [[file, record] as const];
    }),
  );
  memory.records = readOutputStamps(options.outDir, keys, untouched);
  memory.outDir = options.outDir;
  memory.unsaved = { parse: content.changed || memory.unsaved?.parse === true, records: true };
  if (options.cachesLater !== true) await writeBuildCaches(options.stateDir, memory);
  return {
    site,
    articles,
    drafts: content.drafts.length,
    written: writtenFiles,
    emails,
    warnings: [
      ...[...articles, ...content.drafts].flatMap((article) => article.warnings ?? []),
      ...emails.flatMap(({ email }) => email.warnings),
    ],
  };
}
