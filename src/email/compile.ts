// Article → CompiledEmail: Handlebars fills in the article, MJML compiles once, and the HTML and text are cut
// into static text and reader fields, ready for thousands of cheap per-reader renders. The one mjml importer.

import { lexMarkdown } from '../content/markdown.ts';
import { KurierError } from '../error.ts';
import type { Article, Site } from '../model.ts';
import { compileTemplate, type Segment, type TemplateHelper } from '../render/handlebars.ts';
import { formatDate, joinNames, planStrings, type Strings } from '../render/strings.ts';
import { CONTENT_WIDTH, planEmailArticleHtml } from './article-html.ts';
import type { EmailTemplates } from './read-templates.ts';
import { EXTRA_FIELD_PREFIX, planWebReader, prepareEmail, READER_FIELDS, renderEmail } from './render.ts';
import { renderTextBody, underline, wrapText } from './text.ts';

/**
 * Starts loading MJML (~0.4 s) ahead of the first compile, so that an email thread loads it while the
 * build parses the articles.
 */
export function preloadMjml(): void {
  import('mjml').catch(() => undefined);
}

export interface CompiledEmail {
  readonly articleId: string;
  /** The article's source file, for messages. */
  readonly sourcePath: string;
  readonly subject: string;
  /** BCP 47 tag of the article, for Content-Language. */
  readonly lang: string;
  /** The HTML after MJML, as static text and reader fields. */
  readonly html: readonly Segment[];
  readonly text: readonly Segment[];
  /** Every reader field the templates use, e.g. ["greeting", "unsubscribeUrl", "fields.city"]. */
  readonly readerFields: readonly string[];
  readonly greeting: { readonly named: readonly [string, string]; readonly anonymous: string };
  /** The generic unsubscribe page, for the web version. */
  readonly webUnsubscribeUrl: string;
  /** Bytes of the web version's HTML (UTF-8). */
  readonly htmlBytes: number;
  readonly warnings: readonly string[];
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

export async function compileEmail(
  site: Site,
  article: Article,
  templates: EmailTemplates,
): Promise<CompiledEmail> {
  const strings = planStrings(site.language);
  const body = planEmailArticleHtml(article.html, article.sourcePath);
  const data = planTemplateData(site, article, strings, body.html);
  checkNoMarker(article, data, templates);

  const partials = Object.fromEntries(
    Object.entries(templates.partials).map(([name, { source }]) => [name, source]),
  );
  const htmlFields = fieldRecorder(templates.html.file);
  const mjml = compileTemplate(templates.html.source, {
    file: templates.html.file,
    partials,
    helpers: { reader: htmlFields.helper },
  })(data);
  const html = await renderMjml(mjml, templates.html.file);
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
  if (body.leftOut.length > 0) {
    warnings.push(
      `${article.sourcePath}: the email leaves out ${body.leftOut.map((name) => `<${name}>`).join(', ')}: mail clients remove scripts, styles, embeds and forms. The web page keeps them.`,
    );
  }
  if (htmlBytes > site.email.sizeBudget) {
    warnings.push(
      `${article.sourcePath}: the email's HTML is ${formatKb(htmlBytes)}, over the budget of ${formatKb(site.email.sizeBudget)}; Gmail cuts off larger messages at "[Message clipped]", hiding the footer with the unsubscribe link. Shorten the article or set email.fullContent: false.`,
    );
  }
  return { ...withoutSize, htmlBytes, warnings };
}

/** The templates' data; `articleHtml` is the body as planEmailArticleHtml made it. */
export function planTemplateData(
  site: Site,
  article: Article,
  strings: Strings,
  articleHtml: string,
): EmailTemplateData {
  const plain = renderTextBody(lexMarkdown(article.markdown, article.url), { imageLabel: strings.image });
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
      summaryHtml: article.summaryHtml,
      authors,
      date: formatDate(article.published, site.timeZone, strings),
      dateIso: article.published.toISOString(),
      image:
        image === undefined
          ? null
          : { url: image.url, alt: image.alt, width: Math.min(image.width ?? CONTENT_WIDTH, CONTENT_WIDTH) },
      fullContent: site.email.fullContent,
      html: articleHtml,
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

async function renderMjml(source: string, file: string): Promise<string> {
  // Loaded on first use: MJML takes ~0.4 s to import, and a build whose emails all come from the cache
  // never needs it.
  const { default: mjml2html } = await import('mjml');
  try {
    // `fonts: {}`: MJML otherwise links Google Fonts for the font names it knows, a request to Google on every
    // open. No minify: mjml 5.4.1's minifier needs cssnano 8, which does not run on Node 20. The juice options
    // keep an image's numeric height attribute (Outlook sizes by it) instead of copying "auto" from the CSS.
    const result = await mjml2html(source, {
      validationLevel: 'strict',
      fonts: {},
      beautify: false,
      minify: false,
      keepComments: false,
      juiceOptions: { applyHeightAttributes: false, applyWidthAttributes: false },
    });
    return result.html;
  } catch (error) {
    const details = (error as { errors?: { formattedMessage?: string; message?: string }[] }).errors;
    const message =
      details === undefined
        ? (error as Error).message
        : details
            .slice(0, 5)
            .map((detail) => detail.formattedMessage ?? detail.message)
            .join('; ');
    throw new KurierError(
      'TEMPLATE_INVALID',
      `MJML rejects the email (strict validation): ${message}. Line numbers count in the filled-in template.`,
      { file, cause: error },
    );
  }
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
