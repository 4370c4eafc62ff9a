// The content stage as pure functions: slugs, dates, Markdown, front matter, settings, and hostile input at its boundary.

import { describe, expect, it } from 'vitest';
import { checkUnique, parseArticle } from '../src/content/article.ts';
import { parseContent } from '../src/content/content.ts';
import { parseDate } from '../src/content/dates.ts';
import { absoluteHtmlUrls, renderInlineMarkdown, renderMarkdown } from '../src/content/markdown.ts';
import { parseSite } from '../src/content/settings.ts';
import { slugify } from '../src/content/slug.ts';
import { decodeUtf8 } from '../src/content/text.ts';
import { formatError } from '../src/error.ts';
import { errorOf } from './support/errors.ts';
import { makeSite } from './support/fixtures.ts';

const site = makeSite();

function article(frontMatter: string, body = 'Text.\n'): string {
  return `---\n${frontMatter}\n---\n\n${body}`;
}

const VALID = [
  'id: tag:kurier.example,2026:gruss',
  'title: Grüße aus Bochum',
  'date: 2026-11-26',
  'summary: Ein kurzer Gruß.',
].join('\n');

describe('slugify', () => {
  it('transliterates German letters and drops punctuation', () => {
    expect(slugify('Grüße aus Bochum – „Glück auf“')).toBe('gruesse-aus-bochum-glueck-auf');
    expect(slugify('Ökosystem der Straße')).toBe('oekosystem-der-strasse');
    expect(slugify('Café Niño')).toBe('cafe-nino');
  });
});

describe('parseDate', () => {
  it('reads bare dates as midnight in the site time zone', () => {
    expect(parseDate('2026-11-26', 'Europe/Berlin')?.toISOString()).toBe('2026-11-25T23:00:00.000Z');
    expect(parseDate('2026-07-01T08:00', 'Europe/Berlin')?.toISOString()).toBe('2026-07-01T06:00:00.000Z');
  });
  it('honours explicit offsets and rejects impossible dates', () => {
    expect(parseDate('2026-11-26T08:00:00+01:00', 'UTC')?.toISOString()).toBe('2026-11-26T07:00:00.000Z');
    expect(parseDate('2026-02-30', 'UTC')).toBeUndefined();
    expect(parseDate('26.11.', 'UTC')).toBeUndefined();
  });
});

describe('renderMarkdown', () => {
  it('keeps German typography and anchors headings', () => {
    const html = renderMarkdown(
      '## Ein Ökosystem\n\n„Zitat“ – 6.000\u00a0Menschen\n',
      'https://kurier.example/a/',
    );
    expect(html).toContain('<h2 id="ein-oekosystem">Ein Ökosystem</h2>');
    expect(html).toContain('„Zitat“ – 6.000\u00a0Menschen');
  });
  it('makes relative links and images absolute, also in raw HTML', () => {
    const html = renderMarkdown(
      '[a](../b/) ![Bild](bild.jpg) <img src="/x.png"> [c](#oben) [d](https://other.example/)',
      'https://kurier.example/artikel/',
    );
    expect(html).toContain('href="https://kurier.example/b/"');
    expect(html).toContain('src="https://kurier.example/artikel/bild.jpg"');
    expect(html).toContain('src="https://kurier.example/x.png"');
    expect(html).toContain('href="https://kurier.example/artikel/#oben"');
    expect(html).toContain('href="https://other.example/"');
  });
  it('resolves relative href and src in raw HTML, leaving absolute ones byte for byte', () => {
    const base = 'https://kurier.example/artikel/';
    expect(absoluteHtmlUrls('<a href="#x">', base)).toBe('<a href="https://kurier.example/artikel/#x">');
    expect(absoluteHtmlUrls("<img src='b.png' alt=x>", base)).toBe(
      "<img src='https://kurier.example/artikel/b.png' alt=x>",
    );
    expect(absoluteHtmlUrls('<a href="//cdn.example/x">', base)).toBe('<a href="https://cdn.example/x">');
    expect(absoluteHtmlUrls('<a href="">', base)).toBe('<a href="https://kurier.example/artikel/">');
    const absolute =
      '<a href="https://x.example/ä?q=a b">x</a><a href="mailto:a@b.example">m</a><a data-src="rel">d</a>';
    expect(absoluteHtmlUrls(absolute, base)).toBe(absolute);
  });

  it('gives repeated headings distinct anchors', () => {
    const html = renderMarkdown('## Fazit\n\n## Fazit\n', 'https://kurier.example/a/');
    expect(html).toContain('id="fazit"');
    expect(html).toContain('id="fazit-2"');
  });
});

