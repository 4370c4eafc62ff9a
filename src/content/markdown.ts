// Markdown → HTML for articles: heading anchors, every relative link and image made absolute, text untouched.

import { decodeHTML } from 'entities';
import { Lexer, type MarkedOptions, Parser, Renderer, type Token, type Tokens } from 'marked';
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

// No smart punctuation and no automatic ids from marked: the author's „quotes“, dashes and NBSPs are kept as
// typed, and anchors come from our transliterating slugify so that "Ökosystem" becomes #oekosystem.
const OPTIONS: MarkedOptions = { gfm: true, breaks: false, renderer: new AnchorRenderer() };

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
