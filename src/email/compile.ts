// Article → CompiledEmail: Handlebars fills in the article, MJML compiles once, and the HTML and text are cut
// into static text and reader fields, ready for thousands of cheap per-reader renders. The one mjml importer.

import { fileURLToPath } from 'node:url';
import { type CodeCacheState, readCachedModule } from '../code-cache.ts';
import { KurierError } from '../error.ts';
import type { Article, Site } from '../model.ts';
import { compileTemplate, type Segment, type TemplateHelper } from '../render/handlebars.ts';
import { formatDate, joinNames, planStrings, type Strings } from '../render/strings.ts';
import { CONTENT_WIDTH, planEmailArticleHtml } from './article-html.ts';
import { type CompiledEmail, EXTRA_FIELD_PREFIX, READER_FIELDS } from './model.ts';
import type { EmailTemplates, TemplateSource } from './read-templates.ts';
import { planWebReader, prepareEmail, renderEmail } from './render.ts';
import { findSourceLine } from './template-lines.ts';
import { renderTextBody, underline, wrapText } from './text.ts';

/** MJML's compile function, and what to do after it has compiled an email. */
export interface Mjml {
  readonly mjml2html: typeof import('mjml');
  /** Called after each successful compile: the first one writes the bundle's code cache, if it needs one. */
  readonly compiled: () => void;
  /** How the bundle loaded; undefined for MJML from node_modules. */
  readonly codeCache?: CodeCacheState;
}

/**
 * MJML from the one-file bundle that bin/kurier.js writes (bin/packages.js), with its V8 code cache
 * beside it: loading the bundle from its cache takes less than half of `import('mjml')`'s 640 modules.
 */
export function readBundledMjml(bundleFile: string): Mjml {
  const loaded = readCachedModule(bundleFile, `${bundleFile}.v8cache`);
  if (typeof loaded.exports !== 'function') throw new Error(`${bundleFile} does not export mjml2html`);
  const mjml2html = loaded.exports as Mjml['mjml2html'];
  return { mjml2html, compiled: loaded.writeCodeCache, codeCache: loaded.codeCache };
}

let loading: Promise<Mjml> | undefined;

/**
 * MJML, loaded on first use: a build whose emails all come from the cache never needs it. Run from the
 * bundle (bin/kurier.js), this module sits beside the MJML bundle; run from the sources (tests, tsx), it
 * imports the package.
 */
export function loadMjml(): Promise<Mjml> {
  loading ??= import.meta.url.endsWith('.ts')
    ? import('mjml').then(({ default: mjml2html }) => ({ mjml2html, compiled: () => undefined }))
    : Promise.resolve().then(() => readBundledMjml(fileURLToPath(new URL('./mjml.cjs', import.meta.url))));
  return loading;
}

/** Starts loading MJML ahead of the first compile, so that an email thread loads it while the build parses. */
export function preloadMjml(): void {
  loadMjml().catch(() => undefined);
}

/** What the templates see. Everything is plain data; reader fields come only from the `reader` helper. */
export interface EmailTemplateData {
  readonly lang: string;
  readonly strings: {
    readonly by: string;
    readonly readMore: string;
    readonly viewInBrowser: string;
    readonly unsubscribe: string;
    readonly links: string;
  };
  readonly site: { readonly title: string; readonly subtitle: string | null; readonly url: string };
  readonly article: {
    readonly title: string;
    readonly url: string;
    readonly summary: string;
    readonly summaryHtml: string;
    /** "Anna, Ben und Cleo". */
    readonly authors: string;
    /** "26. November 2026". */
    readonly date: string;
    readonly dateIso: string;
    readonly image: { readonly url: string; readonly alt: string; readonly width: number } | null;
    readonly fullContent: boolean;
    /** The body as email-ready HTML. */
    readonly html: string;
    /** The body as wrapped plain text with " [n]" link marks. */
    readonly text: string;
    /** "[1] https://…" for each link mark. */
    readonly links: readonly string[];
  };
  readonly email: {
    readonly webVersionUrl: string;
    readonly reason: string;
    readonly imprint: readonly string[];
    readonly preheader: string;
    /** Invisible characters after the preheader (HTML), so clients do not append body text to the snippet. */
    readonly preheaderFiller: string;
  };
}

