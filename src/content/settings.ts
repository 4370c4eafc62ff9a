// content/site.yaml → Site: the publication's settings, checked once.

import type { Person, Site } from '../model.ts';
import { z } from '../schema.ts';
import { isTimeZone } from './dates.ts';
import { absoluteUrl } from './markdown.ts';
import { imageSource, languageSchema, type PersonInput, parseWithSchema, personSchema } from './schema.ts';
import { normalizeText } from './text.ts';
import { parseYaml } from './yaml.ts';

export const SETTINGS_FILE = 'content/site.yaml';

// RFC 4151 §2.1: taggingEntity = authorityName "," date, where authorityName is a domain or an e-mail address.
const TAG_AUTHORITY =
  /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)+|[^@\s,]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+),\d{4}(?:-\d{2}(?:-\d{2})?)?$/;

const settingsSchema = z.strictObject({
  title: z.string().trim().min(1, 'the publication needs a title'),
  subtitle: z.string().trim().min(1).optional(),
  baseUrl: z
    .url({ protocol: /^https?$/, error: 'expected the absolute http(s) URL where out/ is served' })
    // Every public link starts with baseUrl: a password in it would be published, and a query or fragment
    // cannot be the base of page URLs (it used to be dropped without a word).
    .refine((url) => {
      const parsed = new URL(url);
      return parsed.username === '' && parsed.password === '';
    }, 'must not contain a user name or password (user:password@); remove them, every public link starts with baseUrl')
    .refine(
      (url) => !url.includes('?') && !url.includes('#'),
      'must not contain a query (?…) or fragment (#…): give the folder out/ is served from, like https://kurier.example/',
    ),
  language: languageSchema,
  timeZone: z
    .string()
    .refine(isTimeZone, 'expected an IANA time zone like Europe/Berlin')
    .default('Europe/Berlin'),
  authors: z.array(personSchema).min(1, 'name at least one author'),
  tagAuthority: z
    .string()
    .regex(TAG_AUTHORITY, 'expected a domain you own and a date, like kurier.example,2026 (RFC 4151)'),
  rights: z.string().trim().min(1).optional(),
  icon: imageSource.optional(),
  logo: imageSource.optional(),
  feed: z.strictObject({ entries: z.int().min(1).max(10_000).default(20) }).default({ entries: 20 }),
  email: z.strictObject({
    from: z.strictObject({ name: z.string().trim().min(1), email: z.email('expected an e-mail address') }),
    replyTo: z.email('expected an e-mail address').optional(),
    fullContent: z.boolean().default(true),
    window: z.int().min(0).max(10_000).default(10),
    reason: z.string().trim().min(1, 'say why readers get this email'),
    imprint: z
      .array(z.string().trim().min(1))
      .min(1, 'German law requires the sender’s name and postal address'),
    unsubscribeUrl: z.url({
      protocol: /^https$/,
      error: 'expected an https URL (RFC 8058 one-click unsubscribe)',
    }),
    unsubscribeMailto: z.email('expected an e-mail address'),
    sizeBudget: z.int().min(10_000).default(102_000),
    /** The return mailbox: the envelope sender of every newsletter is its VERP form (bounces+<token>@…). */
    bounceAddress: z.email('expected an e-mail address').optional(),
    softBounces: z
      .strictObject({
        count: z.int().min(1).max(100).default(3),
        withinDays: z.int().min(1).max(365).default(30),
      })
      .default({ count: 3, withinDays: 30 }),
  }),
  subscriptions: z
    .strictObject({
      url: z.url({
        protocol: /^https?$/,
        error: 'expected the public http(s) URL of kurier server, like https://kurier.example/newsletter/',
      }),
      privacyUrl: z.url({ protocol: /^https?$/, error: 'expected the http(s) URL of the privacy notice' }),
      consent: z.string().trim().min(1, 'give the consent wording shown with the sign-up form'),
    })
    .optional(),
});

const KNOWN_KEYS = [
  ...Object.keys(settingsSchema.shape),
  'entries',
  ...Object.keys(settingsSchema.shape.email.shape),
  'count',
  'withinDays',
  'url',
  'privacyUrl',
  'consent',
];

export function parsePerson(input: PersonInput): Person {
  return typeof input === 'string' ? { name: input } : input;
}

export function parseSite(source: string, file: string = SETTINGS_FILE): Site {
  const yaml = parseYaml(normalizeText(source.replace(/^\uFEFF/, '')), file);
  const settings = parseWithSchema(settingsSchema, yaml, file, 'SETTINGS_INVALID', KNOWN_KEYS);
  const baseUrl = new URL(settings.baseUrl);
  if (!baseUrl.pathname.endsWith('/')) baseUrl.pathname += '/';
  return {
    title: settings.title,
    subtitle: settings.subtitle,
    baseUrl: baseUrl.href,
    language: settings.language,
    timeZone: settings.timeZone,
    authors: settings.authors.map(parsePerson),
    tagAuthority: settings.tagAuthority,
    rights: settings.rights,
    icon: settings.icon === undefined ? undefined : absoluteUrl(settings.icon, baseUrl.href),
    logo: settings.logo === undefined ? undefined : absoluteUrl(settings.logo, baseUrl.href),
    feedEntries: settings.feed.entries,
    email: { ...settings.email, imprint: settings.email.imprint },
    subscriptions:
      settings.subscriptions === undefined
        ? undefined
        : {
            ...settings.subscriptions,
            // The form posts to <url>subscribe: the service's routes live below it.
            url: settings.subscriptions.url.endsWith('/')
              ? settings.subscriptions.url
              : `${settings.subscriptions.url}/`,
          },
    sourcePath: file,
  };
}
