// compileEmail and renderEmail: the MJML + Handlebars email of an article, its variants, raw HTML and template errors.

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import Handlebars from 'handlebars';
import { describe, expect, it } from 'vitest';
import { parseArticle } from '../src/content/article.ts';
import { parseSite } from '../src/content/settings.ts';
import { compileEmail } from '../src/email/compile.ts';
import type { CompiledEmail, Reader } from '../src/email/model.ts';
import { type EmailTemplates, readEmailTemplates } from '../src/email/read-templates.ts';
import { planReaderValues, prepareEmail, renderEmail } from '../src/email/render.ts';
import { renderWebVersion } from '../src/email/web.ts';
import { KurierError } from '../src/error.ts';
import type { Segment } from '../src/render/handlebars.ts';
import { makeArticle, makeSite } from './support/fixtures.ts';

const root = path.resolve(import.meta.dirname, '..');
const SAMPLE = 'content/posts/bochum-leben-nach-der-industrie.md';
const templates = await readEmailTemplates(path.join(root, 'templates'));
const sampleSite = parseSite(await readFile(path.join(root, 'content/site.yaml'), 'utf8'));
const sample = parseArticle(await readFile(path.join(root, SAMPLE), 'utf8'), SAMPLE, sampleSite);
const compiledSample = await compileEmail(sampleSite, sample, templates);

/**
 * The reference that renderEmail's direct fill-in must match: a template built from the segments as a
 * Handlebars AST (a ContentStatement per text, an escaped or raw
 * MustacheStatement per field), so text is never parsed. Fields are read as `values[field]`; a missing one
 * renders as "". Field names reach the compiled code only as quoted string literals.
 */
function compileTemplateFromSegments(
  segments: readonly Segment[],
  options: { readonly noEscape?: boolean } = {},
): (values: Readonly<Record<string, string>>) => string {
  const escaped = options.noEscape !== true;
  const body = segments.map(
    (segment): hbs.AST.Statement =>
      typeof segment === 'string' ? contentStatement(segment) : fieldStatement(segment.field, escaped),
  );
  const program: hbs.AST.Program = { type: 'Program', body, blockParams: [], loc: NO_LOCATION };
  // Not strict: the Program is built here and every field is a two-part path, never a helper call.
  const template = Handlebars.create().compile(program, { noEscape: !escaped });
  return (values) => template({ values });
}

const NO_LOCATION: hbs.AST.SourceLocation = {
  source: '',
  start: { line: 1, column: 0 },
  end: { line: 1, column: 0 },
};
const NO_STRIP: hbs.AST.StripFlags = { open: false, close: false };

function contentStatement(value: string): hbs.AST.ContentStatement {
  return { type: 'ContentStatement', value, original: NO_STRIP, loc: NO_LOCATION };
}

function fieldStatement(field: string, escaped: boolean): hbs.AST.MustacheStatement {
  const path: hbs.AST.PathExpression = {
    type: 'PathExpression',
    data: false,
    depth: 0,
    parts: ['values', field],
    // Handlebars reads `original` to decide whether a path is scoped (`this.x`, `../x`); keep it neutral.
    original: 'values.field',
    loc: NO_LOCATION,
  };
  // No hash at all, as the parser leaves it for `{{a.b}}`: even an empty one makes Handlebars call a helper.
  const hash = undefined as unknown as hbs.AST.Hash;
  return { type: 'MustacheStatement', path, params: [], hash, escaped, strip: NO_STRIP, loc: NO_LOCATION };
}

const anna: Reader = {
  email: 'anna@example.org',
  name: 'Anna Müller',
  unsubscribeUrl: 'https://kurier.example/abmelden?token=t0k3n&list=1',
  fields: {},
};

function withHtmlTemplate(edit: (source: string) => string): EmailTemplates {
  return { ...templates, html: { ...templates.html, source: edit(templates.html.source) } };
}