// Stands in for a reader field between the Handlebars pass and the split after MJML. Plain ASCII word
// characters, so neither HTML escaping, MJML nor juice's inliner can alter it, in text or in href="…".
const MARKER_PREFIX = '__kurier_field_';
const MARKER = /__kurier_field_(\d+)__/g;

// Gmail shows up to about 140 characters of snippet; pad shorter summaries with invisible characters.
const SNIPPET_LENGTH = 140;
const PREHEADER_FILLER = '&#847;&zwnj;&nbsp;';

/** The code of the error that bin/packages.js's stubs throw. */
const LEFT_OUT_CODE = 'KURIER_MJML_LEFT_OUT';

export async function compileEmail(
  site: Site,
  article: Article,
  templates: EmailTemplates,
  mjml: Promise<Mjml> = loadMjml(),
): Promise<CompiledEmail> {
  const strings = planStrings(site.language);
  // The lead and the body are the author's HTML: both pass the allowlist before they reach the template.
  const lead = planEmailArticleHtml(article.summaryHtml, article.sourcePath);
  const body = planEmailArticleHtml(article.html, article.sourcePath);
  const data = planTemplateData(site, article, strings, { lead: lead.html, body: body.html });
  checkNoMarker(article, data, templates);

  const partials = Object.fromEntries(
    Object.entries(templates.partials).map(([name, { source }]) => [name, source]),
  );
  const htmlFields = fieldRecorder(templates.html.file);
  const filled = compileTemplate(templates.html.source, {
    file: templates.html.file,
    partials,
    helpers: { reader: htmlFields.helper },
  })(data);
  const html = await renderMjml(filled, [templates.html, ...Object.values(templates.partials)], mjml);
  checkSelfContained(html, templates.html.file);

  const textFields = fieldRecorder(templates.text.file);
  const text = compileTemplate(templates.text.source, {
    file: templates.text.file,
    noEscape: true,
    partials,
    helpers: {
      reader: textFields.helper,
      wrap: ((value: unknown) => wrapText(String(value ?? '')).join('\n')) as TemplateHelper,
      underline: ((value: unknown, rule: unknown) =>
        underline(String(value ?? ''), typeof rule === 'string' ? rule : '=')) as TemplateHelper,
    },
  })(data);

  const htmlSegments = splitSegments(html, htmlFields, templates.html.file);
  const textSegments = splitSegments(tidyText(text), textFields, templates.text.file);
  const readerFields = [...new Set([...htmlFields.fields, ...textFields.fields])].sort();

  const withoutSize = {
    articleId: article.id,
    sourcePath: article.sourcePath,
    subject: article.title,
    lang: article.lang,
    html: htmlSegments,
    text: textSegments,
    readerFields,
    greeting: { named: strings.greetingNamed, anonymous: strings.greetingAnonymous },
    webUnsubscribeUrl: site.email.unsubscribeUrl,
    htmlBytes: 0,
    warnings: [],
  } satisfies CompiledEmail;
  const webHtml = renderEmail(prepareEmail(withoutSize), planWebReader(withoutSize)).html;
  const htmlBytes = Buffer.byteLength(webHtml, 'utf8');
  const warnings: string[] = [];
  const leftOut = [...new Set([...lead.leftOut, ...body.leftOut])].sort();
  if (leftOut.length > 0) {
    warnings.push(
      `${article.sourcePath}: the email leaves out ${leftOut.join(', ')}: the email and the feeds keep plain markup only (no scripts, styles, embeds, forms, event handlers, or links other than http, https and mailto). The web page keeps them.`,
    );
  }
  if (htmlBytes > site.email.sizeBudget) {
    warnings.push(
      `${article.sourcePath}: the email's HTML is ${formatKb(htmlBytes)}, over the budget of ${formatKb(site.email.sizeBudget)}; Gmail cuts off larger messages at "[Message clipped]", hiding the footer with the unsubscribe link. Shorten the article or set email.fullContent: false.`,
    );
  }
  return { ...withoutSize, htmlBytes, warnings };
}

