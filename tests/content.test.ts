import { describe, expect, it } from 'vitest';
import { checkUnique, parseArticle } from '../src/content/article.ts';
import { parseContent } from '../src/content/content.ts';
import { parseDate } from '../src/content/dates.ts';
import { absoluteHtmlUrls, renderMarkdown } from '../src/content/markdown.ts';
import { parseSite } from '../src/content/settings.ts';
import { slugify } from '../src/content/slug.ts';
import { formatError, KurierError } from '../src/error.ts';
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

function errorOf(run: () => unknown): KurierError {
  try {
    run();
  } catch (error) {
    if (error instanceof KurierError) return error;
    throw error;
  }
  throw new Error('expected a KurierError');
}

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