describe('parseArticle', () => {
  it('builds the model from front matter and body', () => {
    const parsed = parseArticle(
      article(`${VALID}\ntags: [Bochum]`, '## Teil\n\nText.'),
      'content/posts/g.md',
      site,
    );
    expect(parsed.slug).toBe('gruesse-aus-bochum');
    expect(parsed.url).toBe('https://kurier.example/gruesse-aus-bochum/');
    expect(parsed.published.toISOString()).toBe('2026-11-25T23:00:00.000Z');
    expect(parsed.updated).toEqual(parsed.published);
    expect(parsed.authors).toEqual(site.authors);
    expect(parsed.lang).toBe('de');
    expect(parsed.html).toContain('<h2 id="teil">Teil</h2>');
  });

  it('reads CRLF line endings and a UTF-8 byte order mark like plain LF', () => {
    const lf = parseArticle(article(VALID, 'Zeile eins\n\nZeile zwei\n'), 'a.md', site);
    const crlf = parseArticle(
      `\uFEFF${article(VALID, 'Zeile eins\n\nZeile zwei\n')}`.replace(/\n/g, '\r\n'),
      'a.md',
      site,
    );
    expect(crlf.html).toBe(lf.html);
    expect(crlf.title).toBe(lf.title);
  });

  it('accepts an empty body', () => {
    expect(parseArticle(article(VALID, ''), 'a.md', site).html).toBe('');
  });

  const cases: [string, string, string, number, RegExp][] = [
    ['no front matter', '# Titel\n', 'FRONT_MATTER_MISSING', 1, /first line "---"/],
    ['unclosed front matter', '---\ntitle: x\n', 'FRONT_MATTER_MISSING', 1, /not closed/],
    [
      'missing title',
      article(VALID.replace('title: Grüße aus Bochum\n', '')),
      'FRONT_MATTER_INVALID',
      2,
      /title/,
    ],
    [
      'a German date',
      article(VALID.replace('date: 2026-11-26', 'date: 26.11.')),
      'FRONT_MATTER_INVALID',
      4,
      /expected a date like 2026-11-26.*got "26\.11\."/,
    ],
    [
      'an impossible date',
      article(VALID.replace('2026-11-26', '2026-02-30')),
      'FRONT_MATTER_INVALID',
      4,
      /no such day/,
    ],
    [
      'an unknown field',
      article(`${VALID}\ntitel: Doppelt`),
      'FRONT_MATTER_INVALID',
      6,
      /unknown field "titel".*did you mean "title"/,
    ],
    ['broken YAML', article(`${VALID}\ntags: [Bochum\nslug: x`), 'YAML_INVALID', 7, /YAML is broken/],
    [
      'a missing id',
      article(VALID.replace('id: tag:kurier.example,2026:gruss\n', '')),
      'FRONT_MATTER_INVALID',
      2,
      /add the line "id: tag:kurier\.example,2026:gruesse-aus-bochum"/,
    ],
    [
      'an id that is no tag URI',
      article(VALID.replace('tag:kurier.example,2026:gruss', 'gruss')),
      'FRONT_MATTER_INVALID',
      2,
      /tag: URI/,
    ],
    ['a bad slug', article(`${VALID}\nslug: Grüße`), 'FRONT_MATTER_INVALID', 6, /lowercase letters/],
    [
      'updated before date',
      article(`${VALID}\nupdated: 2026-01-01`),
      'FRONT_MATTER_INVALID',
      6,
      /must not be before/,
    ],
    [
      'an image without alt text',
      article(`${VALID}\nimage:\n  src: a.jpg`),
      'FRONT_MATTER_INVALID',
      6,
      /describe the image/,
    ],
  ];
  it.each(cases)('reports %s with file, line and a fix', (_name, source, code, line, message) => {
    const error = errorOf(() => parseArticle(source, 'content/posts/a.md', site));
    expect(error.code).toBe(code);
    expect(error.file).toBe('content/posts/a.md');
    expect(error.line).toBe(line);
    expect(error.message).toMatch(message);
    expect(formatError(error)).toMatch(new RegExp(`^content/posts/a\\.md:${line}  ${code}  `));
  });
});

