// The email's own words (footer, links, greeting, dates) per publication language; the templates read them.

export interface EmailStrings {
  readonly by: string;
  readonly and: string;
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

const STRINGS: Readonly<Record<string, EmailStrings>> = {
  de: {
    by: 'Von',
    and: 'und',
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
export function emailStrings(language: string): EmailStrings {
  const primary = language.toLowerCase().split('-')[0] ?? '';
  return STRINGS[primary] ?? (STRINGS.en as EmailStrings);
}

/**
 * "26. November 2026": the calendar day in the publication's time zone (an article published at 00:30 in
 * Berlin is dated the 26th, not the 25th as in UTC). Own month names: no dependence on ICU's locale data.
 */
export function formatEmailDate(date: Date, timeZone: string, strings: EmailStrings): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
  }).formatToParts(date);
  const part = (type: Intl.DateTimeFormatPartTypes) =>
    Number(parts.find((entry) => entry.type === type)?.value);
  return strings.formatDate(part('day'), strings.months[part('month') - 1] ?? '', part('year'));
}
