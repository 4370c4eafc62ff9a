// Feeds: the newest published articles as Atom 1.0, RSS 2.0 and JSON Feed 1.1 (the one file that imports `feed`).

import { type Author, Feed, type Item } from 'feed';
import { KurierError } from '../error.ts';
import type { Article, Image, OutputFile, Person, Site } from '../model.ts';
import { planFeedLinks } from './feed-links.ts';
import { sanitizeArticleHtml } from './sanitize.ts';
import {
  cdataSection,
  escapeRssText,
  escapeXmlAttribute,
  escapeXmlText,
  plainTextToHtml,
  stripInvalidXmlChars,
} from './xml.ts';

const GENERATOR = 'Kurier';
const DC_NS = 'http://purl.org/dc/elements/1.1/';
const MEDIA_NS = 'http://search.yahoo.com/mrss/';

/**
 * `articles`: published articles, newest first by `published`. The feeds carry the first `site.feedEntries`.
 * Pure and deterministic: the same input gives the same bytes, whatever the clock says.
 */
export function renderFeeds(site: Site, articles: readonly Article[]): OutputFile[] {
  const data = planFeedData(site, articles.slice(0, Math.max(0, site.feedEntries)));
  const links = planFeedLinks(site);
  return [
    { path: links.atom.path, content: renderAtom(data) },
    { path: links.rss.path, content: renderRss(data) },
    { path: links.json.path, content: renderJsonFeed(data) },
  ];
}

/** One format-neutral view of the feed, every text cleaned once so all three formats say the same. */
interface FeedData {
  readonly atomId: string;
  readonly title: string;
  readonly subtitle: string | undefined;
  readonly home: string;
  readonly language: string;
  readonly authors: readonly Person[];
  readonly rights: string | undefined;
  readonly icon: string | undefined;
  readonly logo: string | undefined;
  readonly updated: Date;
  readonly urls: { readonly atom: string; readonly rss: string; readonly json: string };
  readonly entries: readonly FeedEntry[];
}

interface FeedEntry {
  /** Byte for byte `article.id`: readers tell old entries from new ones by it. */
  readonly id: string;
  readonly url: string;
  readonly title: string;
  readonly summary: string;
  readonly contentHtml: string;
  readonly published: Date;
  readonly updated: Date;
  readonly authors: readonly Person[];
  readonly tags: readonly string[];
  /** Only when it differs from the feed's language. */
  readonly lang: string | undefined;
  readonly image: Image | undefined;
}

/**
 * Article HTML as the feeds carry it, by the HTML it is made from: `kurier serve` renders the feeds again on
 * every save, and sanitizing the twenty newest articles took a third of that (the same input gives the same
 * output, so the bytes do not change).
 */
const cleaned = new Map<string, string>();
const CLEANED_KEPT = 256;

function cleanHtml(html: string): string {
  let clean = cleaned.get(html);
  if (clean === undefined) {
    clean = forReaders(sanitizeArticleHtml(html).html);
    if (cleaned.size >= CLEANED_KEPT) cleaned.delete(cleaned.keys().next().value ?? '');
    cleaned.set(html, clean);
  }
  return clean;
}

