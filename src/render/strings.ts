// The words Kurier itself writes on pages and in emails, in the publication's language (German, or English
// as the fallback), and dates as readers see them.

import { type WallClock, wallClock } from '../time.ts';

export interface Strings {
  readonly by: string;
  readonly and: string;
  readonly updated: string;
  readonly skipToContent: string;
  readonly subscribe: string;
  readonly signupTitle: string;
  readonly emailLabel: string;
  readonly nameLabel: string;
  readonly privacy: string;
  readonly tags: string;
  readonly articles: string;
  readonly noArticles: string;
  readonly readMore: string;
  readonly viewInBrowser: string;
  readonly unsubscribe: string;
  readonly links: string;
  readonly image: string;
  /** Greeting with the reader's name, split around it: ["Hallo ", ","]. */
  readonly greetingNamed: readonly [string, string];
  /** Greeting when the name is unknown, and in the web version. */
  readonly greetingAnonymous: string;
  readonly months: readonly string[];
  /** Day, month name, year in the language's order. */
  readonly formatDate: (day: number, month: string, year: number) => string;
}

const STRINGS: Readonly<Record<'de' | 'en', Strings>> = {
  de: {
    by: 'Von',
    and: 'und',
    updated: 'aktualisiert am',
    skipToContent: 'Zum Inhalt springen',
    subscribe: 'Abonnieren',
    signupTitle: 'Newsletter abonnieren',
    emailLabel: 'E-Mail-Adresse',
    nameLabel: 'Name (freiwillig)',
    privacy: 'Datenschutzerklärung',
    tags: 'Schlagwörter',
    articles: 'Artikel',
    noArticles: 'Noch keine Artikel.',
    readMore: 'Weiterlesen',
    viewInBrowser: 'Im Browser ansehen',
    unsubscribe: 'Abmelden',
    links: 'Links',
    image: 'Bild',
    greetingNamed: ['Hallo ', ','],
    greetingAnonymous: 'Hallo,',
    months: [
      'Januar',
      'Februar',
      'März',
      'April',
      'Mai',
      'Juni',
      'Juli',
      'August',
      'September',
      'Oktober',
      'November',
      'Dezember',
    ],
    formatDate: (day, month, year) => `${day}. ${month} ${year}`,
  },
  en: {
    by: 'By',
    and: 'and',
    updated: 'updated',
    skipToContent: 'Skip to content',
    subscribe: 'Subscribe',
    signupTitle: 'Subscribe to the newsletter',
    emailLabel: 'Email address',
    nameLabel: 'Name (optional)',
    privacy: 'Privacy notice',
    tags: 'Tags',
    articles: 'Articles',
    noArticles: 'No articles yet.',
    readMore: 'Read on',
    viewInBrowser: 'View in browser',
    unsubscribe: 'Unsubscribe',
    links: 'Links',
    image: 'Image',
    greetingNamed: ['Hello ', ','],
    greetingAnonymous: 'Hello,',
    months: [
      'January',
      'February',
      'March',
      'April',
      'May',
      'June',
      'July',
      'August',
      'September',
      'October',
      'November',
      'December',
    ],
    formatDate: (day, month, year) => `${month} ${day}, ${year}`,
  },
};

/** Strings for a BCP 47 tag: "de-AT" uses "de"; an unknown language falls back to English. */
export function planStrings(language: string): Strings {
  return language.toLowerCase().split('-')[0] === 'de' ? STRINGS.de : STRINGS.en;
}

/** "Anna, Ben und Cleo" */
export function joinNames(names: readonly string[], strings: Strings): string {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} ${strings.and} ${names.at(-1)}`;
}

/**
 * "26. November 2026": the calendar day in the publication's time zone (an article published at 00:30 in
 * Berlin is dated the 26th, not the 25th as in UTC). Own month names: Node builds with reduced ICU data would
 * otherwise print English months, and out/ must be the same on every machine.
 */
// Reading a wall clock costs ~10 µs (Intl formatToParts): the index of 1,000 articles, rendered again on
// every save in `kurier serve`, paid 10 ms for dates that never change.
const wallClocks = new Map<string, WallClock>();
const WALL_CLOCKS_KEPT = 100_000;

export function formatDate(date: Date, timeZone: string, strings: Strings): string {
  const key = `${timeZone} ${date.getTime()}`;
  let clock = wallClocks.get(key);
  if (clock === undefined) {
    clock = wallClock(date, timeZone);
    if (wallClocks.size >= WALL_CLOCKS_KEPT) wallClocks.clear();
    wallClocks.set(key, clock);
  }
  const { day, month, year } = clock;
  return strings.formatDate(day, strings.months[month - 1] ?? '', year);
}

/**
 * Open Graph's og:locale is language_TERRITORY (ogp.me: "en_US"): "de-AT" → "de_AT", and a bare "de" gets
 * the territory CLDR's likely subtags give it ("de_DE", "en_US", "pt_BR"). An unknown language stays as is.
 */
export function planOpenGraphLocale(language: string): string {
  const locale = new Intl.Locale(language).maximize();
  return locale.region === undefined ? locale.language : `${locale.language}_${locale.region}`;
}