describe('checkUnique', () => {
  it('reports a slug or id used by two files, naming both', () => {
    const first = parseArticle(article(VALID), 'content/posts/a.md', site);
    const second = parseArticle(article(VALID.replace(':gruss', ':anders')), 'content/posts/b.md', site);
    const third = parseArticle(article(`${VALID}\nslug: eigen`), 'content/posts/c.md', site);
    const errors = checkUnique([first, second, third]);
    expect(errors.map((error) => [error.code, error.file, error.line])).toEqual([
      ['DUPLICATE_SLUG', 'content/posts/b.md', 3],
      ['DUPLICATE_ID', 'content/posts/c.md', 2],
    ]);
    expect(errors[0]?.message).toContain('content/posts/a.md');
  });
});

describe('parseContent', () => {
  const settings = {
    path: 'content/site.yaml',
    text: 'title: K\nbaseUrl: https://k.example\nlanguage: de\nauthors: [A]\ntagAuthority: k.example,2026\nemail:\n  from: {name: K, email: k@k.example}\n  reason: Abo.\n  imprint: [K, Straße 1]\n  unsubscribeUrl: https://k.example/ab\n  unsubscribeMailto: ab@k.example\n',
  };

  it('collects the problems of every file at once', () => {
    const error = errorOf(() =>
      parseContent({
        settings,
        articles: [
          { path: 'content/posts/a.md', text: article(VALID.replace('2026-11-26', '26.11.')) },
          { path: 'content/posts/b.md', text: 'kein front matter' },
        ],
      }),
    );
    expect(error.file).toBe('content/posts/a.md');
    expect(error.problems.map((problem) => problem.file)).toEqual(['content/posts/b.md']);
    expect(formatError(error).split('\n')).toHaveLength(2);
  });

  it('sorts newest first and leaves drafts out', () => {
    const content = parseContent({
      settings,
      articles: [
        { path: 'content/posts/alt.md', text: article(VALID) },
        {
          path: 'content/posts/neu.md',
          text: article(
            VALID.replace(':gruss', ':neu')
              .replace('2026-11-26', '2026-11-27')
              .replace('Grüße aus', 'Neues aus'),
          ),
        },
        {
          path: 'content/posts/entwurf.md',
          text: article(`${VALID.replace(':gruss', ':e').replace('Grüße', 'Entwurf')}\ndraft: true`),
        },
      ],
    });
    expect(content.articles.map((a) => a.slug)).toEqual(['neues-aus-bochum', 'gruesse-aus-bochum']);
    expect(content.drafts.map((a) => a.slug)).toEqual(['entwurf-aus-bochum']);
    expect(content.site.baseUrl).toBe('https://k.example/');
  });
});

describe('parseSite', () => {
  it('rejects a tag authority that is not a domain and a date', () => {
    const error = errorOf(() => parseSite('title: K\ntagAuthority: kurier\n', 'content/site.yaml'));
    expect(error.code).toBe('SETTINGS_INVALID');
  });
});