function planFeedData(site: Site, articles: readonly Article[]): FeedData {
  const home = normalizeUrl(site.baseUrl);
  const links = planFeedLinks(site);
  const language = forReaders(site.language);
  const siteAuthors =
    site.authors.length > 0 ? site.authors.map(cleanPerson) : [{ name: forReaders(site.title) }];
  const entries = articles.map((article): FeedEntry => {
    // Readers differ in what they strip, so the feeds carry only what the allowlist keeps, as the email does.
    const lead = cleanHtml(article.summaryHtml);
    const body = cleanHtml(article.html);
    const lang = forReaders(article.lang);
    const url = normalizeUrl(article.url);
    return {
      id: forReaders(article.id),
      url,
      title: forReaders(article.title),
      summary: forReaders(article.summary),
      // The model's HTML has absolute URLs already (src/content/markdown.ts): readers show it away from the page.
      contentHtml: lead === '' ? body : `<p>${lead}</p>\n${body}`,
      published: article.published,
      updated: article.updated,
      authors: article.authors.length > 0 ? article.authors.map(cleanPerson) : siteAuthors,
      tags: article.tags.map(forReaders),
      lang: lang === language ? undefined : lang,
      image: article.image === undefined ? undefined : cleanImage(article.image),
    };
  });
  return {
    // A path cannot be a slug, so the feed's id never equals an entry's `tag:<authority>:<slug>`.
    atomId: `tag:${forReaders(site.tagAuthority)}:/feed`,
    title: forReaders(site.title),
    subtitle: site.subtitle === undefined ? undefined : forReaders(site.subtitle),
    home,
    language,
    authors: siteAuthors,
    rights: site.rights === undefined ? undefined : forReaders(site.rights),
    icon: site.icon === undefined ? undefined : normalizeUrl(site.icon),
    logo: site.logo === undefined ? undefined : normalizeUrl(site.logo),
    updated: newestUpdate(site, entries),
    urls: { atom: links.atom.url, rss: links.rss.url, json: links.json.url },
    entries,
  };
}

/**
 * The feed changed when its newest entry did: the latest `updated` of the entries it carries, never the build
 * time (readers would refetch on every build). With no entries it is the date of the RFC 4151 tagging entity
 * ("kurier.example,2026" gives 2026-01-01T00:00:00Z): fixed, and no later than anything the site published.
 */
