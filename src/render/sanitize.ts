// Article HTML → HTML that is safe away from the site (the email, the feeds): one allowlist, applied by
// sanitize-html on htmlparser2, a real HTML parser (the one file that imports sanitize-html).

import sanitize from 'sanitize-html';
import { decodeHtmlEntities } from '../content/markdown.ts';

/** URL schemes a link or image may use in the email and the feeds; relative URLs stay as they are. */
const ALLOWED_SCHEMES: readonly string[] = ['http', 'https', 'mailto'];

// Structure, text semantics, tables, figures, images and code: what an article needs and every mail client
// and feed reader shows. No forms, embeds, scripts, styles or SVG (issue 7, defect 10).
const ALLOWED_TAGS = [
  'a',
  'abbr',
  'b',
  'blockquote',
  'br',
  'caption',
  'cite',
  'code',
  'col',
  'colgroup',
  'dd',
  'del',
  'dfn',
  'div',
  'dl',
  'dt',
  'em',
  'figcaption',
  'figure',
  'h1',
  'h2',
  'h3',
  'h4',
  'h5',
  'h6',
  'hr',
  'i',
  'img',
  'input',
  'ins',
  'kbd',
  'li',
  'mark',
  'ol',
  'p',
  'pre',
  'q',
  's',
  'samp',
  'small',
  'span',
  'strong',
  'sub',
  'sup',
  'table',
  'tbody',
  'td',
  'tfoot',
  'th',
  'thead',
  'time',
  'tr',
  'u',
  'ul',
  'var',
  'wbr',
];

// No `style`: CSS can load remote resources and once ran script (IE's expression()); the email's own
// styles are inlined by MJML after this step.
const ALLOWED_ATTRIBUTES: Record<string, string[]> = {
  '*': ['id', 'class', 'title', 'lang', 'dir'],
  a: ['href', 'name', 'target', 'rel'],
  img: ['src', 'alt', 'width', 'height'],
  blockquote: ['cite'],
  q: ['cite'],
  del: ['cite', 'datetime'],
  ins: ['cite', 'datetime'],
  time: ['datetime'],
  ol: ['start', 'reversed', 'type'],
  li: ['value'],
  td: ['align', 'colspan', 'rowspan'],
  th: ['align', 'colspan', 'rowspan', 'scope'],
  col: ['span'],
  colgroup: ['span'],
  // GFM task lists: marked writes <input checked="" disabled="" type="checkbox">.
  input: ['type', 'checked', 'disabled'],
};

// Elements whose content is not text for a reader: dropped with everything inside.
const DROPPED_WITH_CONTENT = [
  'script',
  'style',
  'textarea',
  'option',
  'noscript',
  'xmp',
  'template',
  'iframe',
  'object',
  'svg',
  'math',
];

const VOID = new Set([
  'area',
  'base',
  'br',
  'col',
  'embed',
  'hr',
  'img',
  'input',
  'link',
  'meta',
  'source',
  'track',
  'wbr',
]);
// End tags HTML lets authors omit; the parser closes them implicitly.
const OPTIONAL_END = new Set([
  'p',
  'li',
  'dt',
  'dd',
  'tr',
  'td',
  'th',
  'thead',
  'tbody',
  'tfoot',
  'caption',
  'colgroup',
  'option',
  'rt',
  'rp',
]);
const URL_ATTRIBUTES = new Set([
  'href',
  'src',
  'cite',
  'action',
  'formaction',
  'data',
  'poster',
  'background',
  'xlink:href',
]);

export interface SanitizeOptions {
  /** Rewrites an image's attributes (already without unsafe ones): the email fits images to its column. */
  readonly image?: (attributes: Readonly<Record<string, string>>) => Record<string, string>;
}

export interface SanitizedHtml {
  readonly html: string;
  /** What the allowlist removed, for a warning: ["<iframe>", "<script>", "javascript: URL", "onerror="]. */
  readonly removed: readonly string[];
  /** Structure the parser had to repair, as in "leaves <div> open"; empty for well-formed HTML. */
  readonly problems: readonly string[];
}

/**
 * Applies the allowlist. Attribute values are decoded by the parser before the scheme check, so
 * `jav&#x61;script:`, `JAVASCRIPT:` and a scheme split by whitespace or control characters are all caught.
 */
