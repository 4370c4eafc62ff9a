// Plain model values for tests of pure stages: a Site and Articles without touching the disk.

import type { Article, Site } from '../../src/model.ts';

export function makeSite(overrides: Partial<Site> = {}): Site {
  return {
    title: 'Kurier',
    subtitle: 'Essays über Städte im Wandel',
    baseUrl: 'https://kurier.example/',
    language: 'de',
    timeZone: 'Europe/Berlin',
    authors: [{ name: 'Rolevinck', uri: 'https://kurier.example/' }],
    tagAuthority: 'kurier.example,2026',
    rights: '© 2026 Rolevinck',
    feedEntries: 20,
    email: {
      from: { name: 'Kurier', email: 'newsletter@kurier.example' },
      replyTo: 'redaktion@kurier.example',
      fullContent: true,
      window: 10,
      imprint: ['Kurier – Rolevinck', 'Musterstraße 1', '44787 Bochum'],
      reason: 'Sie erhalten diese E-Mail, weil Sie den Newsletter von Kurier abonniert haben.',
      unsubscribeUrl: 'https://kurier.example/abmelden',
      unsubscribeMailto: 'abmelden@kurier.example',
      sizeBudget: 102_000,
      softBounces: { count: 3, withinDays: 30 },
    },
    sourcePath: 'content/site.yaml',
    ...overrides,
  };
}

export function makeArticle(overrides: Partial<Article> = {}): Article {
  const slug = overrides.slug ?? 'gruesse-aus-bochum';
  return {
    id: `tag:kurier.example,2026:${slug}`,
    slug,
    title: 'Grüße aus Bochum – „Glück auf“',
    summary: 'Wo einst Fördertürme standen, entstehen heute Start-ups.',
    published: new Date('2026-11-26T07:00:00Z'),
    updated: new Date('2026-11-26T07:00:00Z'),
    authors: [{ name: 'Rolevinck' }],
    tags: ['Bochum', 'Strukturwandel'],
    lang: 'de',
    draft: false,
    url: `https://kurier.example/${slug}/`,
    path: `${slug}/`,
    summaryHtml: 'Wo einst Fördertürme standen, entstehen heute Start-ups.',
    html: '<h2 id="der-abschied">Der Abschied</h2>\n<p>Als 2014 das letzte Auto vom Band rollte – ein Einschnitt.</p>\n',
    sourcePath: `content/posts/${slug}.md`,
    ...overrides,
  };
}