async function caught(promise: Promise<unknown>): Promise<KurierError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  if (!(error instanceof KurierError)) throw new Error(`expected a KurierError, got ${String(error)}`);
  return error;
}

describe('compileEmail on the sample article', () => {
  const web = renderWebVersion(compiledSample);

  it('passes MJML strict validation and leaves no Handlebars, remote font or stylesheet behind', () => {
    expect(web.html).toMatch(/^<!doctype html>/);
    expect(web.html).not.toContain('{{');
    expect(web.html).not.toContain('__kurier_field_');
    expect(web.html).not.toMatch(/<link\b/i);
    expect(web.html).not.toMatch(/@import/i);
    expect(web.html).not.toContain('fonts.googleapis');
    expect(compiledSample.warnings).toEqual([]);
  });

  it('stays well below the Gmail clipping size (sample < 60 KB) and reports its size', () => {
    expect(compiledSample.htmlBytes).toBe(Buffer.byteLength(web.html));
    expect(compiledSample.htmlBytes).toBeLessThan(60_000);
  });

  it('carries language, title, the article role, dark-mode support and a white-free preheader', () => {
    expect(web.html).toContain('<html lang="de"');
    expect(web.html).toContain('<title>Bochum zeigt: Es gibt ein Leben nach der Industrie</title>');
    expect(web.html).toContain('role="article"');
    expect(web.html).toContain('aria-roledescription="email"');
    expect(web.html).toContain('aria-label="Bochum zeigt: Es gibt ein Leben nach der Industrie"');
    expect(web.html).toContain('<meta name="color-scheme" content="light dark">');
    expect(web.html).toContain('<meta name="supported-color-schemes" content="light dark">');
    expect(web.html).toContain('@media (prefers-color-scheme: dark)');
    const preheader = /<div class="k-preheader" style="([^"]*)">([^<]*)<\/div>/.exec(web.html);
    expect(preheader?.[2]).toContain(sample.summary);
    expect(preheader?.[1]).toContain('display:none');
    expect(preheader?.[1]).not.toMatch(/color/i);
  });

  it('styles every element of the article inline (GMX and WEB.DE drop <style>)', () => {
    const body = web.html.slice(web.html.indexOf('class="k-body"'));
    const tags = [...body.matchAll(/<(p|h2|a|ul|ol|li|blockquote|pre|code|img)\b([^>]*)>/g)];
    expect(tags.length).toBeGreaterThan(20);
    for (const [tag, , attributes] of tags) expect(attributes, tag).toMatch(/style="[^"]*\S/);
    expect(web.html).toMatch(/<h2 id="der-abschied-als-anfang" style="[^"]*font-size: 22px/);
    expect(web.html).toMatch(/<p class="k-footer-p" style="margin: 0 0 12px;">/);
  });

  it('has the layout of the issue: publication, title, byline with German date, lead, body, footer', () => {
    const order = [
      '>Kurier</a>',
      'Hallo,',
      '<h1 class="k-title"',
      'Von Rolevinck · <time datetime="2026-11-26T07:00:00.000Z">26. November 2026</time>',
      'Wo einst Fördertürme den Himmel durchstachen',
      'Es gibt Städte, die ihre Identität aus der Vergangenheit ziehen.',
      'Und es kann sogar ein gutes sein.',
      sampleSite.email.reason,
      'href="https://kurier.example/bochum-leben-nach-der-industrie/email.html"',
      '>Abmelden</a>',
      'Kurier – Rolevinck<br>Musterstraße 1<br>44787 Bochum',
    ];
    let from = 0;
    for (const text of order) {
      const position = web.html.indexOf(text, from);
      expect(position, text).toBeGreaterThan(from);
      from = position;
    }
  });

  it('keeps the sample text word for word: umlauts, „quotes“ and dashes', () => {
    expect(web.html).toContain('Initiativen wie „BOtechnologies“ und das Technologiequartier');
    expect(web.html).toContain('war das nicht nur ein wirtschaftlicher Einschnitt – es war');
    expect(web.text).toContain('Initiativen wie „BOtechnologies“ und das');
  });

  it('makes the web version without reader data: neutral greeting, the generic unsubscribe page', () => {
    expect(web.html).toContain(
      '<p class="k-greeting" style="margin: 16px 0 8px; font-size: 16px; color: #4f4b45;">Hallo,</p>',
    );
    expect(web.html).toContain('href="https://kurier.example/abmelden"');
    expect(web.text).toContain('\nHallo,\n');
    expect(web.text).toContain('Abmelden: https://kurier.example/abmelden\n');
  });

  it('is plain JSON data that renders the same after a round trip through the cache', () => {
    const restored = JSON.parse(JSON.stringify(compiledSample)) as CompiledEmail;
    expect(restored).toEqual(compiledSample);
    expect(renderEmail(prepareEmail(restored), anna)).toEqual(
      renderEmail(prepareEmail(compiledSample), anna),
    );
  });

  it('is deterministic', async () => {
    expect(await compileEmail(sampleSite, sample, templates)).toEqual(compiledSample);
  });
});

