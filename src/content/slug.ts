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
    .replace(/[äöüÄÖÜßẞæœøåłđþ]/g, (letter) => TRANSLITERATION[letter] ?? letter)
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

export const SLUG_PATTERN = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
