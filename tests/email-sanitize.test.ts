// Hostile HTML in an article (issue 7, defect 10): nothing that runs or loads reaches email.html, email.txt,
// the sent MIME message or any of the three feeds, while ordinary article HTML comes through whole.

import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArticle } from '../src/content/article.ts';
import { decodeHtmlEntities } from '../src/content/markdown.ts';
import { compileEmail } from '../src/email/compile.ts';
import { prepareMessage, renderMessage } from '../src/email/mime.ts';
import { readEmailTemplates } from '../src/email/read-templates.ts';
import { renderWebVersion } from '../src/email/web.ts';
import { renderFeeds } from '../src/render/feeds.ts';
import { isAllowedUrl, sanitizeArticleHtml } from '../src/render/sanitize.ts';
import { makeSite } from './support/fixtures.ts';
import { parseMessage } from './support/smtp.ts';

const templates = await readEmailTemplates(path.resolve(import.meta.dirname, '../templates'));
const site = makeSite();
const file = 'content/posts/boese.md';

// As an attribute value; "javascript:" inside an https URL's path is only text.
const SCRIPT_URL = /=\s*["']?\s*java\s*script:/i;

/** Each vector, with what must not survive it (checked case-insensitively, after decoding references). */
const vectors: readonly {
  readonly name: string;
  readonly html: string;
  readonly absent: RegExp;
  /** False where the content stage already made the URL a harmless relative one (no scheme it knows). */
  readonly warns?: false;
}[] = [
  { name: 'script', html: '<script>document.cookie</script>', absent: /<script|document\.cookie/i },
  {
    name: 'onerror',
    html: '<img src="https://kurier.example/x.png" onerror="alert(1)">',
    absent: /onerror/i,
  },
  { name: 'javascript: link', html: '<a href="javascript:alert(2)">eins</a>', absent: SCRIPT_URL },
  {
    name: 'data: URL',
    html: '<a href="data:text/html;base64,PHNjcmlwdD4=">zwei</a>',
    absent: /=\s*["']?\s*data:/i,
  },
  {
    name: 'data: image',
    html: '<img src="data:image/svg+xml;base64,PHN2Zz4=" alt="Bild">',
    absent: /data:image/i,
  },
  {
    name: 'style with expression',
    html: '<p style="width: expression(alert(3))">drei</p>',
    absent: /expression\(/i,
  },
  { name: 'svg with onload', html: '<svg onload="alert(4)"><circle r="1"/></svg>', absent: /<svg|onload/i },
  {
    name: 'iframe',
    html: '<iframe src="https://evil.example/frame"></iframe>',
    absent: /<iframe|evil\.example\/frame/i,
  },
  {
    name: 'form',
    html: '<form action="https://evil.example/post"><input name="pin"><button>Senden</button></form>',
    absent: /<form|<input|evil\.example\/post|<button/i,
  },
  {
    name: 'entity-obfuscated scheme',
    html: '<a href="jav&#x61;script:alert(5)">vier</a>',
    absent: SCRIPT_URL,
    warns: false,
  },
  { name: 'uppercase scheme', html: '<a href="JAVASCRIPT:alert(6)">fünf</a>', absent: SCRIPT_URL },
  {
    name: 'whitespace-split scheme',
    html: '<a href="java&#x09;script:alert(7)">sechs</a>',
    absent: SCRIPT_URL,
    warns: false,
  },
  { name: 'leading space', html: '<a href=" javascript:alert(8)">sieben</a>', absent: SCRIPT_URL },
];

const markdownVectors = [
  '[acht](javascript:alert(9))',
  '[neun](JaVaScRiPt:alert(10))',
  '![zehn](data:image/png;base64,AAAA)',
  '<javascript:alert(11)>',
].join('\n\n');

const legitimate = [
  '<figure><img src="https://kurier.example/halle.jpg" alt="Halle" width="800" height="400"><figcaption>Die Halle</figcaption></figure>',
  '<table><thead><tr><th>Jahr</th></tr></thead><tbody><tr><td>2014</td></tr></tbody></table>',
  '',
  '[Stadt](https://www.bochum.de/) und [Post](mailto:post@kurier.example)',
  '',
  '```js',
  'const a = 1 < 2;',
  '```',
].join('\n');

function source(body: string, summary = 'Eine Zusammenfassung.'): string {
  return [
    '---',
    'id: tag:kurier.example,2026:boese',
    'title: Böse Eingaben',
    'date: 2026-11-26T08:00:00+01:00',
    `summary: ${JSON.stringify(summary)}`,
    '---',
    '',
    body,
    '',
  ].join('\n');
}

interface Outputs {
  readonly [name: string]: string;
}

async function everyOutput(
  body: string,
  summary?: string,
): Promise<{ outputs: Outputs; warnings: readonly string[] }> {
  const article = parseArticle(source(body, summary), file, site);
  const compiled = await compileEmail(site, article, templates);
  const web = renderWebVersion(compiled);
  const raw = renderMessage(
    prepareMessage(compiled, site),
    {
      email: 'anna@example.org',
      name: 'Anna',
      unsubscribeUrl: 'https://kurier.example/abmelden?token=t',
      fields: {},
    },
    {
      messageId: '<1@kurier.example>',
      date: new Date('2026-11-26T07:00:00Z'),
      listId: 'kurier.example',
      unsubscribeMailto: 'abmelden@kurier.example',
    },
  );
  const sent = await parseMessage(raw);
  const feeds = Object.fromEntries(
    renderFeeds(site, [article]).map((feed) => [feed.path, String(feed.content)]),
  );
  const json = JSON.parse(feeds['feed.json'] ?? '') as { items: { content_html: string }[] };
  return {
    outputs: {
      'email.html': web.html,
      'email.txt': web.text,
      'sent html': String(sent.html),
      'sent text': sent.text ?? '',
      'feed.xml': feeds['feed.xml'] ?? '',
      'rss.xml': feeds['rss.xml'] ?? '',
      'feed.json content_html': json.items[0]?.content_html ?? '',
    },
    warnings: compiled.warnings,
  };
}

/** The article HTML sits in CDATA in both XML feeds, so one decoding gives what a reader's HTML parser sees. */
function asReaderSees(text: string): string {
  return decodeHtmlEntities(text);
}

/** Every URL in an attribute that loads or links something, as a browser reads it. */
function urlsIn(text: string): string[] {
  return [
    ...text.matchAll(/\s(?:href|src|action|formaction|poster|background)\s*=\s*(?:"([^"]*)"|'([^']*)')/gi),
  ].map((match) => decodeHtmlEntities(match[1] ?? match[2] ?? ''));
}

describe('hostile HTML in the body', () => {
  it.each(vectors)('$name reaches no email part and no feed', async ({ html, absent, warns }) => {
    const { outputs, warnings } = await everyOutput(`Davor.\n\n${html}\n\nDanach.`);
    expect(Object.keys(outputs)).toEqual([
      'email.html',
      'email.txt',
      'sent html',
      'sent text',
      'feed.xml',
      'rss.xml',
      'feed.json content_html',
    ]);
    for (const [name, text] of Object.entries(outputs)) {
      expect(asReaderSees(text), name).not.toMatch(absent);
      expect(
        urlsIn(text).filter((url) => !isAllowedUrl(url)),
        name,
      ).toEqual([]);
      expect(text, name).toContain('Danach.');
    }
    if (warns !== false) expect(warnings.join('\n')).toContain('the email leaves out');
  });

  it.each(vectors)('$name does not pass the allowlist itself', ({ html, absent }) => {
    const { html: kept } = sanitizeArticleHtml(html);
    expect(asReaderSees(kept)).not.toMatch(absent);
    expect(urlsIn(kept).filter((url) => !isAllowedUrl(url))).toEqual([]);
  });

  it('names in its warning everything the allowlist removed', async () => {
    const html = vectors.map((vector) => vector.html).join('\n');
    const { warnings } = await everyOutput(`Davor.\n\n<div>\n${html}\n</div>\n\nDanach.`);
    expect(warnings).toEqual([
      `${file}: the email leaves out <button>, <form>, <iframe>, <input>, <script>, <svg>, data: URL, javascript: URL, onerror=, onload=, style=: the email and the feeds keep plain markup only (no scripts, styles, embeds, forms, event handlers, or links other than http, https and mailto). The web page keeps them.`,
    ]);
  });

  it('drops unsafe Markdown links and images, keeping their text', async () => {
    const { outputs } = await everyOutput(markdownVectors);
    for (const [name, text] of Object.entries(outputs)) {
      expect(
        urlsIn(text).filter((url) => !isAllowedUrl(url)),
        name,
      ).toEqual([]);
      expect(asReaderSees(text), name).not.toMatch(/data:image|\[\d+\] javascript:/i);
      expect(text, name).toContain('acht');
    }
    // An image without a source it may load is left out, not kept as an empty box.
    expect(outputs['email.html']).not.toMatch(/<img[^>]*alt="zehn"/);
    expect(outputs['email.txt']).not.toContain('zehn');
  });

  it('sanitizes the lead, whose HTML comes from the summary', async () => {
    const { outputs } = await everyOutput(
      'Text.',
      'Lead <script>alert(1)</script><a href="javascript:alert(2)">x</a><img src=x onerror=alert(3)>',
    );
    for (const [name, text] of Object.entries(outputs)) {
      expect(asReaderSees(text), name).not.toMatch(/<script|alert\(1\)|javascript:|onerror/i);
      expect(text, name).toContain('Lead');
    }
  });

  it('keeps links, images, figures, tables and code', async () => {
    const { outputs, warnings } = await everyOutput(legitimate);
    expect(warnings).toEqual([]);
    for (const name of ['email.html', 'sent html', 'feed.json content_html']) {
      const text = outputs[name] ?? '';
      expect(text, name).toContain('href="https://www.bochum.de/"');
      expect(text, name).toContain('href="mailto:post@kurier.example"');
      expect(text, name).toMatch(/<img src="https:\/\/kurier\.example\/halle\.jpg"/);
      expect(text, name).toMatch(/<figcaption[^>]*>Die Halle<\/figcaption>/);
      expect(text, name).toMatch(/<td[^>]*>2014<\/td>/);
      expect(text, name).toContain('const a = 1 &lt; 2;');
    }
    expect(outputs['email.txt']).toContain(
      '[Bild: Halle] [1]\n\nDie Halle\n\nJahr\n----\n2014\n\nStadt [2] und Post [3]\n\n    const a = 1 < 2;\n',
    );
    expect(outputs['email.txt']).toContain(
      '[1] https://kurier.example/halle.jpg\n[2] https://www.bochum.de/\n[3] mailto:post@kurier.example\n',
    );
  });
});

describe('the allowlist on a real parser', () => {
  // Parser differentials that releases of sanitize-html after 2.17.5 fixed for other configurations.
  it.each([
    '<noscript><p title="</noscript><img src=x onerror=alert(9)>"></noscript>',
    '<textarea></textarea/><img src=x onerror=alert(10)></textarea>',
    '<xmp></xmp/><img src=x onerror=alert(11)></xmp>',
    '<svg><a><animate attributeName="href" values="javascript:alert(12)"/><text y="20">x</text></a></svg>',
    '<math><mi><table><mglyph><style><img src=x onerror=alert(13)>',
  ])('leaves nothing active of %s', (html) => {
    const { html: kept } = sanitizeArticleHtml(html);
    expect(kept).not.toMatch(/<img|onerror|<animate|javascript:|<style|<svg|<math/i);
  });

  it('reads a ">" inside a quoted attribute as part of the value', () => {
    const { html } = sanitizeArticleHtml(
      '<p><a title="a>b" href="https://kurier.example/">Link</a> <img alt="1 > 0" src="https://kurier.example/x.png"></p>',
    );
    expect(html).toBe(
      '<p><a title="a&gt;b" href="https://kurier.example/">Link</a> <img alt="1 &gt; 0" src="https://kurier.example/x.png" /></p>',
    );
  });

  it('keeps a link whose title holds ">" whole, in both parts of the email', async () => {
    const { outputs } = await everyOutput(
      'Ein <a title="a>b" href="https://kurier.example/ziel/">Link</a> im Text.',
    );
    expect(outputs['email.html']).toMatch(
      /<a title="a&gt;b" href="https:\/\/kurier\.example\/ziel\/"[^>]*>Link<\/a> im Text\./,
    );
    expect(outputs['email.txt']).toContain('Ein Link [1] im Text.');
    expect(outputs['email.txt']).toContain('[1] https://kurier.example/ziel/');
  });

  it('fits a wide image to the email column even with ">" in its alt', async () => {
    const body = '<p><img alt="a>b" src="https://kurier.example/x.png" width="1104" height="200"></p>';
    const { outputs } = await everyOutput(body);
    expect(outputs['email.html']).toMatch(
      /<img alt="a&gt;b" src="https:\/\/kurier\.example\/x\.png" width="552" height="100"/,
    );
  });

  it('allows only http, https, mailto and relative URLs', () => {
    const verdicts = Object.fromEntries(
      [
        'https://kurier.example/',
        'HTTP://kurier.example/',
        'mailto:post@kurier.example',
        '#abschnitt',
        'javascript:alert(1)',
        ' JaVaScRiPt:alert(1)',
        'java\tscript:alert(1)',
        'java\u0000script:alert(1)',
        'data:text/html,x',
        'vbscript:x',
        'cid:bild@kurier',
      ].map((url) => [url, isAllowedUrl(url)]),
    );
    expect(verdicts).toEqual({
      'https://kurier.example/': true,
      'HTTP://kurier.example/': true,
      'mailto:post@kurier.example': true,
      '#abschnitt': true,
      'javascript:alert(1)': false,
      ' JaVaScRiPt:alert(1)': false,
      'java\tscript:alert(1)': false,
      'java\u0000script:alert(1)': false,
      'data:text/html,x': false,
      'vbscript:x': false,
      'cid:bild@kurier': false,
    });
  });
});