describe('renderEmail', () => {
  const prepared = prepareEmail(compiledSample);

  it('puts the reader into greeting and unsubscribe link, HTML-escaped in the HTML and as is in the text', () => {
    const { html, text } = renderEmail(prepared, anna);
    expect(html).toContain('>Hallo Anna Müller,</p>');
    expect(html).toContain('href="https://kurier.example/abmelden?token&#x3D;t0k3n&amp;list&#x3D;1"');
    expect(text).toContain('\nHallo Anna Müller,\n');
    expect(text).toContain('Abmelden: https://kurier.example/abmelden?token=t0k3n&list=1\n');
  });

  it('shows hostile or template-like names as text', () => {
    const script = renderEmail(prepared, { ...anna, name: '<script>alert(1)</script>' });
    expect(script.html).toContain('Hallo &lt;script&gt;alert(1)&lt;/script&gt;,');
    expect(script.html).not.toContain('<script>');
    const braces = renderEmail(prepared, { ...anna, name: '{{x}} {{{y}}}' });
    expect(braces.html).toContain('Hallo {{x}} {{{y}}},');
    expect(braces.text).toContain('Hallo {{x}} {{{y}}},');
  });

  it('gives the bytes that a Handlebars template of its segments gives, for any reader', () => {
    const compiled: CompiledEmail = {
      ...compiledSample,
      readerFields: [...compiledSample.readerFields, 'fields.stadt'],
      html: [...compiledSample.html, { field: 'fields.stadt' }, '&amp; {{x}} ', { field: 'name' }, ''],
      text: [{ field: 'fields.stadt' }, ...compiledSample.text, { field: 'email' }],
    };
    const html = compileTemplateFromSegments(compiled.html);
    const text = compileTemplateFromSegments(compiled.text, { noEscape: true });
    const readers: Reader[] = [
      { ...anna, fields: { stadt: 'Bochum' } },
      { ...anna, name: '<b>"O\'Neil" & `Co` = {{x}}</b>', fields: { stadt: 'Köln <&> 😀' } },
      { ...anna, email: '', name: '', unsubscribeUrl: '', fields: { stadt: '' } },
    ];
    for (const reader of readers) {
      const values = planReaderValues(compiled, reader);
      expect(renderEmail(prepareEmail(compiled), reader)).toEqual({ html: html(values), text: text(values) });
    }
  });

  it('greets without a name when there is none, and flattens line breaks in names', () => {
    expect(renderEmail(prepared, { ...anna, name: '  ' }).text).toContain('\nHallo,\n');
    expect(renderEmail(prepared, { ...anna, name: 'Eve\r\nBcc: x@y' }).text).toContain(
      '\nHallo Eve Bcc: x@y,\n',
    );
  });
});

