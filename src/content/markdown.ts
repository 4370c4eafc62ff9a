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

/**
 * Where marked's GFM text rule (GFM_TEXT_RULE) ends its match on `src`, found in one pass: the first
 * character, then the first place where the rule's lookaheads let a lazy match stop. 0 for an empty `src`.
 */
export function gfmTextEnd(src: string): number {
  const length = src.length;
  if (length === 0) return 0;
  const first = src.charCodeAt(0);
  if (!isAsciiAlphanumeric(first) && isChatProtocolAt(src, 1)) return 1;
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
    if (code < 128 && INLINE_START[code] === 1) return at;
    if ((code | 0x20) === 0x68 && isHttpAt(src, at)) return at;
    if ((code | 0x20) === 0x66 && isFtpAt(src, at)) return at;
    if (code === 0x77 && src.startsWith('www.', at) && opensWwwLink(src.charCodeAt(at - 1))) return at;
    if (code !== SPACE && isHardBreakAt(src, at + 1)) return at + 1;
    if (!isAsciiAlphanumeric(code) && isChatProtocolAt(src, at + 1)) return at + 1;
    if (!isEmailCharacter(code) && isEmailLocalPartAt(src, at + 1)) return at + 1;
  }
  return length;
}

const BACKTICK = 0x60;
const TILDE = 0x7e;
const SPACE = 0x20;
const asciiTable = (characters: string) => {
  const table = new Uint8Array(128);
  for (const character of characters) table[character.charCodeAt(0)] = 1;
  return table;
};
const ALPHANUMERIC = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';
/** `[\\<!\[`*~_]`: where another inline rule (escape, tag, link, code, emphasis, strike-through) may start. */
const INLINE_START = asciiTable('\\<![`*~_');
/** The rule's `[a-zA-Z0-9.!#$%&'*+\/=?_`{|}~-]`: characters of an e-mail address's local part. */
const EMAIL = asciiTable(`${ALPHANUMERIC}.!#$%&'*+/=?_\`{|}~-`);
const ALPHANUMERIC_TABLE = asciiTable(ALPHANUMERIC);
/** `[\s*_~(]`: the characters after which "www." starts an autolink (\s as JavaScript reads it). */
const WWW_BEFORE = /[\s*_~(]/;

function isAsciiAlphanumeric(code: number): boolean {
  return code < 128 && ALPHANUMERIC_TABLE[code] === 1;
}

function isEmailCharacter(code: number): boolean {
  return code < 128 && EMAIL[code] === 1;
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
  while (end < src.length && isEmailCharacter(src.charCodeAt(end))) end++;
  return end > at && src.charCodeAt(end) === 0x40;
}

/** `(?=(?:mailto|xmpp):)`. */
function isChatProtocolAt(src: string, at: number): boolean {
  return src.startsWith('mailto:', at) || src.startsWith('xmpp:', at);
}

/** `[hH][tT][tT][pP][sS]?`: marked's rule stops before any "http", with or without "://" after it. */
function isHttpAt(src: string, at: number): boolean {
  return (
    (src.charCodeAt(at + 1) | 0x20) === 0x74 &&
    (src.charCodeAt(at + 2) | 0x20) === 0x74 &&
    (src.charCodeAt(at + 3) | 0x20) === 0x70
  );
}

/** `[fF][tT][pP]:\/\/`. */
function isFtpAt(src: string, at: number): boolean {
  return (
    (src.charCodeAt(at + 1) | 0x20) === 0x74 &&
    (src.charCodeAt(at + 2) | 0x20) === 0x70 &&
    src.startsWith('://', at + 3)
  );
}

/** `(?<![^\s*_~(])` before "www.". */
function opensWwwLink(before: number): boolean {
  return WWW_BEFORE.test(String.fromCharCode(before));
}

/**
 * marked's tokenizer with the GFM text rule replaced by `gfmTextEnd`. A text with "&" (a numeric character
 * reference marked decodes) and any other rule than GFM_TEXT_RULE go to marked itself.
 */
export class GfmTextTokenizer extends Tokenizer {
  /** The rule object last found to be GFM_TEXT_RULE: marked keeps one per set of options. */
  #checkedRule: RegExp | undefined;

  override inlineText(src: string): Tokens.Text | undefined {
    const rule = this.rules.inline.text;
    if (rule !== this.#checkedRule) {
      if (rule.source !== GFM_TEXT_RULE || rule.flags !== '') return super.inlineText(src);
      this.#checkedRule = rule;
    }
    if (src === '') return super.inlineText(src);
    const raw = src.slice(0, gfmTextEnd(src));
    const escaped = this.lexer.state.inRawBlock;
    if (!escaped && raw.includes('&')) return super.inlineText(src);
    return { type: 'text', raw, text: raw, escaped };
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
