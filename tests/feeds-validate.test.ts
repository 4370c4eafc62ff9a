// The written feeds against real checkers: jing (RFC 4287 schema), xmllint (well-formedness, Schematron),
// feedparser (what readers see), and the W3C Feed Validation Service's rules restated as assertions.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Article, Site } from '../src/model.ts';
import { renderFeeds } from '../src/render/feeds.ts';
import { makeArticle, makeSite } from './support/fixtures.ts';
import { lacks } from './support/requirements.ts';
import {
  checkAtomSchematron,
  checkWellFormed,
  childNamed,
  childrenNamed,
  descendants,
  type FeedparserDict,
  ns,
  parseWithFeedparser,
  pythonPath,
  readXmlTree,
  validateAtomWithJing,
  type XmlElement,
} from './support/validators.ts';

const checkers = lacks('jing', 'xmllint', 'feedparser', 'schemas');

// The W3C validator's own patterns (feedvalidator/validators.py: rfc3339, rfc2822_re, rfc2396_full, tag_re).
const RFC3339 = /^\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d*)?(Z|([+-]\d\d:\d\d))$/;
const RFC2822 =
  /^((Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?\d\d? (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d\d\d\d \d\d:\d\d(:\d\d)? (([+-]?\d\d[03]0)|UT|GMT|EST|EDT|CST|CDT|MST|MDT|PST|PDT|Z)$/;
const FULL_URI = /^[a-zA-Z][0-9a-zA-Z+\-.]*:(\/\/)?[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,#]+$/;
const TAG_URI =
  /^tag:([a-z0-9\-._]+?@)?[a-z0-9.-]+?,\d{4}(-\d{2}(-\d{2})?)?:[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,]*(#[0-9a-zA-Z;/?:@&=+$.\-_!~*'()%,]*)?$/;
// "BadCharacters": C1 controls and U+FFFD are flagged in any text or attribute.
const BAD_CHARACTERS = /[\u0080-\u009F\uFFFD]/;
const HTML_URL = /\s(?:href|src)\s*=\s*(["'])(.*?)\1/gi;

const hasFeedparser = spawnSync(pythonPath, ['-c', 'import feedparser']).status === 0;
if (!hasFeedparser)
  console.warn(`feedparser test skipped: install it with apt-get install python3-feedparser`);

let dir = '';

beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'kurier-feeds-'));
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

interface Written {
  readonly atom: string;
  readonly rss: string;
  readonly json: string;
  readonly text: (file: string) => string;
}

function writeFeeds(site: Site, articles: readonly Article[]): Written {
  const contents = new Map<string, string>();
  for (const file of renderFeeds(site, articles)) {
    if (typeof file.content !== 'string') throw new Error(`${file.path} is not text`);
    const target = path.join(dir, file.path);
    writeFileSync(target, file.content);
    contents.set(target, file.content);
  }
  return {
    atom: path.join(dir, 'feed.xml'),
    rss: path.join(dir, 'rss.xml'),
    json: path.join(dir, 'feed.json'),
    text: (file) => contents.get(file) ?? '',
  };
}

/** feedparser hands back `type="html"` text as HTML; these are the only references our escaping writes. */
function htmlToText(html: string): string {
  return html
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');
}

function field(dict: FeedparserDict | undefined, key: string): unknown {
  return dict?.[key];
}

function names(list: unknown): unknown[] {
  return Array.isArray(list) ? list.map((person: { name?: unknown }) => person.name) : [];
}

const german = {
  title: 'Bochum: Leben nach der Industrie – „Glück auf“ für Ärzte, Öfen & Übergrößen',
  summary:
    'Wo einst Fördertürme den Himmel durchstachen, entstehen heute Start-ups –\u00a0mit Straßen voller Ideen.',
  body: 'Als 2014 das letzte Auto vom Band des Opel-Werks rollte, war das nicht nur ein wirtschaftlicher Einschnitt – es war ein symbolischer Moment. Initiativen wie „BOtechnologies“ sind keine Worthülsen; Größe\u00a0zählt, Öl und Ärger weichen.',
  author: 'Jörg Müller-Weiß',
  tags: ['Ruhrgebiet', 'Städte im Wandel', 'Öffentlicher Raum'],
};

function germanArticle(): Article {
  return makeArticle({
    id: 'tag:kurier.example,2026:bochum-leben-nach-der-industrie',
    slug: 'bochum-leben-nach-der-industrie',
    url: 'https://kurier.example/bochum-leben-nach-der-industrie/',
    path: 'bochum-leben-nach-der-industrie/',
    title: german.title,
    summary: german.summary,
    summaryHtml: german.summary,
    html: `<h2 id="der-abschied-als-anfang">Der Abschied als Anfang</h2>\n<p>${german.body}</p>\n<p><a href="https://kurier.example/bochum-leben-nach-der-industrie/#der-abschied-als-anfang">Nach oben</a> <img src="https://kurier.example/bochum-leben-nach-der-industrie/bilder/zess.jpg" alt="Das ZESS"></p>\n`,
    published: new Date('2026-11-26T07:00:00+01:00'),
    updated: new Date('2026-11-27T10:15:00+01:00'),
    authors: [{ name: german.author, uri: 'https://kurier.example/autoren/joerg/' }],
    tags: german.tags,
    image: {
      url: 'https://kurier.example/bilder/foerderturm.jpg',
      alt: 'Förderturm über Bochum',
      width: 1600,
      height: 900,
      type: 'image/jpeg',
    },
  });
}

function olderArticle(): Article {
  return makeArticle({
    slug: 'englischer-gast',
    lang: 'en',
    title: 'A guest post in English',
    published: new Date('2026-11-20T07:00:00Z'),
    updated: new Date('2026-11-20T07:00:00Z'),
  });
}

describe.skipIf(checkers)('a German article in all three feeds', () => {
  it('passes jing (RFC 4287 schema) and the Schematron rules', () => {
    const files = writeFeeds(makeSite(), [germanArticle(), olderArticle()]);
    const jing = validateAtomWithJing(files.atom);
    expect(jing.ok, jing.output).toBe(true);
    const rules = checkAtomSchematron(files.atom);
    expect(rules.ok, rules.output).toBe(true);
    const rss = checkWellFormed(files.rss);
    expect(rss.ok, rss.output).toBe(true);
  });

  it('reaches feedparser with bozo 0 and every German character intact', () => {
    const files = writeFeeds(makeSite(), [germanArticle(), olderArticle()]);
    for (const [file, version] of [
      [files.atom, 'atom10'],
      [files.rss, 'rss20'],
    ] as const) {
      const parsed = parseWithFeedparser(file);
      expect(parsed.bozo, parsed.bozoException ?? '').toBe(false);
      expect(parsed.version).toBe(version);
      expect(field(parsed.feed, 'title')).toBe('Kurier');
      expect(field(parsed.feed, 'language')).toBe('de');
      expect(parsed.entries).toHaveLength(2);
      const [entry] = parsed.entries;
      expect(htmlToText(String(field(entry, 'title')))).toBe(german.title);
      expect(htmlToText(String(field(entry, 'summary')))).toBe(german.summary);
      expect(names(field(entry, 'authors'))).toEqual([german.author]);
      expect((field(entry, 'tags') as { term: string }[]).map((tag) => tag.term)).toEqual(german.tags);
      expect(field(entry, 'id')).toBe('tag:kurier.example,2026:bochum-leben-nach-der-industrie');
      expect(field(entry, 'link')).toBe('https://kurier.example/bochum-leben-nach-der-industrie/');
      const [content] = field(entry, 'content') as { value: string }[];
      expect(content?.value).toContain(`<p>${german.body}</p>`);
      expect(content?.value).toContain(`<p>${german.summary}</p>`);
      expect(field(entry, 'media_content')).toEqual([
        expect.objectContaining({ url: 'https://kurier.example/bilder/foerderturm.jpg', medium: 'image' }),
      ]);
    }
    const [, guest] = parseWithFeedparser(files.atom).entries;
    expect((field(guest, 'content') as { language: string }[])[0]?.language).toBe('en');
  });

  it.skipIf(!hasFeedparser)(
    'RSS plain text written as &#x3C; and &#x26; reaches feedparser as the same text',
    () => {
      const files = writeFeeds(makeSite(), [
        makeArticle({ title: 'Größe <b> & Co', tags: ['C++ & <Templates>'], authors: [{ name: 'Ä & <Ö>' }] }),
      ]);
      expect(files.text(files.rss)).toContain('<title>Größe &#x3C;b&#x3E; &#x26; Co</title>');
      const parsed = parseWithFeedparser(files.rss);
      expect(parsed.bozo, parsed.bozoException ?? '').toBe(false);
      const [entry] = parsed.entries;
      expect(htmlToText(String(field(entry, 'title')))).toBe('Größe <b> & Co');
      expect((field(entry, 'tags') as { term: string }[]).map((tag) => tag.term)).toEqual([
        'C++ & <Templates>',
      ]);
    },
  );

  it('says the same in JSON Feed', () => {
    const files = writeFeeds(makeSite(), [germanArticle()]);
    const json = JSON.parse(files.text(files.json)) as { items: Record<string, unknown>[] };
    expect(json.items[0]).toMatchObject({
      title: german.title,
      summary: german.summary,
      authors: [{ name: german.author, url: 'https://kurier.example/autoren/joerg/' }],
      tags: german.tags,
    });
    expect(json.items[0]?.content_html).toContain(german.body);
  });
});

describe.skipIf(checkers)('the W3C Feed Validation Service rules, restated', () => {
  it('Atom: self link, xml:lang, full-URI ids, RFC 3339 dates, authors, absolute URLs everywhere', () => {
    const site = makeSite();
    const articles = [germanArticle(), olderArticle()];
    const files = writeFeeds(site, articles);
    expect(files.text(files.atom)).not.toMatch(BAD_CHARACTERS);
    const feed = readXmlTree(files.atom);
    expect(feed.name).toBe(`${ns.atom}feed`);
    expect(feed.attributes[`${ns.xml}lang`]).toBe('de');
    const links = childrenNamed(feed, `${ns.atom}link`);
    expect(
      links.filter((link) => link.attributes.rel === 'self').map((link) => link.attributes.href),
    ).toEqual(['https://kurier.example/feed.xml']);
    expect(links.find((link) => link.attributes.rel === 'alternate')?.attributes.href).toBe(
      'https://kurier.example/',
    );
    expect(childNamed(feed, `${ns.atom}id`).text).toMatch(TAG_URI);
    expect(childNamed(feed, `${ns.atom}updated`).text).toBe('2026-11-27T09:15:00.000Z');
    expect(childNamed(feed, `${ns.atom}title`).text).toBe('Kurier');
    expect(childNamed(feed, `${ns.atom}generator`).text).toBe('Kurier');
    expect(childNamed(feed, `${ns.atom}rights`).text).toBe('© 2026 Rolevinck');
    expect(childrenNamed(feed, `${ns.atom}author`).length).toBeGreaterThan(0);

    const entries = childrenNamed(feed, `${ns.atom}entry`);
    expect(entries).toHaveLength(2);
    entries.forEach((entry, index) => {
      const article = articles[index];
      const id = childNamed(entry, `${ns.atom}id`).text;
      expect(id).toBe(article?.id);
      expect(id).toMatch(FULL_URI);
      expect(id).toMatch(TAG_URI);
      expect(childNamed(entry, `${ns.atom}title`).text.trim()).not.toBe('');
      expect(childNamed(entry, `${ns.atom}updated`).text).toMatch(RFC3339);
      expect(childNamed(entry, `${ns.atom}published`).text).toMatch(RFC3339);
      expect(childrenNamed(entry, `${ns.atom}author`).length).toBeGreaterThan(0);
      const alternate = childrenNamed(entry, `${ns.atom}link`).filter(
        (link) => (link.attributes.rel ?? 'alternate') === 'alternate',
      );
      expect(alternate.map((link) => link.attributes.href)).toEqual([article?.url]);
      expect(childNamed(entry, `${ns.atom}content`).attributes.type).toBe('html');
      for (const category of childrenNamed(entry, `${ns.atom}category`))
        expect(category.attributes.term).not.toBe('');
    });
    expect(entries[1]?.attributes[`${ns.xml}lang`]).toBe('en');
    expect(entries[0]?.attributes[`${ns.xml}lang`]).toBeUndefined();
    expectAbsoluteUrls(feed);
  });

  it('RSS 2.0: atom:link self, guid isPermaLink="false", RFC 822 dates, channel language, one of each element', () => {
    const site = makeSite();
    const articles = [germanArticle(), olderArticle()];
    const files = writeFeeds(site, articles);
    expect(files.text(files.rss)).not.toMatch(BAD_CHARACTERS);
    const rss = readXmlTree(files.rss);
    expect(rss.name).toBe('rss');
    expect(rss.attributes.version).toBe('2.0');
    const channel = childNamed(rss, 'channel');
    expect(childNamed(channel, 'title').text).toBe('Kurier');
    expect(childNamed(channel, 'link').text).toBe('https://kurier.example/');
    expect(childNamed(channel, 'description').text).toBe('Essays über Städte im Wandel');
    expect(childNamed(channel, 'language').text).toBe('de');
    const lastBuild = childNamed(channel, 'lastBuildDate').text;
    expect(lastBuild).toMatch(RFC2822);
    expect(lastBuild).toBe('Fri, 27 Nov 2026 09:15:00 GMT');
    expect(childNamed(channel, `${ns.atom}link`).attributes).toEqual({
      href: 'https://kurier.example/rss.xml',
      rel: 'self',
      type: 'application/rss+xml',
    });

    const items = childrenNamed(channel, 'item');
    expect(items).toHaveLength(2);
    items.forEach((item, index) => {
      const article = articles[index];
      const guid = childNamed(item, 'guid');
      expect(guid.attributes.isPermaLink).toBe('false');
      expect(guid.text).toBe(article?.id);
      expect(guid.text).toMatch(TAG_URI);
      expect(childNamed(item, 'link').text).toBe(article?.url);
      expect(childNamed(item, 'title').text).toBe(article?.title);
      const pubDate = childNamed(item, 'pubDate').text;
      expect(pubDate).toMatch(RFC2822);
      expect(new Date(pubDate).toUTCString()).toBe(pubDate);
      const order = item.children.map((child) => child.name);
      expect(order.indexOf('description')).toBeGreaterThanOrEqual(0);
      expect(order.indexOf('description')).toBeLessThan(order.indexOf(`${ns.content}encoded`));
      expect(order).not.toContain('author');
      expect(childrenNamed(item, `${ns.dc}creator`).map((creator) => creator.text)).toEqual(
        article?.authors.map((person) => person.name),
      );
      for (const category of childrenNamed(item, 'category')) expect(category.text.trim()).not.toBe('');
    });
    expect(childNamed(items[1] ?? rss, `${ns.dc}language`).text).toBe('en');
    expectAbsoluteUrls(rss);
  });
});

/** Every URL-valued attribute, `uri`/`link` text and href/src inside HTML content is an absolute URI. */
function expectAbsoluteUrls(root: XmlElement): void {
  let checked = 0;
  for (const node of descendants(root)) {
    for (const [name, value] of Object.entries(node.attributes)) {
      if (['href', 'url', 'src', 'scheme'].includes(name)) {
        expect(value, `${node.name} @${name}`).toMatch(FULL_URI);
        checked += 1;
      }
    }
    if ([`${ns.atom}uri`, 'link'].includes(node.name)) {
      expect(node.text, node.name).toMatch(FULL_URI);
      checked += 1;
    }
    if (
      [`${ns.atom}content`, `${ns.content}encoded`, 'description', `${ns.atom}summary`].includes(node.name)
    ) {
      for (const match of node.text.matchAll(HTML_URL)) {
        expect(match[2], `${node.name} contains a relative reference`).toMatch(/^[a-zA-Z][0-9a-zA-Z+\-.]*:/);
        checked += 1;
      }
    }
  }
  expect(checked).toBeGreaterThan(5);
}

interface HostileCase {
  readonly name: string;
  readonly article: Partial<Article>;
  /** What every format must carry after cleaning, when it differs from the input. */
  readonly expected?: {
    readonly title?: string;
    readonly tags?: readonly string[];
    readonly authors?: readonly string[];
  };
}

const controls = '\u0000\u0001\u0008\u000B\u000C\u001B\u001F\u007F\u0085\uFFFE\uFFFF\uDFFF';
const twoBytesMegabyte = `<p>${'Glück auf, Bochum! '.repeat(110_000)}</p>\n`;

const hostileCases: readonly HostileCase[] = [
  {
    name: 'control characters, U+FFFE/FFFF and lone surrogates',
    article: {
      title: `Ti${controls}tel\twith tab`,
      summary: `Zu${controls}sammenfassung`,
      html: `<p>Kör${controls}per\r\nzeile</p>`,
      tags: [`Ta${controls}g`],
      authors: [{ name: `Au${controls}torin` }],
    },
    expected: { title: 'Titel\twith tab', tags: ['Tag'], authors: ['Autorin'] },
  },
  {
    name: 'two ]]> in one text',
    article: {
      title: 'a]]>b]]>c',
      summary: 'x]]>y]]>z',
      summaryHtml: 'x]]&gt;y]]&gt;z',
      html: '<p>x]]>y]]>z</p><pre><code>if (a[b[0]]>c) {}]]>]]></code></pre>',
      tags: ['t]]>u]]>v'],
      authors: [{ name: 'a]]>b]]>' }],
    },
  },
  {
    name: '< & " and a literal &amp; in titles, tags and author names',
    article: {
      title: 'AT&T <b>fett</b> "zitiert" &amp; &lt;kein Tag&gt;',
      summary: 'Preis < 5 € & "gut"',
      tags: ['C&A', 'a<b', '"Zitat"', '&amp;'],
      authors: [
        {
          name: 'Müller & <Söhne> "GmbH"',
          email: 'post@kurier.example',
          uri: 'https://kurier.example/?a=1&b=2',
        },
      ],
    },
  },
  {
    name: 'emoji and other astral characters',
    article: {
      title: 'Glück 🦊 auf 👩‍👩‍👧 𝔅𝔬𝔠𝔥𝔲𝔪',
      html: '<p>🦊👩‍👩‍👧 im Text</p>',
      tags: ['🦊'],
      authors: [{ name: 'Fuchs 🦊' }],
    },
  },
  { name: 'a 2 MB article body', article: { html: twoBytesMegabyte } },
  { name: 'an empty body', article: { html: '' } },
  { name: 'an empty body and an empty lead', article: { html: '', summary: '', summaryHtml: '' } },
];

describe.skipIf(checkers)('hostile content still gives well-formed XML and valid JSON', () => {
  it.each(hostileCases)('$name', ({ article: overrides, expected }) => {
    const article = makeArticle(overrides);
    const title = expected?.title ?? article.title;
    const tags = expected?.tags ?? article.tags;
    const authors = expected?.authors ?? article.authors.map((person) => person.name);
    const files = writeFeeds(makeSite(), [article]);

    for (const file of [files.atom, files.rss]) {
      const wellFormed = checkWellFormed(file);
      expect(wellFormed.ok, `${path.basename(file)}: ${wellFormed.output}`).toBe(true);
    }
    const jing = validateAtomWithJing(files.atom);
    expect(jing.ok, jing.output).toBe(true);
    const rules = checkAtomSchematron(files.atom);
    expect(rules.ok, rules.output).toBe(true);

    const json = JSON.parse(files.text(files.json)) as {
      items: { title: string; tags: string[]; authors: { name: string }[]; content_html: string }[];
    };
    const [jsonItem] = json.items;
    expect(jsonItem?.title).toBe(title);
    expect(jsonItem?.tags).toEqual(tags);
    expect(jsonItem?.authors.map((person) => person.name)).toEqual(authors);

    const entry = childNamed(readXmlTree(files.atom), `${ns.atom}entry`);
    expect(htmlToText(childNamed(entry, `${ns.atom}title`).text)).toBe(title);
    expect(childrenNamed(entry, `${ns.atom}category`).map((category) => category.attributes.term)).toEqual(
      tags,
    );
    expect(
      childrenNamed(entry, `${ns.atom}author`).map((author) => childNamed(author, `${ns.atom}name`).text),
    ).toEqual(authors);
    const atomContent = childNamed(entry, `${ns.atom}content`).text;

    const item = childNamed(childNamed(readXmlTree(files.rss), 'channel'), 'item');
    expect(childNamed(item, 'title').text).toBe(title);
    expect(childrenNamed(item, 'category').map((category) => category.text)).toEqual(tags);
    expect(childrenNamed(item, `${ns.dc}creator`).map((creator) => creator.text)).toEqual(authors);
    const rssContent = childNamed(item, `${ns.content}encoded`).text;

    // The same HTML arrives in all three, CR included (written as &#13;, or parsers would turn it into LF).
    expect(atomContent).toBe(jsonItem?.content_html);
    expect(rssContent).toBe(atomContent);
  });

  it('keeps the whole 2 MB body', () => {
    const files = writeFeeds(makeSite(), [makeArticle({ html: twoBytesMegabyte })]);
    const json = JSON.parse(files.text(files.json)) as { items: { content_html: string }[] };
    expect(json.items[0]?.content_html.endsWith(twoBytesMegabyte)).toBe(true);
    expect(Buffer.byteLength(files.text(files.atom))).toBeGreaterThan(2_000_000);
  });
});