describe('article text that looks like a template', () => {
  const tricky = makeArticle({
    html: '<p>Schreiben Sie {{name}}, {{{x}}} oder }} und {{#if a}}.</p>\n<pre><code>{{&gt; partial}}</code></pre>\n',
    summary: 'Die Vorlage {{reader "email"}} bleibt Text.',
    summaryHtml: 'Die Vorlage {{reader &quot;email&quot;}} bleibt Text.',
  });

  it('reaches every reader unchanged, in HTML and text', async () => {
    const compiled = await compileEmail(makeSite(), tricky, templates);
    const { html, text } = renderEmail(prepareEmail(compiled), anna);
    expect(html).toContain('Schreiben Sie {{name}}, {{{x}}} oder }} und {{#if a}}.');
    expect(html).toContain('{{&gt; partial}}');
    expect(html).toContain('Die Vorlage {{reader &quot;email&quot;}} bleibt Text.');
    expect(text).toContain('Schreiben Sie {{name}}, {{{x}}} oder }} und {{#if a}}.');
    expect(text).toContain('    {{> partial}}');
    expect(text).toContain('Die Vorlage {{reader "email"}} bleibt Text.');
    expect(html).not.toContain('anna@example.org');
  });

  it('refuses the reserved field marker instead of leaking reader data', async () => {
    const error = await caught(
      compileEmail(makeSite(), makeArticle({ html: '<p>x __kurier_field_0__</p>' }), templates),
    );
    expect(error.code).toBe('EMAIL_INVALID');
    expect(error.file).toBe('content/posts/gruesse-aus-bochum.md');
  });
});

describe('settings and content variants', () => {
  it('sends only the lead and a "Weiterlesen" link when fullContent is false', async () => {
    const site = makeSite({ email: { ...makeSite().email, fullContent: false } });
    const web = renderWebVersion(await compileEmail(site, makeArticle(), templates));
    expect(web.html).toContain('href="https://kurier.example/gruesse-aus-bochum/"');
    expect(web.html).toContain('Weiterlesen →');
    expect(web.html).not.toContain('Als 2014 das letzte Auto');
    expect(web.text).toContain('Weiterlesen: https://kurier.example/gruesse-aus-bochum/\n');
    expect(web.text).not.toContain('Als 2014 das letzte Auto');
  });

  it('warns, naming the article, when the HTML is over the size budget', async () => {
    const site = makeSite({ email: { ...makeSite().email, sizeBudget: 5_000 } });
    const compiled = await compileEmail(site, makeArticle(), templates);
    expect(compiled.warnings).toHaveLength(1);
    expect(compiled.warnings[0]).toMatch(
      /^content\/posts\/gruesse-aus-bochum\.md: the email's HTML is \d+\.\d KB/,
    );
    expect(compiled.warnings[0]).toContain('Gmail');
  });

  it('picks its words by the publication language, falling back to English', async () => {
    for (const [language, expected] of [
      ['en', 'View in browser'],
      ['fr', 'View in browser'],
      ['de-AT', 'Im Browser ansehen'],
    ] as const) {
      const web = renderWebVersion(await compileEmail(makeSite({ language }), makeArticle(), templates));
      expect(web.html, language).toContain(expected);
    }
    const english = renderWebVersion(
      await compileEmail(makeSite({ language: 'en' }), makeArticle(), templates),
    );
    expect(english.html).toContain('>November 26, 2026</time>');
    expect(english.text).toContain('Unsubscribe: https://kurier.example/abmelden');
  });

  it('dates the article in the publication time zone', async () => {
    const lateEvening = makeArticle({ published: new Date('2026-11-25T23:30:00Z') });
    const berlin = renderWebVersion(await compileEmail(makeSite(), lateEvening, templates));
    expect(berlin.html).toContain('>26. November 2026</time>');
    const utc = renderWebVersion(await compileEmail(makeSite({ timeZone: 'UTC' }), lateEvening, templates));
    expect(utc.html).toContain('>25. November 2026</time>');
  });

  it('fits wide images into the column', async () => {
    const article = makeArticle({
      image: {
        url: 'https://kurier.example/foerderturm.jpg',
        alt: 'Förderturm',
        width: 1600,
        height: 900,
        type: 'image/jpeg',
      },
      html: '<p><img src="https://kurier.example/halle.png" width="1200" height="600"></p>',
    });
    const { html } = renderWebVersion(await compileEmail(makeSite(), article, templates));
    expect(html).toMatch(
      /<img[^>]*alt="Förderturm"[^>]*src="https:\/\/kurier\.example\/foerderturm\.jpg"[^>]*width="552"/,
    );
    expect(html).toMatch(
      /<img src="https:\/\/kurier\.example\/halle\.png" width="552" height="276" alt style="[^"]*max-width: 100%/,
    );
  });
});

