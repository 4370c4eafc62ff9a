// Slugs for URLs and heading anchors: readable ASCII, with German transliteration (ä → ae, ß → ss).

const TRANSLITERATION: Readonly<Record<string, string>> = {
  ä: 'ae',
  ö: 'oe',
  ü: 'ue',
  Ä: 'Ae',
  Ö: 'Oe',
  Ü: 'Ue',
  ß: 'ss',
  ẞ: 'SS',
  æ: 'ae',
  œ: 'oe',
  ø: 'o',
  å: 'aa',
  ł: 'l',
  đ: 'd',
  þ: 'th',
};

/** "Grüße aus Bochum – „Glück auf“" → "gruesse-aus-bochum-glueck-auf". */
export function slugify(text: string): string {
  return text
    .normalize('NFC')
    .replace(/[äöüÄÖÜßẞæœøåłđþ]/g, (letter) => TRANSLITERATION[letter] ?? letter)
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/**
 * A slug taken from a title is cut to this length at a word boundary: it becomes a folder name in out/ and a
 * file name in content/posts/ (255 bytes at most on every common file system), and a URL people read.
 */
export const MAX_TITLE_SLUG = 80;
/** A slug written by hand may be longer, but still leaves room for ".md" and out/'s own path. */
export const MAX_SLUG = 200;

export interface TitleSlug {
  readonly slug: string;
  /** The length before cutting, when the slug was cut to MAX_TITLE_SLUG. */
  readonly cutFrom?: number;
}

/** The slug of a title, cut after the last whole word that fits (a single longer word is cut hard). */
export function planTitleSlug(title: string): TitleSlug {
  const slug = slugify(title);
  if (slug.length <= MAX_TITLE_SLUG) return { slug };
  const head = slug.slice(0, MAX_TITLE_SLUG + 1);
  const boundary = head.lastIndexOf('-');
  const cut = boundary > 0 ? head.slice(0, boundary) : slug.slice(0, MAX_TITLE_SLUG).replace(/-+$/, '');
  return { slug: cut, cutFrom: slug.length };
}