describe('hostile input at the content boundary (issue 7)', () => {
  it('drops control characters typed as character references from the HTML and the plain text, and keeps the rest', () => {
    const body = renderMarkdown(
      'Eins&#1;zwei&#x0B;drei&#127; &#38; `&#1;` &amp;#2;\n\n<p>roh&#x1;&#9;&#150;</p>',
      'https://kurier.example/a/',
    );
    expect(body).toBe('<p>Einszweidrei &amp; <code>&amp;#1;</code> &amp;#2;</p>\n<p>roh&#9;&#150;</p>');
    const lead = renderInlineMarkdown('Lead&#x1;mit &#7;Steuerzeichen', 'https://kurier.example/a/');
    expect(lead).toEqual({ html: 'Leadmit Steuerzeichen', text: 'Leadmit Steuerzeichen' });
  });

  const parse = (source: string) => parseArticle(source, 'content/posts/a.md', site);

  it('reads years below 100 as written and refuses them as typos', () => {
    expect(parseDate('0026-11-26T00:00:00Z', 'UTC')?.getUTCFullYear()).toBe(26);
    expect(parseDate('0099-03-01', 'Europe/Berlin')?.getUTCFullYear()).toBe(99);
    const error = errorOf(() => parse(article(VALID.replace('2026-11-26', '0026-11-26'))));
    expect([error.line, error.message]).toEqual([
      4,
      'date: "0026-11-26" lies in the year 26; write the year in full, like 2026-11-26.',
    ]);
  });

  it('refuses offsets no clock has', () => {
    for (const offset of ['+99:99', '+24:00', '-05:60']) {
      expect(parseDate(`2026-11-26T08:00:00${offset}`, 'UTC'), offset).toBeUndefined();
    }
    expect(parseDate('2026-11-26T08:00:00-23:59', 'UTC')?.toISOString()).toBe('2026-11-27T07:59:00.000Z');
    expect(errorOf(() => parse(article(VALID.replace('2026-11-26', '2026-11-26T08:00+99:99')))).line).toBe(4);
  });

  it('gives an NFD title the same slug and text as the NFC one', () => {
    const nfd = parse(article(VALID.normalize('NFD')));
    expect(nfd.slug).toBe('gruesse-aus-bochum');
    expect(nfd.title).toBe('Grüße aus Bochum'.normalize('NFC'));
    expect(slugify('Gru\u0308sse')).toBe('gruesse');
  });

  it('removes control characters from every text field and the body', () => {
    const parsed = parse(
      article(
        VALID.replace('Grüße', 'Grü\u0001ße\u007f').replace('Ein kurzer', 'Ein\u000b kurzer\u0085'),
        'Text\u000c mit \u0008 Steuer\u009bzeichen.\n',
      ),
    );
    expect(parsed.title).toBe('Grüße aus Bochum');
    expect(parsed.summary).toBe('Ein kurzer Gruß.');
    expect(parsed.html).toBe('<p>Text mit  Steuerzeichen.</p>\n');
  });

  it('cuts a long title slug at a word boundary and says so; refuses a hand-written slug that is too long', () => {
    const parsed = parse(article(VALID.replace('Grüße aus Bochum', 'Wort '.repeat(80).trim())));
    expect(parsed.slug).toBe(Array.from({ length: 16 }, () => 'wort').join('-'));
    expect(parsed.slug.length).toBeLessThanOrEqual(80);
    expect(parsed.warnings?.[0]).toMatch(
      /^content\/posts\/a\.md:3: the slug from the title would have 399 characters/,
    );
    const one = parse(article(VALID.replace('Grüße aus Bochum', 'x'.repeat(300))));
    expect(one.slug).toBe('x'.repeat(80));
    const error = errorOf(() => parse(article(`${VALID}\nslug: ${'a'.repeat(300)}`)));
    expect([error.line, error.message]).toEqual([
      6,
      `slug: a slug may have at most 200 characters; got "${'a'.repeat(300)}".`,
    ]);
  });

  it('names the line of an unterminated quote, not the end of the front matter', () => {
    const error = errorOf(() =>
      parse(article(VALID.replace('title: Grüße aus Bochum', 'title: "Grüße aus'))),
    );
    expect([error.code, error.line]).toEqual(['YAML_INVALID', 3]);
  });

  it('asks to quote a title that YAML reads as a number', () => {
    const error = errorOf(() => parse(article(VALID.replace('title: Grüße aus Bochum', 'title: 42'))));
    expect([error.line, error.message]).toEqual([
      3,
      'title: YAML reads 42 as a number, not as text; quote it: title: "42".',
    ]);
    const tag = errorOf(() => parse(article(`${VALID}\ntags: [Bochum, 2026]`)));
    expect([tag.line, tag.message]).toEqual([
      6,
      'tags.1: YAML reads 2026 as a number, not as text; quote it: "2026".',
    ]);
  });

  it('refuses javascript: and data: image sources', () => {
    for (const src of ['javascript:alert(1)', 'data:image/svg+xml;base64,PHN2Zz4=', 'JaVaScRiPt:x']) {
      const error = errorOf(() => parse(article(`${VALID}\nimage: { src: "${src}", alt: Bild }`)));
      expect([error.line, error.message], src).toEqual([
        6,
        `image.src: expected an http(s) URL or a path like bilder/zeche.jpg; got "${src}".`,
      ]);
    }
    expect(parse(article(`${VALID}\nimage: { src: bild.jpg, alt: Bild }`)).image?.url).toBe(
      'https://kurier.example/gruesse-aus-bochum/bild.jpg',
    );
  });
});