describe('raw HTML in an article', () => {
  it('leaves out scripts, styles and embeds, and says so', async () => {
    const article = makeArticle({
      html: '<p>Vorher</p><iframe src="https://video.example/x"></iframe><script>alert(1)</script><p>Nachher',
    });
    const compiled = await compileEmail(makeSite(), article, templates);
    const { html } = renderWebVersion(compiled);
    expect(html).not.toMatch(/<iframe|<script/);
    expect(html).toContain('Nachher');
    expect(compiled.warnings).toEqual([
      'content/posts/gruesse-aus-bochum.md: the email leaves out <iframe>, <script>: the email and the feeds keep plain markup only (no scripts, styles, embeds, forms, event handlers, or links other than http, https and mailto). The web page keeps them.',
    ]);
  });

  it('refuses HTML that would break the layout around the article', async () => {
    for (const [html, problem] of [
      ['<p>a</p></div></td>', 'has a </div> without a matching <div>'],
      ['<div><p>offen', 'leaves <div> open'],
      ['<div><span>a</div></span>', 'closes </div> while <span> is still open'],
      ['<p>a <!-- offen</p>', 'has a comment that never ends'],
      ['<p>a</mj-text><mj-text>b</p>', 'contains the MJML tag </mj-text>'],
      ['<p title="a>b</div>">a</p></div>', 'has a </div> without a matching <div>'],
    ]) {
      const error = await caught(compileEmail(makeSite(), makeArticle({ html }), templates));
      expect(error.code, html).toBe('EMAIL_INVALID');
      expect(error.message, html).toContain(problem);
      expect(error.file).toBe('content/posts/gruesse-aus-bochum.md');
    }
  });

  it('reads tags and comments inside quoted attribute values as text', async () => {
    const html = '<p title="</div> <!-- a>b">a</p><!-- zu --><div data-x=">"><p>b</p></div>';
    await expect(compileEmail(makeSite(), makeArticle({ html }), templates)).resolves.toMatchObject({
      warnings: [],
    });
  });

  it('accepts end tags HTML lets authors leave out', async () => {
    const html = '<ul><li>eins<li>zwei</ul><table><tr><td>a<td>b</table><p>Absatz<br>ohne Ende';
    await expect(compileEmail(makeSite(), makeArticle({ html }), templates)).resolves.toMatchObject({
      warnings: [],
    });
  });
});

