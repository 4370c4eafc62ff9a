// content/posts/*.md → Article: front matter checked against the schema, body rendered to HTML.

import { KurierError } from '../error.ts';
import type { Article, Image, Site } from '../model.ts';
import { z } from '../schema.ts';
import { DATE_HINT, parseDate } from './dates.ts';
import { absoluteUrl, renderInlineMarkdown, renderMarkdown } from './markdown.ts';
import { imageSource, languageSchema, parseWithSchema, personSchema } from './schema.ts';
import { parsePerson } from './settings.ts';
import { MAX_SLUG, MAX_TITLE_SLUG, planTitleSlug, SLUG_PATTERN } from './slug.ts';
import { normalizeText } from './text.ts';
import { parseYaml } from './yaml.ts';

// RFC 4151 tag URI; the specific part may hold IRI characters (Atom ids are IRIs, RFC 4287 §4.2.6) but no
// spaces or characters that need escaping in XML attributes or JSON.
const TAG_URI = /^tag:[^\s,:]+,\d{4}(?:-\d{2}(?:-\d{2})?)?:[^\s<>"{}|\\^`]*$/u;

const dateText = z.string({ error: DATE_HINT }).regex(/^\d{4}-\d{2}-\d{2}/, DATE_HINT);

const frontMatterSchema = z
  .strictObject({
    id: z.string({ error: 'every article needs a stable id' }).regex(TAG_URI, 'expected a tag: URI'),
    title: z.string({ error: 'every article needs a title' }).trim().min(1, 'the title must not be empty'),
    date: dateText,
    updated: dateText.optional(),
    author: personSchema.optional(),
    authors: z.array(personSchema).min(1).optional(),
    summary: z.string({ error: 'every article needs a summary: its lead paragraph' }).trim().min(1),
    tags: z.array(z.string().trim().min(1, 'a tag must not be empty')).default([]),
    image: z
      .strictObject({
        src: imageSource,
        alt: z.string({ error: 'describe the image for readers who cannot see it' }),
        width: z.int().positive().optional(),
        height: z.int().positive().optional(),
      })
      .optional(),
    slug: z
      .string()
      .regex(SLUG_PATTERN, 'expected lowercase letters, digits and single hyphens, like bochum-im-wandel')
      .max(MAX_SLUG, `a slug may have at most ${MAX_SLUG} characters`)
      .optional(),
    draft: z.boolean().default(false),
    lang: languageSchema.optional(),
  })
  .refine((data) => data.author === undefined || data.authors === undefined, {
    message: 'use either author or authors, not both',
    path: ['authors'],
  });

/** An earlier publication date is a typo ("0026-11-26" for 2026), not an article from before the web. */
const EARLIEST_YEAR = 1900;

const KNOWN_KEYS = [
  'id',
  'title',
  'date',
  'updated',
  'author',
  'authors',
  'summary',
  'tags',
  'image',
  'slug',
  'draft',
  'lang',
  'src',
  'alt',
  'width',
  'height',
];

const IMAGE_TYPES: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
  svg: 'image/svg+xml',
};

export interface SplitSource {
  readonly frontMatter: string;
  /** File line of the front matter's first line. */
  readonly frontMatterLine: number;
  readonly body: string;
}

/** Splits `---` front matter from the body. Line endings become \n first, so CRLF files read the same. */
export function splitFrontMatter(source: string, file: string): SplitSource {
  const withoutBom = source.replace(/^\uFEFF/, '');
  // Most files have no "\r"; looking for one is a fraction of a replace that finds none.
  const text = normalizeText(withoutBom.includes('\r') ? withoutBom.replace(/\r\n?/g, '\n') : withoutBom);
  const firstEnd = lineEnd(text, 0);
  if (text.slice(0, firstEnd).trimEnd() !== '---') {
    throw new KurierError(
      'FRONT_MATTER_MISSING',
      'the file does not start with front matter: make its first line "---", then the fields (title: …, date: …), then another "---".',
      { file, line: 1 },
    );
  }
  // Line by line up to the closing line only: the body is taken whole, not split into lines and joined again.
  for (let start = firstEnd + 1; start <= text.length; ) {
    const end = lineEnd(text, start);
    if (/^(---|\.\.\.)\s*$/.test(text.slice(start, end))) {
      return {
        frontMatter: text.slice(firstEnd + 1, start - 1),
        frontMatterLine: 2,
        body: text.slice(end + 1),
      };
    }
    start = end + 1;
  }
  throw new KurierError(
    'FRONT_MATTER_MISSING',
    'the front matter is not closed: add a line "---" after its last field.',
    { file, line: 1 },
  );
}

function lineEnd(text: string, start: number): number {
  const end = text.indexOf('\n', start);
  return end === -1 ? text.length : end;
}

/** The id line a writer should add to an article that has none: minted once, from the settings and the slug. */
export function planArticleId(site: Site, slug: string): string {
  return `tag:${site.tagAuthority}:${slug}`;
}

