// A new article's first draft: front matter with an id minted now, once, from the settings and the slug.

import type { Site } from '../model.ts';
import { planArticleId } from './article.ts';
import { formatLocalDate } from './dates.ts';
import { POSTS_DIR } from './read-content.ts';
import { slugify } from './slug.ts';

export interface NewArticle {
  /** Relative to the project root. */
  readonly path: string;
  readonly slug: string;
  readonly text: string;
}

export function planNewArticle(site: Site, title: string, now: Date, slug = slugify(title)): NewArticle {
  const quoted = JSON.stringify(title);
  const author = site.authors[0]?.name;
  const text = [
    '---',
    `id: ${planArticleId(site, slug)}`,
    `title: ${quoted}`,
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
