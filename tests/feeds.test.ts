// renderFeeds and its XML helpers as pure functions: model values in, feed text out, no tools, no disk.

import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseArticle } from '../src/content/article.ts';
import { KurierError } from '../src/error.ts';
import type { Article, Site } from '../src/model.ts';
import { renderFeeds } from '../src/render/feeds.ts';
import {
  cdataSection,
  escapeXmlAttribute,
  escapeXmlText,
  plainTextToHtml,
  stripInvalidXmlChars,
} from '../src/render/xml.ts';
import { makeArticle, makeSite } from './support/fixtures.ts';

interface JsonFeedAuthor {
  name: string;
  url?: string;
}

interface JsonFeed {
  version: string;
  title: string;
  home_page_url: string;
  feed_url: string;
  description?: string;
  language: string;
  authors: JsonFeedAuthor[];
  author?: unknown;
  items: {
    id: string;
    url: string;
    title: string;
    content_html: string;
    summary?: string;
    image?: string;
    date_published: string;
    date_modified: string;
    authors: JsonFeedAuthor[];
    author?: unknown;
    tags: string[];
    language?: string;
  }[];
}

function render(site: Site, articles: readonly Article[]): { atom: string; rss: string; json: JsonFeed } {
  const files = renderFeeds(site, articles);
  const text = (path: string): string => {
    const content = files.find((file) => file.path === path)?.content;
    if (typeof content !== 'string') throw new Error(`no text file ${path}`);
    return content;
  };
  return { atom: text('feed.xml'), rss: text('rss.xml'), json: JSON.parse(text('feed.json')) as JsonFeed };
}

function count(haystack: string, needle: string): number {
  return haystack.split(needle).length - 1;
}

function articlesDated(n: number): Article[] {
  return Array.from({ length: n }, (_, i) =>
    makeArticle({
      slug: `artikel-${i}`,
      published: new Date(Date.UTC(2026, 10, 30 - i, 7)),
      updated: new Date(Date.UTC(2026, 10, 30 - i, 7)),
    }),
  );
}

afterEach(() => {
  vi.useRealTimers();
});

