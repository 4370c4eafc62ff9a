// Markdown → HTML for articles: heading anchors, every relative link and image made absolute, text untouched.

import { decodeHTML } from 'entities';
import { Lexer, type MarkedOptions, Parser, Renderer, type Token, Tokenizer, type Tokens } from 'marked';
import { slugify } from './slug.ts';
import { dropControls, normalizeText } from './text.ts';

/** A heading token after `lexMarkdown`: it carries the anchor id its HTML gets. */
export type AnchoredHeading = Tokens.Heading & { readonly id: string };

class AnchorRenderer extends Renderer {
  override heading(token: Tokens.Heading): string {
    const id = (token as Partial<AnchoredHeading>).id ?? slugify(token.text);
    return `<h${token.depth} id="${id}">${this.parser.parseInline(token.tokens)}</h${token.depth}>\n`;
  }
}

// marked's GFM inline text rule (marked 18, gfm without breaks), as the fast scanner below reads it. On prose its
// lazy `[\s\S]*?` tries a dozen lookaheads at every character (one of them runs to the end of the word
// looking for an "@"): a quarter of a first build's CPU. Any other rule is left to marked.
const GFM_TEXT_RULE =
  "^(?:[^a-zA-Z0-9](?=(?:mailto|xmpp):)|(`+|~+|[^`~])(?:(?=[`~])|(?= {2,}\\n)|(?=[a-zA-Z0-9.!#$%&'*+\\/=?_`{\\|}~-]+@)|[\\s\\S]*?(?:(?=[\\\\<!\\[`*~_]|\\b_|[hH][tT][tT][pP][sS]?|[fF][tT][pP]:\\/\\/|(?<![^\\s*_~(])www\\.|$)|[^ ](?= {2,}\\n)|[^a-zA-Z0-9](?=(?:mailto|xmpp):)|[^a-zA-Z0-9.!#$%&'*+\\/=?_`{\\|}~-](?=[a-zA-Z0-9.!#$%&'*+\\/=?_`{\\|}~-]+@))))";

// What the scanner asks of an ASCII character, as bits; every other code unit is NOT_ALPHANUMERIC | NOT_EMAIL.
/** `[\\<!\[`*~_]`: another inline rule (escape, tag, link, code, emphasis, strike-through) may start here. */
const INLINE_START = 1;
/**
 * The last character of what else ends the text before it: "http" ("p"), "www." ("."), "ftp:", "mailto:"
 * and "xmpp:" (":"), a hard break's spaces ("\n"), an address's local part ("@"). These are rare in prose,
 * unlike their first characters (h, w, m, space), so the scanner passes over most text at one table look-up
 * per character and looks back from here.
 */
