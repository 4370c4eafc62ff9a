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

/** `articlePages`: the articles whose pages to render (all by default); the index always lists every one. */
export function* renderPages(
  site: Site,
  articles: readonly Article[],
  templates: PageTemplates,
  articlePages: readonly Article[] = articles,
): Generator<OutputFile> {
  const strings = planStrings(site.language);
  const showDate = (date: Date): ShownDate => ({
    iso: date.toISOString(),
    text: formatDate(date, site.timeZone, strings),
  });
  const links = planFeedLinks(site);
  const feeds = [links.atom, links.rss, links.json];
  const locale = planOpenGraphLocale(site.language);
  const partials = templates.partials;
  const partialFiles = Object.fromEntries(
    Object.keys(partials).map((name) => [name, `templates/partials/${name}.hbs`]),
  );
  const articlePage = compileTemplate(templates.article, {
    file: 'templates/article.hbs',
    partials,
    partialFiles,
  });
  const indexPage = compileTemplate(templates.index, { file: 'templates/index.hbs', partials, partialFiles });
  const authorsOf = (article: Article) =>
    joinNames(
      article.authors.map((author) => author.name),
      strings,
    );

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
    yield {
      path: `${article.path}index.html`,
      content: articlePage({
        site,
        strings,
        feeds,
        locale,
        root: '../'.repeat(article.path.split('/').length - 1),
        article,
        authors: authorsOf(article),
        published: showDate(article.published),
        updated: showDate(article.updated),
        wasUpdated: article.updated.getTime() !== article.published.getTime(),
        jsonLd: renderJsonLd(jsonLd),
      }),
    };
  }
}