/** The templates' data; `html` holds the lead and the body as planEmailArticleHtml made them. */
export function planTemplateData(
  site: Site,
  article: Article,
  strings: Strings,
  html: { readonly lead: string; readonly body: string },
): EmailTemplateData {
  const plain = renderTextBody(html.body, { imageLabel: strings.image });
  const authors = joinNames(
    article.authors.map((author) => author.name),
    strings,
  );
  const image = article.image;
  return {
    lang: article.lang,
    strings: {
      by: strings.by,
      readMore: strings.readMore,
      viewInBrowser: strings.viewInBrowser,
      unsubscribe: strings.unsubscribe,
      links: strings.links,
    },
    site: { title: site.title, subtitle: site.subtitle ?? null, url: site.baseUrl },
    article: {
      title: article.title,
      url: article.url,
      summary: article.summary,
      summaryHtml: html.lead,
      authors,
      date: formatDate(article.published, site.timeZone, strings),
      dateIso: article.published.toISOString(),
      image:
        image === undefined
          ? null
          : { url: image.url, alt: image.alt, width: Math.min(image.width ?? CONTENT_WIDTH, CONTENT_WIDTH) },
      fullContent: site.email.fullContent,
      html: html.body,
      text: plain.body,
      links: plain.references,
    },
    email: {
      webVersionUrl: `${article.url}email.html`,
      reason: site.email.reason,
      imprint: site.email.imprint,
      preheader: article.summary,
      preheaderFiller: PREHEADER_FILLER.repeat(Math.max(0, SNIPPET_LENGTH - [...article.summary].length)),
    },
  };
}

interface FieldRecorder {
  /** Field names in the order of their first use; a marker's number indexes this list. */
  readonly fields: string[];
  /** How many markers the template wrote: each must come out of MJML again. */
  readonly calls: () => number;
  readonly helper: TemplateHelper;
}

function fieldRecorder(file: string): FieldRecorder {
  const fields: string[] = [];
  let calls = 0;
  const helper = (field: unknown) => {
    const name = typeof field === 'string' ? field : '';
    const known = (READER_FIELDS as readonly string[]).includes(name);
    if (!known && !(name.startsWith(EXTRA_FIELD_PREFIX) && name.length > EXTRA_FIELD_PREFIX.length)) {
      throw new KurierError(
        'TEMPLATE_INVALID',
        `{{reader ${JSON.stringify(field)}}} is not a reader field; use one of ${READER_FIELDS.join(', ')} or "fields.<column>" for a column of the subscriber list.`,
        { file },
      );
    }
    let index = fields.indexOf(name);
    if (index === -1) index = fields.push(name) - 1;
    calls += 1;
    return `${MARKER_PREFIX}${index}__`;
  };
  return { fields, calls: () => calls, helper: helper as TemplateHelper };
}

function splitSegments(output: string, recorder: FieldRecorder, file: string): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  let found = 0;
  for (const match of output.matchAll(MARKER)) {
    const field = recorder.fields[Number(match[1])];
    if (field === undefined) continue;
    if (match.index > last) segments.push(output.slice(last, match.index));
    segments.push({ field });
    last = match.index + match[0].length;
    found += 1;
  }
  if (last < output.length) segments.push(output.slice(last));
  if (found !== recorder.calls()) {
    throw new KurierError(
      'TEMPLATE_INVALID',
      `${recorder.calls() - found} of the template's {{reader …}} fields did not survive MJML; use reader fields only in text and in href="…", not in MJML attributes such as background-color or width.`,
      { file },
    );
  }
  return segments;
}

