// Site + articles → the web pages: out/index.html and out/<slug>/index.html, the pages feed entries link to.

import type { Article, OutputFile, Site } from '../model.ts';
import { planFeedLinks } from './feed-links.ts';
import { compileTemplate } from './handlebars.ts';
import { formatDate, joinNames, planOpenGraphLocale, planStrings } from './strings.ts';

export interface PageTemplates {
  readonly article: string;
  readonly index: string;
  readonly partials: Readonly<Record<string, string>>;
  readonly stylesheet: string;
}

interface ShownDate {
  readonly iso: string;
  readonly text: string;
}

/** `</script>` inside JSON-LD would end the script element early; `<` as \u003c keeps the JSON identical. */
function renderJsonLd(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

/** What every page of a site is rendered with: its strings, feed links and compiled templates. */
interface PageContext {
  readonly site: Site;
  readonly strings: ReturnType<typeof planStrings>;
  readonly feeds: readonly ReturnType<typeof planFeedLinks>['atom'][];
  readonly locale: string;
  readonly partials: Readonly<Record<string, string>>;
  readonly partialFiles: Readonly<Record<string, string>>;
  readonly articlePage: (data: unknown) => string;
  showDate(date: Date): ShownDate;
  authorsOf(article: Article): string;
}

function planPageContext(site: Site, templates: PageTemplates): PageContext {
  const strings = planStrings(site.language);
  const links = planFeedLinks(site);
  const partials = templates.partials;
  const partialFiles = Object.fromEntries(
    Object.keys(partials).map((name) => [name, `templates/partials/${name}.hbs`]),
  );
  return {
    site,
    strings,
    feeds: [links.atom, links.rss, links.json],
    locale: planOpenGraphLocale(site.language),
    partials,
    partialFiles,
    articlePage: compileTemplate(templates.article, {
      file: 'templates/article.hbs',
      partials,
      partialFiles,
    }),
    showDate: (date) => ({ iso: date.toISOString(), text: formatDate(date, site.timeZone, strings) }),
    authorsOf: (article) =>
      joinNames(
        article.authors.map((author) => author.name),
        strings,
      ),
  };
}

function renderArticlePage(context: PageContext, article: Article): string {
  const { site, strings, feeds, locale, showDate } = context;
  const jsonLd = {
    '@context': 'https://schema.org',
    '@type': 'Article',
    headline: article.title,
    description: article.summary,
    inLanguage: article.lang,
    datePublished: article.published.toISOString(),
    dateModified: article.updated.toISOString(),
    author: article.authors.map((author) => ({ '@type': 'Person', name: author.name, url: author.uri })),
    image: article.image?.url,
    mainEntityOfPage: article.url,
    keywords: article.tags.join(', ') || undefined,
  };
  return context.articlePage({
    site,
    strings,
    feeds,
    locale,
    root: '../'.repeat(article.path.split('/').length - 1),
    article,
    authors: context.authorsOf(article),
    published: showDate(article.published),
    updated: showDate(article.updated),
    wasUpdated: article.updated.getTime() !== article.published.getTime(),
    jsonLd: renderJsonLd(jsonLd),
  });
}

/**
 * One article's page, as renderPages makes it (a parse thread renders each page right after parsing its
 * article, while the main thread has the rest of the build to do). Its path is `${article.path}index.html`.
 */
export function planArticlePageRenderer(site: Site, templates: PageTemplates): (article: Article) => string {
  const context = planPageContext(site, templates);
  return (article) => renderArticlePage(context, article);
}

/** An article's page as UTF-8 (planPage), if it could be rendered. */
export interface RenderedPage {
  readonly page?: Uint8Array | undefined;
}

const encoder = new TextEncoder();

/**
 * The article's page as `renderPage` makes it, unless it is a draft (never published). A page that fails is
 * left out: the build renders it again and reports the error as it would have.
 */
export function planPage(article: Article, renderPage: (article: Article) => string): RenderedPage {
  if (article.draft) return {};
  try {
    return { page: encoder.encode(renderPage(article)) };
  } catch {
    return {};
  }
}

/** `articlePages`: the articles whose pages to render (all by default); the index always lists every one. */
export function* renderPages(
  site: Site,
  articles: readonly Article[],
  templates: PageTemplates,
  articlePages: readonly Article[] = articles,
): Generator<OutputFile> {
  const context = planPageContext(site, templates);
  const { strings, feeds, locale, showDate, authorsOf, partials, partialFiles } = context;
  const indexPage = compileTemplate(templates.index, { file: 'templates/index.hbs', partials, partialFiles });
  yield {
    path: 'index.html',
    content: indexPage({
      site,
      strings,
      feeds,
      locale,
      root: '',
      entries: articles.map((article) => ({
        title: article.title,
        href: article.path,
        lang: article.lang,
        summary: article.summary,
        authors: authorsOf(article),
        published: showDate(article.published),
      })),
    }),
  };
  yield { path: 'style.css', content: templates.stylesheet };
  for (const article of articlePages) {
    yield { path: `${article.path}index.html`, content: renderArticlePage(context, article) };
  }
}