function newestUpdate(site: Site, entries: readonly FeedEntry[]): Date {
  let newest: Date | undefined;
  for (const entry of entries) {
    if (newest === undefined || entry.updated.getTime() > newest.getTime()) newest = entry.updated;
  }
  if (newest !== undefined) return newest;
  const date = /,(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$/.exec(site.tagAuthority);
  if (date === null) {
    throw new KurierError(
      'SETTINGS_INVALID',
      `tagAuthority "${site.tagAuthority}" does not end in a date; write it as "domain,YYYY" or "domain,YYYY-MM-DD" (RFC 4151).`,
      { file: site.sourcePath },
    );
  }
  return new Date(Date.UTC(Number(date[1]), Number(date[2] ?? '1') - 1, Number(date[3] ?? '1')));
}

function forReaders(text: string): string {
  return stripInvalidXmlChars(text);
}

/** ASCII form of an absolute URL (IDNA host, percent-encoded path): RSS `link` and media `url` must be URIs, not IRIs. */
function normalizeUrl(url: string): string {
  return new URL(forReaders(url)).href;
}

function cleanPerson(person: Person): Person {
  return {
    name: forReaders(person.name),
    email: person.email === undefined ? undefined : forReaders(person.email),
    uri: person.uri === undefined ? undefined : normalizeUrl(person.uri),
  };
}

function cleanImage(image: Image): Image {
  return { ...image, url: normalizeUrl(image.url), alt: forReaders(image.alt), type: forReaders(image.type) };
}

/*
 * feed@6 builds XML with xml-js and escapes text inconsistently (control characters pass, only the first
 * `]]>` of a CDATA text is split, `<` and `&` in attributes stay raw, a literal "&amp;" in text turns into "&",
 * ids and links are rewritten by `new URL()`), with no hook to fix any of it. So feed never sees our text:
 * it gets opaque ASCII slot tokens, lays out the elements, and `fill` swaps each token for the value escaped
 * for the place feed put it (character data, attribute or CDATA). No user text is in the skeleton, so the
 * tokens and feed's own tags are the only things in it, and splicing by string is unambiguous.
 */
const SLOT_PREFIX = 'urn:x-kurier-slot:';
const SLOT =
  /<!\[CDATA\[urn:x-kurier-slot:(\d+)\]\]>|(?<==")urn:x-kurier-slot:(\d+)(?=")|urn:x-kurier-slot:(\d+)/g;

interface Slots {
  /** A token standing for `value`; survives feed's `new URL()`, `&` escaping, CDATA and attribute writing. */
  put(value: string): string;
  put(value: string | undefined): string | undefined;
  /** The same for HTML (RSS description and content:encoded), which stays in CDATA. */
  putHtml(value: string): string;
  fill(skeleton: string): string;
}

/**
 * `plainText`: how the format writes plain text in element content. RSS has no type attribute, so it
 * writes `<` and `&` as hexadecimal references (the RSS Best Practices Profile, which the W3C Feed Validation
 * Service applies), never as CDATA, which a reader may take for HTML.
 */
function createSlots(plainText?: (text: string) => string): Slots {
  const values: string[] = [];
  const html = new Set<number>();
  function put(value: string): string;
  function put(value: string | undefined): string | undefined;
  function put(value: string | undefined): string | undefined {
    if (value === undefined) return undefined;
    values.push(value);
    return `${SLOT_PREFIX}${values.length - 1}`;
  }
  function putHtml(value: string): string {
    html.add(values.length);
    return put(value);
  }
  function fill(skeleton: string): string {
    const filled = new Set<number>();
    const valueAt = (index: string): string => {
      const value = values[Number(index)];
      if (value === undefined) throw new Error(`feed skeleton names unknown slot ${index}`);
      filled.add(Number(index));
      return value;
    };
    const xml = skeleton.replace(SLOT, (_match, cdata?: string, attribute?: string, text?: string) => {
      if (cdata !== undefined) {
        const value = valueAt(cdata);
        if (plainText !== undefined && !html.has(Number(cdata)) && /[<&>\r]/.test(value))
          return plainText(value);
        // A CR inside CDATA reaches the reader as LF (XML 1.0 §2.11); as a character reference it survives.
        return value.includes('\r') ? escapeXmlText(value) : cdataSection(value);
      }
      if (attribute !== undefined) return escapeXmlAttribute(valueAt(attribute));
      const value = valueAt(text ?? '');
      return plainText !== undefined && !html.has(Number(text)) ? plainText(value) : escapeXmlText(value);
    });
    // feed silently drops some falsy or unknown fields; a value we passed and it dropped is a bug, not a choice.
    if (filled.size !== values.length) {
      const lost = values.map((_, index) => index).filter((index) => !filled.has(index));
      const sample = lost.slice(0, 3).map((index) => JSON.stringify(values[index]?.slice(0, 60)));
      throw new Error(`feed dropped ${lost.length} value(s) from its output, e.g. ${sample.join(', ')}`);
    }
    return xml;
  }
  return { put, putHtml, fill };
}

type Attributes = Readonly<Record<string, string | undefined>>;

/** ` key="value"` for each defined attribute; values are slot tokens or our own constants. */
function attributeList(attributes: Attributes): string {
  return Object.entries(attributes)
    .filter((entry): entry is [string, string] => entry[1] !== undefined)
    .map(([key, value]) => ` ${key}="${value}"`)
    .join('');
}

function element(name: string, attributes: Attributes, content?: string): string {
  const attrs = attributeList(attributes);
  return content === undefined ? `<${name}${attrs}/>` : `<${name}${attrs}>${content}</${name}>`;
}

/** Adds what feed cannot emit (xml:lang, namespace declarations) to the root start tag, unless already there. */
function extendRootTag(skeleton: string, root: string, attributes: Attributes): string {
  const start = skeleton.indexOf(`<${root} `);
  const end = skeleton.indexOf('>', start);
  if (start < 0 || end < 0) throw new Error(`feed output has no <${root}> element`);
  const tag = skeleton.slice(start, end);
  const missing = Object.fromEntries(
    Object.entries(attributes).filter(([key]) => !tag.includes(` ${key}="`)),
  );
  return `${skeleton.slice(0, end)}${attributeList(missing)}${skeleton.slice(end)}`;
}

interface EntryAddition {
  readonly attributes: Attributes;
  readonly children: readonly string[];
}

/**
 * Per-entry additions feed has no option for: attributes on the entry's start tag, child elements before its
 * end tag. Works on the skeleton, where `<entry>` and `</entry>` can only be feed's own tags.
 */
function extendEntries(skeleton: string, tagName: string, additions: readonly EntryAddition[]): string {
  const parts = skeleton.split(`<${tagName}>`);
  if (parts.length !== additions.length + 1) {
    throw new Error(`feed wrote ${parts.length - 1} <${tagName}> elements for ${additions.length} entries`);
  }
  return parts
    .map((part, index) => {
      const addition = additions[index - 1];
      if (addition === undefined) return part;
      const close = part.indexOf(`</${tagName}>`);
      const indent = part.slice(part.lastIndexOf('\n', close) + 1, close);
      const children = addition.children.map((child) => `    ${child}\n${indent}`).join('');
      return `<${tagName}${attributeList(addition.attributes)}>${part.slice(0, close)}${children}${part.slice(close)}`;
    })
    .join('');
}

/**
 * The lead image as Media RSS, which Feedly, Inoreader, NetNewsWire and Miniflux show as the entry's picture
 * (jekyll-feed does the same). Not an enclosure: readers and podcatchers offer enclosures as downloads, RSS
 * requires their byte length, and feed@6 would derive the MIME type from the extension ("image/jpg").
 */
function mediaElements(image: Image | undefined, put: Slots['put']): string[] {
  if (image === undefined) return [];
  const size = { width: put(image.width?.toString()), height: put(image.height?.toString()) };
  const description =
    image.alt === '' ? undefined : element('media:description', { type: 'plain' }, put(image.alt));
  return [
    element('media:thumbnail', { url: put(image.url), ...size }),
    element(
      'media:content',
      { url: put(image.url), type: put(image.type), medium: 'image', ...size },
      description,
    ),
  ];
}

function renderAtom(data: FeedData): string {
  const { put, fill } = createSlots();
  const atomPerson = (person: Person): Author => ({
    name: put(person.name),
    email: put(person.email),
    link: put(person.uri),
  });
  const [firstAuthor, ...moreAuthors] = data.authors;
  const feed = new Feed({
    id: put(data.atomId),
    title: put(data.title),
    description: put(data.subtitle),
    link: put(data.home),
    feedLinks: { atom: put(data.urls.atom) },
    copyright: put(data.rights),
    author: firstAuthor === undefined ? undefined : atomPerson(firstAuthor),
    // RFC 4287 §4.2.5 and §4.2.8: <icon> is small and square, <logo> twice as wide as high.
    favicon: put(data.icon),
    image: put(data.logo),
    updated: data.updated,
    generator: GENERATOR,
  });
  for (const entry of data.entries) {
    feed.addItem({
      // feed writes entry titles and summaries as type="html", so plain text goes in HTML-escaped.
      title: put(plainTextToHtml(entry.title)),
      id: put(entry.id),
      link: put(entry.url),
      date: entry.updated,
      published: entry.published,
      description: entry.summary === '' ? undefined : put(plainTextToHtml(entry.summary)),
      // Even when empty: an entry with neither content nor summary draws "MissingTextualContent" from the W3C validator.
      content: put(entry.contentHtml),
      author: entry.authors.map(atomPerson),
      category: entry.tags.map((tag) => ({ term: put(tag) })),
    });
  }
  let skeleton = feed.atom1();
  if (moreAuthors.length > 0) {
    // feed takes one feed-level author; the first </author> is that one, as entries come after it.
    const extra = moreAuthors.map((person) => `\n    ${atomAuthorElement(person, put)}`).join('');
    skeleton = skeleton.replace('</author>', `</author>${extra}`);
  }
  skeleton = extendRootTag(skeleton, 'feed', {
    // RFC 4287 §2: xml:lang is how an Atom document states its language; feed@6 has no option for it.
    'xml:lang': put(data.language),
    'xmlns:media': data.entries.some((entry) => entry.image !== undefined) ? MEDIA_NS : undefined,
  });
  skeleton = extendEntries(
    skeleton,
    'entry',
    data.entries.map((entry) => ({
      attributes: { 'xml:lang': put(entry.lang) },
      children: mediaElements(entry.image, put),
    })),
  );
  return `${fill(skeleton)}\n`;
}

/** Laid out like feed's own feed-level `<author>`. */
function atomAuthorElement(person: Person, put: Slots['put']): string {
  const parts = [
    element('name', {}, put(person.name)),
    person.email === undefined ? undefined : element('email', {}, put(person.email)),
    person.uri === undefined ? undefined : element('uri', {}, put(person.uri)),
  ];
  const lines = parts.filter((part) => part !== undefined).map((part) => `\n        ${part}`);
  return `<author>${lines.join('')}\n    </author>`;
}

function renderRss(data: FeedData): string {
  const { put, putHtml, fill } = createSlots(escapeRssText);
  const feed = new Feed({
    title: put(data.title),
    // RSS 2.0 requires a channel description; the title stands in when the site has no subtitle.
    description: put(data.subtitle ?? data.title),
    link: put(data.home),
    feedLinks: { rss: put(data.urls.rss) },
    language: put(data.language),
    copyright: put(data.rights),
    // The channel <image> is shown beside the title: the wide logo where there is one.
    image: put(data.logo ?? data.icon),
    updated: data.updated,
    generator: GENERATOR,
  });
  for (const entry of data.entries) {
    const item: Item = {
      title: put(entry.title),
      id: put(entry.id),
      link: put(entry.url),
      date: entry.updated,
      published: entry.published,
      // Always present: the W3C validator wants a description before content:encoded ("NeedDescriptionBeforeContent").
      description: putHtml(plainTextToHtml(entry.summary)),
      content: putHtml(entry.contentHtml),
      category: entry.tags.map((tag) => ({ name: put(tag) })),
    };
    feed.addItem(item);
  }
  let skeleton = feed.rss2();
  skeleton = extendRootTag(skeleton, 'rss', {
    'xmlns:dc': DC_NS,
    'xmlns:media': data.entries.some((entry) => entry.image !== undefined) ? MEDIA_NS : undefined,
  });
  skeleton = extendEntries(
    skeleton,
    'item',
    data.entries.map((entry) => ({ attributes: {}, children: rssItemExtras(entry, put) })),
  );
  return `${fill(skeleton)}\n`;
}

/**
 * RSS 2.0 `<author>` must be an e-mail address, and one per item; feed@6 writes a bare name and repeats it.
 * `dc:creator` takes names, once per author; we never write `<author>` as well (the W3C validator warns
 * "DuplicateItemSemantics" for both, and an address in a public feed is harvested for spam).
 */
function rssItemExtras(entry: FeedEntry, put: Slots['put']): string[] {
  return [
    ...entry.authors.map((person) => element('dc:creator', {}, put(person.name))),
    ...(entry.lang === undefined ? [] : [element('dc:language', {}, put(entry.lang))]),
    ...mediaElements(entry.image, put),
  ];
}

/**
 * JSON Feed 1.1 written by us: feed@6's json1() says version 1 and has a single `author`, no `authors`, no
 * `language`, and no feed-level authors. Every field comes from the same cleaned data as the XML feeds.
 */
function renderJsonFeed(data: FeedData): string {
  const feed = {
    version: 'https://jsonfeed.org/version/1.1',
    title: data.title,
    home_page_url: data.home,
    feed_url: data.urls.json,
    description: data.subtitle,
    icon: data.icon,
    favicon: data.icon,
    language: data.language,
    authors: data.authors.map(jsonAuthor),
    items: data.entries.map((entry) => ({
      id: entry.id,
      url: entry.url,
      title: entry.title,
      content_html: entry.contentHtml,
      summary: entry.summary === '' ? undefined : entry.summary,
      image: entry.image?.url,
      date_published: entry.published.toISOString(),
      date_modified: entry.updated.toISOString(),
      authors: entry.authors.map(jsonAuthor),
      tags: entry.tags,
      language: entry.lang,
    })),
  };
  return `${JSON.stringify(feed, null, 2)}\n`;
}

function jsonAuthor(person: Person): { name: string; url?: string } {
  return person.uri === undefined ? { name: person.name } : { name: person.name, url: person.uri };
}