export function parseArticle(source: string, file: string, site: Site): Article {
  const split = splitFrontMatter(source, file);
  const yaml = parseYaml(split.frontMatter, file, split.frontMatterLine);
  if (yaml.data === null || typeof yaml.data !== 'object' || Array.isArray(yaml.data)) {
    throw new KurierError(
      'FRONT_MATTER_INVALID',
      'the front matter must be fields like "title: …", one per line.',
      {
        file,
        line: split.frontMatterLine,
      },
    );
  }
  const raw = yaml.data as Record<string, unknown>;
  if (raw.id === undefined && typeof raw.title === 'string') {
    const slug = (typeof raw.slug === 'string' ? raw.slug : planTitleSlug(raw.title).slug) || '<slug>';
    throw new KurierError(
      'FRONT_MATTER_INVALID',
      `id: every article needs a stable id, minted once and never changed; add the line "id: ${planArticleId(site, slug)}".`,
      { file, line: split.frontMatterLine },
    );
  }
  const fields = parseWithSchema(frontMatterSchema, yaml, file, 'FRONT_MATTER_INVALID', KNOWN_KEYS);

  const dateOf = (key: 'date' | 'updated', text: string): Date => {
    const date = parseDate(text, site.timeZone);
    if (date === undefined) {
      throw new KurierError(
        'FRONT_MATTER_INVALID',
        `${key}: ${DATE_HINT}; got "${text}" (no such day or time).`,
        {
          file,
          line: yaml.lineOf([key]),
        },
      );
    }
    if (date.getUTCFullYear() < EARLIEST_YEAR) {
      throw new KurierError(
        'FRONT_MATTER_INVALID',
        `${key}: "${text}" lies in the year ${date.getUTCFullYear()}; write the year in full, like 2026-11-26.`,
        { file, line: yaml.lineOf([key]) },
      );
    }
    return date;
  };
  const published = dateOf('date', fields.date);
  const updated = fields.updated === undefined ? published : dateOf('updated', fields.updated);
  if (updated < published) {
    throw new KurierError(
      'FRONT_MATTER_INVALID',
      'updated: must not be before date; correct one of the two.',
      {
        file,
        line: yaml.lineOf(['updated']),
      },
    );
  }

  const titleSlug = planTitleSlug(fields.title);
  const slug = fields.slug ?? titleSlug.slug;
  if (slug === '') {
    throw new KurierError(
      'FRONT_MATTER_INVALID',
      'slug: the title has no letters or digits a URL can use (a–z, 0–9; ä → ae); add "slug: …" by hand.',
      {
        file,
        line: yaml.lineOf(['title']),
      },
    );
  }
  const path = `${slug}/`;
  const url = new URL(path, site.baseUrl).href;
  const summary = renderInlineMarkdown(fields.summary, url);
  const warnings =
    fields.slug === undefined && titleSlug.cutFrom !== undefined
      ? [
          `${file}:${yaml.lineOf(['title'])}: the slug from the title would have ${titleSlug.cutFrom} characters; ` +
            `it is cut to ${MAX_TITLE_SLUG} at most, at a word boundary: "${slug}". To choose the URL yourself, ` +
            `add "slug: …" (up to ${MAX_SLUG} characters).`,
        ]
      : [];
  const authorInputs = fields.authors ?? (fields.author === undefined ? undefined : [fields.author]);

  return {
    id: fields.id,
    slug,
    title: fields.title,
    summary: summary.text,
    summaryHtml: summary.html,
    published,
    updated,
    authors: authorInputs === undefined ? site.authors : authorInputs.map(parsePerson),
    tags: fields.tags,
    lang: fields.lang ?? site.language,
    image: fields.image === undefined ? undefined : parseImage(fields.image, url),
    draft: fields.draft,
    url,
    path,
    html: renderMarkdown(split.body, url),
    sourcePath: file,
    ...(warnings.length === 0 ? {} : { warnings }),
    sourceLines: {
      id: yaml.lineOf(['id']),
      slug: yaml.lineOf([fields.slug === undefined ? 'title' : 'slug']),
    },
  };
}

function parseImage(
  image: { src: string; alt: string; width?: number; height?: number },
  pageUrl: string,
): Image {
  const url = absoluteUrl(image.src, pageUrl);
  const extension = /\.([a-z0-9]+)(?:[?#]|$)/i.exec(url)?.[1]?.toLowerCase() ?? '';
  return {
    url,
    alt: image.alt,
    width: image.width,
    height: image.height,
    type: IMAGE_TYPES[extension] ?? 'image/jpeg',
  };
}

/** Newest first; ties broken by slug so the order never depends on the file system. */
export function sortArticles(articles: readonly Article[]): Article[] {
  return [...articles].sort(
    (a, b) =>
      b.published.getTime() - a.published.getTime() || (a.slug < b.slug ? -1 : a.slug > b.slug ? 1 : 0),
  );
}

/** Two files must never claim the same URL or the same feed id. */
export function checkUnique(articles: readonly Article[]): KurierError[] {
  const errors: KurierError[] = [];
  for (const key of ['slug', 'id'] as const) {
    const firstByValue = new Map<string, Article>();
    for (const article of [...articles].sort((a, b) => (a.sourcePath < b.sourcePath ? -1 : 1))) {
      const first = firstByValue.get(article[key]);
      if (first === undefined) {
        firstByValue.set(article[key], article);
        continue;
      }
      const what = key === 'slug' ? 'URL slug' : 'id';
      const fix =
        key === 'slug' ? 'give one of them a different "slug:"' : 'mint a new id for the newer article';
      errors.push(
        new KurierError(
          key === 'slug' ? 'DUPLICATE_SLUG' : 'DUPLICATE_ID',
          `${what} "${article[key]}" is also used by ${first.sourcePath}: ${fix}.`,
          { file: article.sourcePath, line: article.sourceLines?.[key] ?? 1 },
        ),
      );
    }
  }
  return errors;
}