describe('parseSite at the boundary (issue 7)', () => {
  const settings = (baseUrl: string) =>
    `title: K\nbaseUrl: ${baseUrl}\nlanguage: de\nauthors: [A]\ntagAuthority: k.example,2026\nemail:\n  from: {name: K, email: k@k.example}\n  reason: Abo.\n  imprint: [K, Straße 1]\n  unsubscribeUrl: https://k.example/ab\n  unsubscribeMailto: ab@k.example\n`;

  it('refuses a baseUrl with a password, a query or a fragment instead of publishing or dropping them', () => {
    for (const [url, message] of [
      ['https://user:geheim@k.example/', /user name or password/],
      ['https://k.example/?ref=feed', /query/],
      ['https://k.example/#top', /fragment/],
    ] as const) {
      const error = errorOf(() => parseSite(settings(url)));
      expect([error.code, error.line], url).toEqual(['SETTINGS_INVALID', 2]);
      expect(error.message, url).toMatch(message);
    }
    expect(parseSite(settings('https://k.example/blog')).baseUrl).toBe('https://k.example/blog/');
  });

  it('normalises the settings to NFC without control characters', () => {
    expect(
      parseSite(settings('https://k.example/').replace('title: K', 'title: "Gru\u0308\u0001ße"')).title,
    ).toBe('Grüße');
  });
});

describe('decodeUtf8', () => {
  it('names the line of the first byte that is not UTF-8 instead of replacing it', () => {
    const bytes = Buffer.concat([
      Buffer.from('---\ntitle: Gr'),
      Buffer.from([0xfc]),
      Buffer.from('ße\n---\n'),
    ]);
    const error = errorOf(() => decodeUtf8(bytes, 'content/posts/a.md'));
    expect(formatError(error)).toMatch(
      /^content\/posts\/a\.md:2 {2}CONTENT_INVALID {2}the file is not UTF-8/,
    );
    expect(decodeUtf8(Buffer.from('\uFEFFÄ\n'), 'x.md')).toBe('Ä\n');
  });
});