const LAST = 2;
/** `[^a-zA-Z0-9]`. */
const NOT_ALPHANUMERIC = 4;
/** `[^a-zA-Z0-9.!#$%&'*+\/=?_`{|}~-]`: not a character of an e-mail address's local part. */
const NOT_EMAIL = 8;
const ASCII = new Uint8Array(128).map((_, code) => {
  const character = String.fromCharCode(code);
  const alphanumeric = /[a-zA-Z0-9]/.test(character);
  return (
    ('\\<![`*~_'.includes(character) ? INLINE_START : 0) |
    ('pP.:\n@'.includes(character) ? LAST : 0) |
    (alphanumeric ? 0 : NOT_ALPHANUMERIC) |
    (alphanumeric || ".!#$%&'*+/=?_`{|}~-".includes(character) ? 0 : NOT_EMAIL)
  );
});
const OTHER = NOT_ALPHANUMERIC | NOT_EMAIL;
const BACKTICK = 0x60;
const TILDE = 0x7e;
const SPACE = 0x20;
const AT_SIGN = 0x40;
/** `[\s*_~(]`: the characters after which "www." starts an autolink (\s as JavaScript reads it). */
const WWW_BEFORE = /[\s*_~(]/;
const WHITESPACE_ONLY = /^\s*$/;

/**
 * Where marked's GFM text rule (GFM_TEXT_RULE) ends its match on `src`, found in one pass. The rule takes
 * the first character (or run of backticks or tildes), then lets its lazy `[\s\S]*?` stop at the first place
 * where one of its lookaheads holds. Here each lookahead is recognised at its last character and the place
 * is worked out backwards; no lookahead's text holds the last character of another's (only an address's
 * local part can hold "*", "_" …, which `emailBefore` covers), so the first one recognised is the first
 * place. 0 for an empty `src`.
 */
export function gfmTextEnd(src: string): number {
  const length = src.length;
  if (length === 0) return 0;
  const first = src.charCodeAt(0);
  if (kindOf(first) & NOT_ALPHANUMERIC && isChatProtocolAt(src, 1)) return 1;
  let start = 1;
  if (first === BACKTICK || first === TILDE) {
    while (start < length && src.charCodeAt(start) === first) start++;
  }
  if (start < length) {
    const next = src.charCodeAt(start);
    if (next === BACKTICK || next === TILDE || isHardBreakAt(src, start) || isEmailLocalPartAt(src, start)) {
      return start;
    }
  }
  for (let at = start; at < length; at++) {
    const code = src.charCodeAt(at);
    if (code >= 128) continue;
    const kind = ASCII[code] as number;
    if (kind & INLINE_START) return emailBefore(src, at, start) ?? at;
    if ((kind & LAST) === 0) continue;
    const end = textEndAt(src, at, code, start);
    if (end !== undefined) return end;
  }
  return length;
}

/** The end of the text if the lookahead that ends with `src[at]` holds. */
function textEndAt(src: string, at: number, code: number, start: number): number | undefined {
  switch (code) {
    case 0x70: // `[hH][tT][tT][pP]`: marked's rule stops before any "http", with or without "://" after it.
    case 0x50: {
      const from = at - 3;
      const http =
        from >= start &&
        (src.charCodeAt(from) | 0x20) === 0x68 &&
        (src.charCodeAt(from + 1) | 0x20) === 0x74 &&
        (src.charCodeAt(from + 2) | 0x20) === 0x74;
      return http ? (emailBefore(src, from, start) ?? from) : undefined;
    }
    case 0x2e: {
      // `(?<![^\s*_~(])www\.`
      const from = at - 3;
      const www = from >= start && src.startsWith('www', from) && WWW_BEFORE.test(src.charAt(from - 1));
      return www ? (emailBefore(src, from, start) ?? from) : undefined;
    }
    case 0x3a: {
      // `[fF][tT][pP]:\/\/`, and `[^a-zA-Z0-9](?=(?:mailto|xmpp):)` one character before the protocol.
      const ftp =
        at - 3 >= start &&
        (src.charCodeAt(at - 3) | 0x20) === 0x66 &&
        (src.charCodeAt(at - 2) | 0x20) === 0x74 &&
        (src.charCodeAt(at - 1) | 0x20) === 0x70 &&
        src.startsWith('//', at + 1);
      if (ftp) return emailBefore(src, at - 3, start) ?? at - 3;
      for (const protocol of ['mailto', 'xmpp']) {
        const from = at - protocol.length;
        if (
          from - 1 >= start &&
          src.startsWith(protocol, from) &&
          kindOf(src.charCodeAt(from - 1)) & NOT_ALPHANUMERIC
        ) {
          return from;
        }
      }
      return undefined;
    }
    case 0x0a: {
      // `[^ ](?= {2,}\n)`
      let spaces = at;
      while (spaces > start && src.charCodeAt(spaces - 1) === SPACE) spaces--;
      return spaces > start && at - spaces >= 2 ? spaces : undefined;
    }
    default: {
      // "@": `[^a-zA-Z0-9.!#$%&'*+\/=?_`{|}~-](?=[a-zA-Z0-9.!#$%&'*+\/=?_`{|}~-]+@)` before the local part,
      // which does not start at `start` (the rule's earlier alternative took that).
      let local = at;
      while (local > start && (kindOf(src.charCodeAt(local - 1)) & NOT_EMAIL) === 0) local--;
      return local < at ? local : undefined;
    }
  }
}

/**
 * The end the rule's address lookahead gives when a stop at `stop` lies inside a local part that runs on to
 * an "@" ("vor x*y@z.de" ends before the "x"). That local part starts after `start`: one that starts at
 * `start` was ruled out before the scan.
 */
function emailBefore(src: string, stop: number, start: number): number | undefined {
  if (kindOf(src.charCodeAt(stop)) & NOT_EMAIL) return undefined;
  let local = stop;
  while (local > start && (kindOf(src.charCodeAt(local - 1)) & NOT_EMAIL) === 0) local--;
  let end = stop + 1;
  while (end < src.length && (kindOf(src.charCodeAt(end)) & NOT_EMAIL) === 0) end++;
  return src.charCodeAt(end) === AT_SIGN ? local : undefined;
}

function kindOf(code: number): number {
  return code < 128 ? (ASCII[code] as number) : OTHER;
}

/** `(?= {2,}\n)`. */
function isHardBreakAt(src: string, at: number): boolean {
  if (src.charCodeAt(at) !== SPACE || src.charCodeAt(at + 1) !== SPACE) return false;
  let end = at + 2;
  while (src.charCodeAt(end) === SPACE) end++;
  return src.charCodeAt(end) === 0x0a;
}

/** `(?=[a-zA-Z0-9.!#$%&'*+\/=?_`{|}~-]+@)`. */
function isEmailLocalPartAt(src: string, at: number): boolean {
  let end = at;
  while (end < src.length && (kindOf(src.charCodeAt(end)) & NOT_EMAIL) === 0) end++;
  return end > at && src.charCodeAt(end) === AT_SIGN;
}

/** `(?=(?:mailto|xmpp):)`. */
function isChatProtocolAt(src: string, at: number): boolean {
  return src.startsWith('mailto:', at) || src.startsWith('xmpp:', at);
}

// How marked's GFM table rule (marked 18) begins: a header line, then a delimiter row, whose first character
// after at most three spaces is "|", ":" or "-". marked tries it on every block, and on a long paragraph its
// `.*` walks the whole line back before failing.
const GFM_TABLE_RULE_START = '^ *([^\\n ].*)\\n {0,3}((?:\\| *)?:?-+';

// How marked's setext heading rule (marked 18, GFM) ends: lines that no blank line separates, then an
// underline of at most three spaces and "=" or "-". marked tries it on every block, with a lazy match that
// tries a dozen lookaheads at every line break and the underline at every character.
const GFM_LHEADING_RULE_END = '))+?)\\n {0,3}(=+|-+)[ \\t]*(?:\\n+|$)';

/**
 * marked's tokenizer with the GFM text rule replaced by `gfmTextEnd`, and the table and setext heading
 * rules tried only where a line before the first blank one can be a delimiter row or an underline. A text
 * with "&" (a numeric character reference marked decodes) and other rules than these go to marked itself.
 */
export class GfmTextTokenizer extends Tokenizer {
  /** The rule objects last found to be these rules: marked keeps one per set of options. */
  #checkedText: RegExp | undefined;
  #checkedTable: RegExp | undefined;
  #checkedLheading: RegExp | undefined;

  override inlineText(src: string): Tokens.Text | undefined {
    const rule = this.rules.inline.text;
    if (rule !== this.#checkedText) {
      if (rule.source !== GFM_TEXT_RULE || rule.flags !== '') return super.inlineText(src);
      this.#checkedText = rule;
    }
    if (src === '') return super.inlineText(src);
    const raw = src.slice(0, gfmTextEnd(src));
    const escaped = this.lexer.state.inRawBlock;
    if (!escaped && raw.includes('&')) return super.inlineText(src);
    return { type: 'text', raw, text: raw, escaped };
  }

  override table(src: string): Tokens.Table | undefined {
    const rule = this.rules.block.table;
    if (rule !== this.#checkedTable) {
      if (!rule.source.startsWith(GFM_TABLE_RULE_START) || rule.flags !== '') return super.table(src);
      this.#checkedTable = rule;
    }
    const lineEnd = src.indexOf('\n');
    if (lineEnd === -1) return undefined;
    let at = lineEnd + 1;
    while (at < lineEnd + 4 && src.charCodeAt(at) === SPACE) at++;
    const code = src.charCodeAt(at);
    return code === 0x7c || code === 0x3a || code === 0x2d ? super.table(src) : undefined;
  }

  override lheading(src: string): Tokens.Heading | undefined {
    const rule = this.rules.block.lheading;
    if (rule !== this.#checkedLheading) {
      if (!rule.source.endsWith(GFM_LHEADING_RULE_END) || rule.flags !== '') return super.lheading(src);
      this.#checkedLheading = rule;
    }
    for (let lineEnd = src.indexOf('\n'); lineEnd !== -1; ) {
      let at = lineEnd + 1;
      while (at < lineEnd + 4 && src.charCodeAt(at) === SPACE) at++;
      const code = src.charCodeAt(at);
      if (code === 0x3d || code === 0x2d) return super.lheading(src);
      const next = src.indexOf('\n', lineEnd + 1);
      // `\n(?!\s*?\n…)`: the heading's text does not run across a blank line.
      if (WHITESPACE_ONLY.test(src.slice(lineEnd + 1, next === -1 ? src.length : next))) return undefined;
      lineEnd = next;
    }
    return undefined;
  }
}

// No smart punctuation and no automatic ids from marked: the author's „quotes“, dashes and NBSPs are kept as
// typed, and anchors come from our transliterating slugify so that "Ökosystem" becomes #oekosystem.
const OPTIONS: MarkedOptions = {
  gfm: true,
  breaks: false,
  renderer: new AnchorRenderer(),
  tokenizer: new GfmTextTokenizer(),
};

const ATTRIBUTE_URL = /(?<=\s)(href|src|poster)\s*=\s*("([^"]*)"|'([^']*)')/gi;

