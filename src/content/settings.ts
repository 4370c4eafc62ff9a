// content/site.yaml → Site: the publication's settings, checked once.

import type { Person, Site } from '../model.ts';
import { z } from '../schema.ts';
import { isTimeZone } from './dates.ts';
import { absoluteUrl } from './markdown.ts';
import { SETTINGS_FILE } from './read-content.ts';
import { languageSchema, type PersonInput, parseWithSchema, personSchema } from './schema.ts';
import { parseYaml } from './yaml.ts';

// RFC 4151 §2.1: taggingEntity = authorityName "," date, where authorityName is a domain or an e-mail address.
const TAG_AUTHORITY =
  /^(?:[a-z0-9-]+(?:\.[a-z0-9-]+)+|[^@\s,]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+),\d{4}(?:-\d{2}(?:-\d{2})?)?$/;

const settingsSchema = z.strictObject({
  title: z.string().trim().min(1, 'the publication needs a title'),
  subtitle: z.string().trim().min(1).optional(),
  baseUrl: z.url({ protocol: /^https?$/, error: 'expected the absolute http(s) URL where out/ is served' }),
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
  icon: z.string().trim().min(1).optional(),
  logo: z.string().trim().min(1).optional(),
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
  }),
});

const KNOWN_KEYS = [
  ...Object.keys(settingsSchema.shape),
  'entries',
  ...Object.keys(settingsSchema.shape.email.shape),
];

export function parsePerson(input: PersonInput): Person {
  return typeof input === 'string' ? { name: input } : input;
}

export function parseSite(source: string, file: string = SETTINGS_FILE): Site {
  const yaml = parseYaml(source.replace(/^\uFEFF/, ''), file);
  const settings = parseWithSchema(settingsSchema, yaml, file, 'SETTINGS_INVALID', KNOWN_KEYS);
  const baseUrl = new URL(settings.baseUrl);
  baseUrl.search = '';
  baseUrl.hash = '';
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
    sourcePath: file,
  };
}