describe('renderFeeds', () => {
  it('returns Atom, RSS and JSON Feed at the root of out/, each linking to where it is served', () => {
    const site = makeSite({ baseUrl: 'https://example.org/blog/' });
    const files = renderFeeds(site, [makeArticle()]);
    expect(files.map((file) => file.path)).toEqual(['feed.xml', 'rss.xml', 'feed.json']);

    const { atom, rss, json } = render(site, [makeArticle()]);
    expect(atom).toContain('<link rel="self" href="https://example.org/blog/feed.xml"/>');
    expect(atom).toContain('<link rel="alternate" href="https://example.org/blog/"/>');
    expect(rss).toContain(
      '<atom:link href="https://example.org/blog/rss.xml" rel="self" type="application/rss+xml"/>',
    );
    expect(rss).toContain('<link>https://example.org/blog/</link>');
    expect(json.feed_url).toBe('https://example.org/blog/feed.json');
    expect(json.home_page_url).toBe('https://example.org/blog/');
  });

  it('writes JSON Feed 1.1: authors arrays and language, no 1.0 author field', () => {
    const site = makeSite({
      authors: [{ name: 'Rolevinck', uri: 'https://kurier.example/' }, { name: 'Zweite Autorin' }],
    });
    const { json } = render(site, [
      makeArticle({
        authors: [{ name: 'Jörg' }, { name: 'Ana', uri: 'https://ana.example/' }],
        image: { url: 'https://kurier.example/bild.jpg', alt: 'Förderturm', type: 'image/jpeg' },
      }),
    ]);
    expect(json.version).toBe('https://jsonfeed.org/version/1.1');
    expect(json.language).toBe('de');
    expect(json.title).toBe('Kurier');
    expect(json.description).toBe('Essays über Städte im Wandel');
    expect(json.authors).toEqual([
      { name: 'Rolevinck', url: 'https://kurier.example/' },
      { name: 'Zweite Autorin' },
    ]);
    expect(json).not.toHaveProperty('author');
    const [item] = json.items;
    expect(item).toMatchObject({
      id: 'tag:kurier.example,2026:gruesse-aus-bochum',
      url: 'https://kurier.example/gruesse-aus-bochum/',
      title: 'Grüße aus Bochum – „Glück auf“',
      summary: 'Wo einst Fördertürme standen, entstehen heute Start-ups.',
      image: 'https://kurier.example/bild.jpg',
      date_published: '2026-11-26T07:00:00.000Z',
      date_modified: '2026-11-26T07:00:00.000Z',
      authors: [{ name: 'Jörg' }, { name: 'Ana', url: 'https://ana.example/' }],
      tags: ['Bochum', 'Strukturwandel'],
    });
    expect(item).not.toHaveProperty('author');
    expect(item).not.toHaveProperty('language');
  });

  it('keeps the entry id byte for byte in all three formats, non-ASCII included', () => {
    const id = 'tag:kurier.example,2026:grüße-aus-köln';
    const { atom, rss, json } = render(makeSite(), [makeArticle({ id })]);
    expect(atom).toContain(`<id>${id}</id>`);
    expect(rss).toContain(`<guid isPermaLink="false">${id}</guid>`);
    expect(json.items[0]?.id).toBe(id);
    // feed@6 alone would write the Atom id as tag:kurier.example,2026:gr%C3%BC%C3%9Fe-aus-k%C3%B6ln.
    expect(`${atom}${rss}`).not.toContain('%C3');
  });

  it('writes links as ASCII URIs, which RSS <link> and media url require (ids stay as they are)', () => {
    const site = makeSite({ baseUrl: 'https://bücher.example/blog/' });
    const { atom, rss, json } = render(site, [
      makeArticle({
        url: 'https://bücher.example/blog/grüße/',
        image: { url: 'https://bücher.example/blog/bild äöü.jpg', alt: '', type: 'image/jpeg' },
      }),
    ]);
    expect(rss).toContain('<link>https://xn--bcher-kva.example/blog/gr%C3%BC%C3%9Fe/</link>');
    expect(rss).toContain('<atom:link href="https://xn--bcher-kva.example/blog/rss.xml"');
    expect(atom).toContain('<link href="https://xn--bcher-kva.example/blog/gr%C3%BC%C3%9Fe/"/>');
    expect(atom).toContain('url="https://xn--bcher-kva.example/blog/bild%20%C3%A4%C3%B6%C3%BC.jpg"');
    expect(json.items[0]?.url).toBe('https://xn--bcher-kva.example/blog/gr%C3%BC%C3%9Fe/');
    expect(json.feed_url).toBe('https://xn--bcher-kva.example/blog/feed.json');
  });

  it('dates the feed by its newest entry update, which need not be the first entry', () => {
    const first = makeArticle({ slug: 'neu', published: new Date('2026-11-26T07:00:00Z') });
    const revised = makeArticle({
      slug: 'alt',
      published: new Date('2026-11-01T07:00:00Z'),
      updated: new Date('2026-11-28T09:30:00+01:00'),
    });
    const { atom, rss } = render(makeSite(), [first, revised]);
    expect(atom.match(/<updated>([^<]*)<\/updated>/)?.[1]).toBe('2026-11-28T08:30:00.000Z');
    expect(rss).toContain('<lastBuildDate>Sat, 28 Nov 2026 08:30:00 GMT</lastBuildDate>');
  });

  it('carries only the first site.feedEntries articles, in the order given', () => {
    const articles = articlesDated(5);
    const { atom, rss, json } = render(makeSite({ feedEntries: 3 }), articles);
    expect(json.items.map((item) => item.id)).toEqual(articles.slice(0, 3).map((article) => article.id));
    expect(count(atom, '<entry')).toBe(3);
    expect(count(rss, '<item>')).toBe(3);
    expect(atom).not.toContain('artikel-3');
  });

  it('with no articles still writes all three feeds, dated by the tagAuthority date (RFC 4151)', () => {
    const { atom, rss, json } = render(makeSite(), []);
    expect(atom).toContain('<updated>2026-01-01T00:00:00.000Z</updated>');
    expect(atom).not.toContain('<entry');
    expect(rss).toContain('<lastBuildDate>Thu, 01 Jan 2026 00:00:00 GMT</lastBuildDate>');
    expect(json.items).toEqual([]);

    const dayPrecise = render(makeSite({ tagAuthority: 'kurier.example,2025-03-15' }), []);
    expect(dayPrecise.atom).toContain('<updated>2025-03-15T00:00:00.000Z</updated>');
  });

  it('names the settings file when an empty feed cannot be dated', () => {
    const site = makeSite({ tagAuthority: 'kurier.example' });
    expect(() => renderFeeds(site, [])).toThrow(KurierError);
    try {
      renderFeeds(site, []);
    } catch (error) {
      expect(error).toMatchObject({ code: 'SETTINGS_INVALID', file: 'content/site.yaml' });
    }
  });

  it('gives the same bytes whatever the clock says (feed@6 would stamp the build time)', () => {
    const articles = articlesDated(2);
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2031-05-05T05:05:05Z'));
    const early = renderFeeds(makeSite(), articles);
    const emptyEarly = renderFeeds(makeSite(), []);
    vi.setSystemTime(new Date('2042-06-06T06:06:06Z'));
    const late = renderFeeds(makeSite(), articles);
    const emptyLate = renderFeeds(makeSite(), []);
    expect(late).toEqual(early);
    expect(emptyLate).toEqual(emptyEarly);
    expect(JSON.stringify([early, emptyEarly])).not.toMatch(/2031|2042/);
  });

  it('puts the lead paragraph before the body, with links the parser made absolute against the article', () => {
    const source = [
      '---',
      'id: tag:kurier.example,2026:gruss',
      'title: Grüße aus Bochum',
      'date: 2026-11-26',
      'summary: Ein *Anfang*',
      '---',
      '[1](#fn-1) [x](../andere/) ![](bild.png) [m](mailto:a@b.example) [e](https://elsewhere.example/ä)',
    ].join('\n');
    const { json, atom } = render(makeSite(), [parseArticle(source, 'content/posts/gruss.md', makeSite())]);
    expect(json.items[0]?.content_html).toBe(
      '<p>Ein <em>Anfang</em></p>\n<p><a href="https://kurier.example/gruesse-aus-bochum/#fn-1">1</a> <a href="https://kurier.example/andere/">x</a> <img src="https://kurier.example/gruesse-aus-bochum/bild.png" alt="" /> <a href="mailto:a@b.example">m</a> <a href="https://elsewhere.example/%C3%A4">e</a></p>\n',
    );
    expect(atom).toContain('<a href="https://kurier.example/andere/">x</a>');
  });

  it('names the icon and the logo where the settings give them, and nothing where they do not', () => {
    const site = makeSite({
      icon: 'https://kurier.example/icon.png',
      logo: 'https://kurier.example/logo.png',
    });
    const { atom, rss, json } = render(site, [makeArticle()]);
    expect(atom).toContain('<logo>https://kurier.example/logo.png</logo>');
    expect(atom).toContain('<icon>https://kurier.example/icon.png</icon>');
    expect(rss).toMatch(
      /<image>\s*<title>Kurier<\/title>\s*<url>https:\/\/kurier\.example\/logo\.png<\/url>/,
    );
    expect(json).toMatchObject({
      icon: 'https://kurier.example/icon.png',
      favicon: 'https://kurier.example/icon.png',
    });
    const plain = render(makeSite(), [makeArticle()]);
    expect(plain.atom).not.toMatch(/<icon>|<logo>/);
    expect(plain.rss).not.toContain('<image>');
    expect(plain.json).not.toHaveProperty('icon');
  });

  it('states the language: xml:lang on the Atom feed, and per entry only where it differs', () => {
    const { atom, rss, json } = render(makeSite(), [
      makeArticle({ slug: 'englisch', lang: 'en' }),
      makeArticle({ slug: 'deutsch', lang: 'de' }),
    ]);
    expect(atom).toMatch(/<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom" xml:lang="de"/);
    expect(count(atom, '<entry xml:lang="en">')).toBe(1);
    expect(count(atom, '<entry>')).toBe(1);
    expect(rss).toContain('<language>de</language>');
    expect(count(rss, '<dc:language>en</dc:language>')).toBe(1);
    expect(count(rss, '<dc:language>')).toBe(1);
    expect(json.items.map((item) => item.language)).toEqual(['en', undefined]);
  });

  it('names RSS authors with dc:creator, never with a bare-name <author>', () => {
    const { rss, atom } = render(makeSite(), [
      makeArticle({ authors: [{ name: 'Jörg Müller', email: 'joerg@kurier.example' }, { name: 'Ana' }] }),
    ]);
    expect(rss).toMatch(/<rss [^>]*xmlns:dc="http:\/\/purl\.org\/dc\/elements\/1\.1\/"/);
    expect(rss).toContain('<dc:creator>Jörg Müller</dc:creator>');
    expect(rss).toContain('<dc:creator>Ana</dc:creator>');
    expect(rss).not.toMatch(/<author>/);
    expect(rss).not.toContain('joerg@kurier.example');
    expect(atom).toContain('<email>joerg@kurier.example</email>');
  });

  it('falls back to the site authors for an article without any, and to the site title without those', () => {
    const { atom, json } = render(makeSite(), [makeArticle({ authors: [] })]);
    expect(count(atom, '<name>Rolevinck</name>')).toBe(2);
    expect(json.items[0]?.authors).toEqual([{ name: 'Rolevinck', url: 'https://kurier.example/' }]);

    const anonymous = render(makeSite({ authors: [] }), [makeArticle({ authors: [] })]);
    expect(anonymous.json.authors).toEqual([{ name: 'Kurier' }]);
    expect(anonymous.atom).toContain('<name>Kurier</name>');
  });

  it('gives the lead image as Media RSS in Atom and RSS, never as an enclosure', () => {
    const image = {
      url: 'https://kurier.example/bild.jpg',
      alt: 'Ein „Förderturm“',
      width: 1200,
      height: 630,
      type: 'image/jpeg',
    };
    const { atom, rss, json } = render(makeSite(), [makeArticle({ image })]);
    for (const xml of [atom, rss]) {
      expect(xml).toContain('xmlns:media="http://search.yahoo.com/mrss/"');
      expect(xml).toContain(
        '<media:thumbnail url="https://kurier.example/bild.jpg" width="1200" height="630"/>',
      );
      expect(xml).toContain(
        '<media:content url="https://kurier.example/bild.jpg" type="image/jpeg" medium="image" width="1200" height="630"><media:description type="plain">Ein „Förderturm“</media:description></media:content>',
      );
      expect(xml).not.toContain('enclosure');
    }
    expect(json.items[0]?.image).toBe('https://kurier.example/bild.jpg');

    const plain = render(makeSite(), [makeArticle()]);
    expect(plain.atom).not.toContain('xmlns:media');
    expect(plain.json.items[0]).not.toHaveProperty('image');
  });

  it('strips characters XML 1.0 forbids from every text and keeps tab, newline and carriage return', () => {
    // A low surrogate before a high one: two lone halves, not a pair.
    const bad = '\u0000\u0001\u0008\u000B\u000C\u001F\u007F\u0085\u009F\uFFFD\uFFFE\uFFFF\uDFFF\uD800';
    const { atom, rss, json } = render(makeSite({ title: `Kur${bad}ier` }), [
      makeArticle({
        title: `Ti${bad}tel`,
        summary: `Zeile\r\nzwei${bad}`,
        summaryHtml: `Zeile\r\nzwei${bad}`,
        html: `<pre>a\tb\nc${bad}</pre>`,
        tags: [`Ta${bad}g`],
        authors: [{ name: `Au${bad}tor` }],
      }),
    ]);
    for (const text of [atom, rss, JSON.stringify(json)]) {
      // biome-ignore lint/suspicious/noControlCharactersInRegex: these are what must not be there.
      expect(text).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F\uFFFD\uFFFE\uFFFF]/u);
      expect(text).not.toMatch(/\\u00[01]/);
      expect(text).not.toMatch(/\p{Cs}/u);
    }
    expect(json.title).toBe('Kurier');
    expect(json.items[0]).toMatchObject({ title: 'Titel', summary: 'Zeile\r\nzwei', tags: ['Tag'] });
    expect(json.items[0]?.authors).toEqual([{ name: 'Autor' }]);
    expect(json.items[0]?.content_html).toContain('<pre>a\tb\nc</pre>');
    // In CDATA a CR would reach the reader as LF (XML 1.0 §2.11); as a reference it survives.
    expect(atom).toContain('<summary type="html">Zeile&#13;\nzwei</summary>');
  });

  it('writes text that looks like its own internal placeholders as plain text', () => {
    const title = 'urn:x-kurier-slot:0 and urn:x-kurier-slot:99999';
    const html = '<p>urn:x-kurier-slot:1 <a href="https://kurier.example/urn:x-kurier-slot:2">x</a></p>';
    const { atom, rss, json } = render(makeSite(), [
      makeArticle({ title, html, tags: ['urn:x-kurier-slot:3'] }),
    ]);
    expect(json.items[0]?.title).toBe(title);
    expect(json.items[0]?.content_html).toContain(html);
    expect(atom).toContain(`<title type="html"><![CDATA[${title}]]></title>`);
    expect(atom).toContain('<category term="urn:x-kurier-slot:3"/>');
    expect(rss).toContain(`<title><![CDATA[${title}]]></title>`);
    expect(rss).toContain(
      `<content:encoded><![CDATA[<p>Wo einst Fördertürme standen, entstehen heute Start-ups.</p>\n${html}]]>`,
    );
  });

  it('writes <, & and > in RSS plain text as hexadecimal references, as the W3C validator wants', () => {
    const { atom, rss, json } = render(makeSite(), [
      makeArticle({ title: 'Größe <b> & Co', tags: ['C++ & <Templates>'], authors: [{ name: 'Ä & <Ö>' }] }),
    ]);
    expect(rss).toContain('<title>Größe &#x3C;b&#x3E; &#x26; Co</title>');
    expect(rss).toContain('<category>C++ &#x26; &#x3C;Templates&#x3E;</category>');
    expect(rss).toContain('<dc:creator>Ä &#x26; &#x3C;Ö&#x3E;</dc:creator>');
    // HTML stays in CDATA; Atom and JSON Feed say what their text is and keep their own escaping.
    expect(rss).toContain('<content:encoded><![CDATA[<p>');
    expect(atom).toContain('<category term="C++ &amp; &lt;Templates&gt;"/>');
    expect(json.items[0]?.title).toBe('Größe <b> & Co');
  });

  it('keeps emoji, which are surrogate pairs in JavaScript strings', () => {
    const title = 'Glück 🦊 auf 👩‍👩‍👧';
    const { atom, rss, json } = render(makeSite(), [makeArticle({ title, tags: ['🦊'] })]);
    expect(json.items[0]?.title).toBe(title);
    expect(atom).toContain(title);
    expect(rss).toContain(`<title><![CDATA[${title}]]></title>`);
    expect(rss).toContain('<category>🦊</category>');
  });
});