/**
 * Resolves a URL as a browser on the article page would. Feed readers and mail clients show the content
 * out of its page, so a relative reference there points nowhere (RFC 4287 §6 / the W3C validator warns).
 */
export function absoluteUrl(reference: string, pageUrl: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(reference)) return reference;
  try {
    return new URL(reference, pageUrl).href;
  } catch {
    return reference;
  }
}

export function absoluteHtmlUrls(html: string, pageUrl: string): string {
  return html.replace(ATTRIBUTE_URL, (_match, name: string, _quoted, double?: string, single?: string) => {
    const value = double ?? single ?? '';
    const quote = double === undefined ? "'" : '"';
    return `${name}=${quote}${absoluteUrl(value, pageUrl)}${quote}`;
  });
}

/** The plain text of inline tokens: what a reader sees, without markup (nor a script's or style's code). */
export function inlineText(tokens: readonly Token[]): string {
  let hidden: string | undefined;
  return tokens
    .map((token) => {
      if (token.type === 'html') {
        const tag = /^<(\/?)(script|style)\b/i.exec(token.text);
        if (tag !== null) hidden = tag[1] === '' ? tag[2]?.toLowerCase() : undefined;
        return '';
      }
      if (hidden !== undefined) return '';
      if ('tokens' in token && Array.isArray(token.tokens) && token.type !== 'codespan') {
        return inlineText(token.tokens);
      }
      if (token.type === 'br') return '\n';
      return 'text' in token && typeof token.text === 'string' ? decodeHtmlEntities(token.text) : '';
    })
    .join('');
}