describe('template errors', () => {
  it('names the file and line of an unknown variable (strict Handlebars)', async () => {
    const broken = withHtmlTemplate((source) => source.replace('{{article.title}}', '{{artcle.title}}'));
    const error = await caught(compileEmail(makeSite(), makeArticle(), broken));
    expect(error.code).toBe('TEMPLATE_INVALID');
    expect(error.file).toBe('templates/email.mjml.hbs');
    expect(error.line).toBeGreaterThan(1);
  });

  it('names the template file and source line of an MJML error, not a line of the filled-in text', async () => {
    const card = '<mj-section background-color="#ffffff" css-class="k-card" padding="8px 0px 16px">';
    const broken = withHtmlTemplate((source) =>
      source.replace(card, card.replace('<mj-section', '<mj-section colour="red"')),
    );
    const expected = templates.html.source.split('\n').findIndex((line) => line.includes(card)) + 1;
    const error = await caught(compileEmail(makeSite(), makeArticle(), broken));
    expect(error.code).toBe('TEMPLATE_INVALID');
    expect(error.file).toBe('templates/email.mjml.hbs');
    expect(error.line).toBe(expected);
    expect(error.message).toContain(
      `templates/email.mjml.hbs:${expected} <mj-section>: Attribute colour is illegal`,
    );

    const footer = templates.partials.footer;
    if (footer === undefined) throw new Error('the sample has a footer partial');
    const footerLines = footer.source.split('\n');
    const at = footerLines.findIndex((line) => line.includes('<mj-text'));
    footerLines[at] = footerLines[at]?.replace('<mj-text', '<mj-text colour="red"') ?? '';
    const inPartial = await caught(
      compileEmail(makeSite(), makeArticle(), {
        ...templates,
        partials: { ...templates.partials, footer: { ...footer, source: footerLines.join('\n') } },
      }),
    );
    expect(inPartial.file).toBe('templates/email-partials/footer.hbs');
    expect(inPartial.line).toBe(at + 1);
  });

  it('rejects an unknown reader field and a reader field in a typed MJML attribute', async () => {
    const unknown = withHtmlTemplate((source) =>
      source.replace('>{{reader "greeting"}}<', '>{{reader "vorname"}}<'),
    );
    expect((await caught(compileEmail(makeSite(), makeArticle(), unknown))).message).toContain(
      'not a reader field',
    );
    const typed = withHtmlTemplate((source) =>
      source.replace('<mj-body background-color="#f3f1ec"', '<mj-body background-color="{{reader "name"}}"'),
    );
    const error = await caught(compileEmail(makeSite(), makeArticle(), typed));
    expect(error.code).toBe('TEMPLATE_INVALID');
    expect(error.message).toContain('MJML rejects the email');
  });

  it('rejects a remote stylesheet', async () => {
    const remote = withHtmlTemplate((source) =>
      source.replace(
        '</mj-head>',
        '<mj-raw><link rel="stylesheet" href="https://cdn.example/x.css"></mj-raw></mj-head>',
      ),
    );
    expect((await caught(compileEmail(makeSite(), makeArticle(), remote))).message).toContain(
      'remote stylesheet',
    );
  });

  it('fills extra list columns per reader and says which column is missing', async () => {
    const withCity = withHtmlTemplate((source) =>
      source.replace('>{{reader "greeting"}}<', '>{{reader "greeting"}} ({{reader "fields.stadt"}})<'),
    );
    const compiled = await compileEmail(makeSite(), makeArticle(), withCity);
    expect(compiled.readerFields).toEqual(['fields.stadt', 'greeting', 'unsubscribeUrl']);
    const prepared = prepareEmail(compiled);
    expect(renderEmail(prepared, { ...anna, fields: { stadt: 'Bochum & Herne' } }).html).toContain(
      'Hallo Anna Müller, (Bochum &amp; Herne)',
    );
    expect(renderWebVersion(compiled).html).toContain('>Hallo, ()</p>');
    const error = (() => {
      try {
        renderEmail(prepared, anna);
      } catch (reason) {
        return reason;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(KurierError);
    expect((error as KurierError).message).toContain('no column "stadt"');
  });
});

describe('readEmailTemplates', () => {
  it('reads the templates and partials by name and says which file is missing', async () => {
    expect(Object.keys(templates.partials).sort()).toEqual([
      'article-css',
      'font-sans',
      'footer',
      'head-css',
      'header',
      'preheader',
    ]);
    expect(templates.html.file).toBe('templates/email.mjml.hbs');
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kurier-email-'));
    try {
      await writeFile(path.join(dir, 'email.mjml.hbs'), '<mjml></mjml>');
      const error = await caught(readEmailTemplates(dir));
      expect(error.code).toBe('TEMPLATE_INVALID');
      expect(error.file).toBe('templates/email.txt.hbs');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
