// The words Kurier itself puts on pages, in the publication's language (German first, English fallback).

const STRINGS = {
  de: {
    by: 'Von',
    and: 'und',
    updated: 'aktualisiert am',
    skipToContent: 'Zum Inhalt springen',
    subscribe: 'Abonnieren',
    tags: 'Schlagwörter',
    articles: 'Artikel',
    noArticles: 'Noch keine Artikel.',
  },
  en: {
    by: 'By',
    and: 'and',
    updated: 'updated',
    skipToContent: 'Skip to content',
    subscribe: 'Subscribe',
    tags: 'Tags',
    articles: 'Articles',
    noArticles: 'No articles yet.',
  },
} as const;

export type PageStrings = (typeof STRINGS)[keyof typeof STRINGS];

export function planStrings(language: string): PageStrings {
  const primary = language.toLowerCase().split('-')[0];
  return primary === 'de' ? STRINGS.de : STRINGS.en;
}

/** "Anna, Ben und Cleo" */
export function joinNames(names: readonly string[], strings: PageStrings): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} ${strings.and} ${names.at(-1)}`;
}