export function sanitizeArticleHtml(html: string, options: SanitizeOptions = {}): SanitizedHtml {
  const removed = new Set<string>();
  const problems: string[] = [];
  let pendingImplied: string | undefined;
  // Inside an element dropped with its content (an <svg> with its own XML rules) structure does not matter.
  let dropped = 0;
  const image = options.image;
  const output = sanitize(html, {
    allowedTags: ALLOWED_TAGS,
    allowedAttributes: ALLOWED_ATTRIBUTES,
    allowedSchemes: [...ALLOWED_SCHEMES],
    allowedSchemesByTag: {},
    allowProtocolRelative: true,
    disallowedTagsMode: 'discard',
    nonTextTags: DROPPED_WITH_CONTENT,
    parseStyleAttributes: false,
    // A checkbox is the only form control an article has (GFM task lists); anything else is a form. An image
    // whose source the allowlist removed would be an empty box as wide as its width attribute.
    exclusiveFilter: (frame) =>
      (frame.tag === 'input' && frame.attribs.type?.toLowerCase() !== 'checkbox') ||
      (frame.tag === 'img' && frame.attribs.src === undefined),
    ...(image === undefined
      ? {}
      : {
          transformTags: {
            img: (tagName: string, attribs: sanitize.Attributes) => ({
              tagName,
              attribs: image(safeAttributes(attribs)),
            }),
          },
        }),
    onOpenTag: (name, attribs) => {
      const droppedWithContent = DROPPED_WITH_CONTENT.includes(name);
      if (dropped > 0) {
        if (droppedWithContent) dropped += 1;
        return;
      }
      noteRemoved(name, attribs, removed);
      if (droppedWithContent) dropped += 1;
      else if (name === 'mjml' || name.startsWith('mj-')) problems.push(`contains the MJML tag <${name}>`);
    },
    onCloseTag: (name, isImplied) => {
      if (DROPPED_WITH_CONTENT.includes(name)) dropped -= 1;
      else if (dropped === 0 && !VOID.has(name)) {
        if (pendingImplied !== undefined && !isImplied) {
          problems.push(`closes </${name}> while <${pendingImplied}> is still open`);
          pendingImplied = undefined;
        }
        if (isImplied && !OPTIONAL_END.has(name) && pendingImplied === undefined) pendingImplied = name;
      }
    },
  });
  if (pendingImplied !== undefined) problems.push(`leaves <${pendingImplied}> open`);
  if (hasUnendedComment(html)) problems.push('has a comment that never ends (<!-- without -->)');
  return { html: output, removed: [...removed].sort(), problems };
}

/** Whether a URL may appear in the email or a feed: one of ALLOWED_SCHEMES, or relative. */
export function isAllowedUrl(url: string): boolean {
  // Browsers skip control characters and whitespace inside a scheme ("java\tscript:"), so the check does too.
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  const compact = decodeHtmlEntities(url).replace(/[\u0000-\u0020\u007f-\u009f\s]/gu, '');
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(compact)?.[1];
  return scheme === undefined || ALLOWED_SCHEMES.includes(scheme.toLowerCase());
}

function noteRemoved(name: string, attribs: Readonly<Record<string, string>>, removed: Set<string>): void {
  const formControl = name === 'input' && attribs.type?.toLowerCase() !== 'checkbox';
  if (!ALLOWED_TAGS.includes(name) || formControl) removed.add(`<${name}>`);
  for (const [attribute, value] of Object.entries(attribs)) {
    const lower = attribute.toLowerCase();
    if (lower.startsWith('on')) removed.add(`${lower}=`);
    else if (lower === 'style') removed.add('style=');
    else if (URL_ATTRIBUTES.has(lower) && !isAllowedUrl(value)) removed.add(`${urlScheme(value)}: URL`);
  }
}

function safeAttributes(attribs: Readonly<Record<string, string>>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(attribs).filter(([name, value]) => !URL_ATTRIBUTES.has(name) || isAllowedUrl(value)),
  );
}

function urlScheme(url: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  const compact = url.replace(/[\u0000-\u0020\u007f-\u009f\s]/gu, '');
  return /^([a-z][a-z0-9+.-]*):/i.exec(compact)?.[1]?.toLowerCase() ?? 'unsafe';
}

function hasUnendedComment(html: string): boolean {
  const start = html.lastIndexOf('<!--');
  return start !== -1 && !html.includes('-->', start + 4);
}