/** Character references as a browser reads them (HTML5 named, decimal and hex), e.g. in marked's text tokens. */
export function decodeHtmlEntities(text: string): string {
  return text.includes('&') ? decodeHTML(text) : text;
}

/**
 * Lexes an article body. Links and images come out absolute against `pageUrl`, and every heading carries a
 * unique `id` (repeated headings get -2, -3, … like GitHub), so every renderer links the same anchors.
 */
function lexMarkdown(markdown: string, pageUrl: string): Token[] {
  const tokens = Lexer.lex(markdown, OPTIONS);
  anchorTokens(tokens, pageUrl);
  return tokens;
}

function anchorTokens(tokens: readonly Token[], pageUrl: string): void {
  const seen = new Map<string, number>();
  const visit = (list: readonly Token[]) => {
    for (const token of list) {
      if (token.type === 'heading') {
        const base = slugify(inlineText(token.tokens ?? [])) || 'abschnitt';
        const count = (seen.get(base) ?? 0) + 1;
        seen.set(base, count);
        (token as { id?: string }).id = count === 1 ? base : `${base}-${count}`;
      } else if (token.type === 'link' || token.type === 'image') {
        token.href = absoluteUrl(token.href, pageUrl);
      } else if (token.type === 'html') {
        token.text = absoluteHtmlUrls(token.text, pageUrl);
        token.raw = token.text;
      }
      if ('tokens' in token && Array.isArray(token.tokens)) visit(token.tokens);
      if (token.type === 'list') visit(token.items);
      if (token.type === 'table') {
        for (const cell of token.header) visit(cell.tokens);
        for (const row of token.rows) for (const cell of row) visit(cell.tokens);
      }
    }
  };
  visit(tokens);
}

export function renderMarkdown(markdown: string, pageUrl: string): string {
  return dropControls(Parser.parse(lexMarkdown(markdown, pageUrl), OPTIONS));
}

/** A one-paragraph text such as the lead: its inline HTML and its plain text. */
export function renderInlineMarkdown(markdown: string, pageUrl: string): { html: string; text: string } {
  const tokens = Lexer.lexInline(markdown, OPTIONS);
  anchorTokens(tokens, pageUrl);
  // The plain text decodes references, so a control character typed as one is dropped here too.
  return {
    html: dropControls(Parser.parseInline(tokens, OPTIONS)),
    text: normalizeText(inlineText(tokens)),
  };
}
