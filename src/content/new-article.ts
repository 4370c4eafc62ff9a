// A new article's first draft: front matter with an id minted now, once, from the settings and the slug.

import type { Site } from '../model.ts';
import { planArticleId } from './article.ts';
import { formatLocalDate } from './dates.ts';
import { POSTS_DIR } from './read-content.ts';
import { MAX_TITLE_SLUG, planTitleSlug, slugify } from './slug.ts';

export interface NewArticle {
  /** Relative to the project root. */
  readonly path: string;
  readonly slug: string;
  readonly text: string;
}

/**
 * The slugs to try for a new article, best first: `--slug`, else the title's (cut to length), else, for a
 * title without a letter a URL can use ("日本語"), the day's date with a counter.
 */
export function planNewSlugs(
  site: Site,
  title: string,
  now: Date,
  slug?: string,
): { readonly slugs: readonly string[]; readonly note?: string } {
  if (slug !== undefined) return { slugs: [slug] };
  const titleSlug = planTitleSlug(title);
  if (titleSlug.cutFrom !== undefined) {
    return {
      slugs: [titleSlug.slug],
      note: `The slug from the title would have ${titleSlug.cutFrom} characters; it is cut to ${MAX_TITLE_SLUG} at most, at a word boundary. Use --slug to choose it yourself.`,
    };
  }
  if (titleSlug.slug !== '') return { slugs: [titleSlug.slug] };
  const day = formatLocalDate(now, site.timeZone).slice(0, 10);
  return {
    slugs: [day, ...Array.from({ length: 98 }, (_, index) => `${day}-${index + 2}`)],
    note: 'The title has no letters a URL can use (a–z, 0–9; ä → ae), so the slug is the date. Use --slug to choose a readable one.',
  };
}

export function planNewArticle(site: Site, title: string, now: Date, slug: string): NewArticle {
  const quoted = JSON.stringify(title);
  const author = site.authors[0]?.name;
  const text = [
    '---',
    `id: ${planArticleId(site, slug)}`,
    `title: ${quoted}`,
    // The build derives the slug from the title; a date, a cut or a --slug slug must be written down.
    ...(slug === slugify(title) ? [] : [`slug: ${slug}`]),
    `date: ${formatLocalDate(now, site.timeZone)}`,
    ...(author === undefined ? [] : [`author: ${JSON.stringify(author)}`]),
    'summary: >-',
    '  Der erste Absatz: worum es geht, in zwei, drei Sätzen.',
    'tags: []',
    'draft: true',
    '---',
    '',
    'Der Text beginnt hier.',
    '',
  ].join('\n');
  return { path: `${POSTS_DIR}/${slug}.md`, slug, text };
}