describe('XML helpers', () => {
  it('escape text, attributes and HTML for their context', () => {
    expect(escapeXmlText('a < b && c > d ]]> "q"\r\n')).toBe(
      'a &lt; b &amp;&amp; c &gt; d ]]&gt; "q"&#13;\n',
    );
    expect(escapeXmlAttribute('a<b&"c\'\td\ne\r')).toBe("a&lt;b&amp;&quot;c'&#9;d&#10;e&#13;");
    expect(plainTextToHtml('AT&T <b> "x" &amp;')).toBe('AT&amp;T &lt;b&gt; &quot;x&quot; &amp;amp;');
  });

  it('split every ]]> of a CDATA text, not just the first', () => {
    expect(cdataSection('a]]>b]]>c')).toBe('<![CDATA[a]]]]><![CDATA[>b]]]]><![CDATA[>c]]>');
    expect(cdataSection('')).toBe('<![CDATA[]]>');
  });

  it('strip only what XML 1.0 and the W3C validator object to', () => {
    expect(stripInvalidXmlChars('a\u0000b\tc\nd\re\u0085f\uFFFEg\uD83Dh')).toBe('ab\tc\nd\ref' + 'gh');
    expect(stripInvalidXmlChars('ä ö ü ß „“ – \u00A0 🦊 \u2028')).toBe('ä ö ü ß „“ – \u00A0 🦊 \u2028');
  });
});
