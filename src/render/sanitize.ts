// Article HTML → HTML that is safe away from the site (the email, the feeds): one allowlist, applied by
// sanitize-html on htmlparser2, a real HTML parser (the one file that imports sanitize-html).

import sanitize from 'sanitize-html';

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
}

/**
 * Applies the allowlist. Attribute values are decoded by the parser before the scheme check, so
 * `jav&#x61;script:`, `JAVASCRIPT:` and a scheme split by whitespace or control characters are all caught.
 */
export function sanitizeArticleHtml(html: string, options: SanitizeOptions = {}): SanitizedHtml {
  const removed = new Set<string>();
  // Inside an element dropped with its content nothing is removed on its own: the warning names the element.
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
      if (dropped === 0) noteRemoved(name, attribs, removed);
      if (DROPPED_WITH_CONTENT.includes(name)) dropped += 1;
    },
    onCloseTag: (name) => {
      if (DROPPED_WITH_CONTENT.includes(name)) dropped -= 1;
    },
  });
  return { html: output, removed: [...removed].sort() };
}

/**
 * Whether a URL may appear in the email or a feed: one of ALLOWED_SCHEMES, or relative. `url` is an attribute
 * value as the parser read it, character references already decoded.
 */
export function isAllowedUrl(url: string): boolean {
  const scheme = urlScheme(url);
  return scheme === undefined || ALLOWED_SCHEMES.includes(scheme);
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

/** The scheme in lower case, read as a browser does: control characters and whitespace inside it are skipped. */
function urlScheme(url: string): string | undefined {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
  const compact = url.replace(/[\u0000-\u0020\u007f-\u009f\s]/gu, '');
  return /^([a-z][a-z0-9+.-]*):/i.exec(compact)?.[1]?.toLowerCase();
}