function checkNoMarker(article: Article, data: EmailTemplateData, templates: EmailTemplates): void {
  if (JSON.stringify(data).includes(MARKER_PREFIX) || JSON.stringify(templates).includes(MARKER_PREFIX)) {
    throw new KurierError(
      'EMAIL_INVALID',
      `the text "${MARKER_PREFIX}" is reserved for reader fields in the email; remove it from the article, its settings or the email templates.`,
      { file: article.sourcePath },
    );
  }
}

/** `templates`: the HTML template first, then its partials, to find the source line of an MJML error. */
export async function renderMjml(
  source: string,
  templates: readonly TemplateSource[],
  mjml: Promise<Mjml> = loadMjml(),
): Promise<string> {
  const file = templates[0]?.file ?? '';
  const { mjml2html, compiled } = await mjml;
  try {
    // `fonts: {}`: MJML otherwise links Google Fonts for the font names it knows, a request to Google on every
    // open. No minify: mjml 5.4.1's minifier needs cssnano 8, which does not run on Node 20. The juice options
    // keep an image's numeric height attribute (Outlook sizes by it) instead of copying "auto" from the CSS.
    // bin/packages.js leaves out the packages that only other options use: keep the two in step.
    const result = await mjml2html(source, {
      validationLevel: 'strict',
      fonts: {},
      beautify: false,
      minify: false,
      keepComments: false,
      juiceOptions: { applyHeightAttributes: false, applyWidthAttributes: false },
    });
    compiled();
    return result.html;
  } catch (error) {
    // A package left out of the MJML bundle was called after all: a bug of the bundle, not of the template.
    if ((error as { code?: unknown }).code === LEFT_OUT_CODE) throw error;
    const details = (error as { errors?: MjmlError[] }).errors;
    if (details === undefined || details.length === 0) {
      throw new KurierError('TEMPLATE_INVALID', `MJML rejects the email: ${(error as Error).message}`, {
        file,
        cause: error,
      });
    }
    const located = details.map((detail) => ({
      detail,
      place: detail.line === undefined ? undefined : findSourceLine(source, detail.line, templates),
    }));
    const first = located[0]?.place;
    const message = located
      .slice(0, 5)
      .map(({ detail, place }) => {
        const where =
          place === undefined
            ? `line ${detail.line ?? '?'} of the filled-in template`
            : `${place.file}:${place.line}`;
        return `${where} <${detail.tagName ?? '?'}>: ${detail.message ?? 'invalid'}`;
      })
      .join('; ');
    throw new KurierError(
      'TEMPLATE_INVALID',
      `MJML rejects the email (strict validation): ${message}. Fix the template.`,
      {
        file: first?.file ?? file,
        ...(first === undefined ? {} : { line: first.line }),
        cause: error,
      },
    );
  }
}

/** One entry of a mjml ValidationError's `errors`: the line counts in MJML's input. */
interface MjmlError {
  readonly line?: number;
  readonly tagName?: string;
  readonly message?: string;
}

/** Remote CSS is blocked by most clients and leaks each open to a third party: the template must not have it. */
function checkSelfContained(html: string, file: string): void {
  const head = html.slice(0, html.search(/<body\b/i));
  if (/<link\b/i.test(head) || /@import\b/i.test(head) || /fonts\.googleapis/i.test(html)) {
    throw new KurierError(
      'TEMPLATE_INVALID',
      'the email loads a remote stylesheet or font (<link>, @import, Google Fonts); mail clients block them: use a system font stack and <mj-style>.',
      { file },
    );
  }
}

/** Template whitespace → tidy text: no trailing spaces (except the "-- " signature line), one blank line at most. */
function tidyText(text: string): string {
  return `${text
    .replace(/\r\n?/g, '\n')
    .split('\n')
    .map((line) => (line === '-- ' ? line : line.trimEnd()))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim()}\n`;
}

function formatKb(bytes: number): string {
  return `${(bytes / 1000).toFixed(1)} KB`;
}
