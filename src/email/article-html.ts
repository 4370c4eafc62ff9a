// Article HTML → HTML for mail clients: images no wider than the column, every image with an alt, no embeds,
// and tags that balance, so raw HTML in an article cannot break the email's own layout around it.

import { KurierError } from '../error.ts';

/** The 600 px email minus 2 × 24 px padding. */
export const CONTENT_WIDTH = 552;

export interface EmailArticleHtml {
  readonly html: string;
  /** Elements left out, for a warning: ["iframe"]. */
  readonly leftOut: readonly string[];
}

// Mail clients remove these (Gmail, Outlook, Apple Mail run no scripts and no embeds) and spam filters score
// them; a <style> in the body would restyle the whole email.
const LEFT_OUT = /<(script|style|iframe|object|form|noscript|template)\b[\s\S]*?<\/\1\s*>|<(embed)\b[^>]*>/gi;
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
// End tags HTML lets authors omit; a parser closes them implicitly.
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
const TOKEN = /<!--[\s\S]*?-->|<!--|<(\/?)([a-zA-Z][a-zA-Z0-9:-]*)\b[^>]*>/g;

/**
 * Outlook for Windows sizes images by their width attribute and ignores max-width, so a known width larger
 * than the column is scaled down in the attributes (height in proportion). Every image gets an alt (WCAG 1.1.1).
 * Throws EMAIL_INVALID when the HTML does not balance: a stray </div> or </td> would close the email's layout.
 */
export function planEmailArticleHtml(
  html: string,
  file: string,
  contentWidth: number = CONTENT_WIDTH,
): EmailArticleHtml {
  const leftOut = new Set<string>();
  const kept = html.replace(LEFT_OUT, (_match, element?: string, voidElement?: string) => {
    leftOut.add((element ?? voidElement ?? '').toLowerCase());
    return '';
  });
  const problem = findImbalance(kept);
  if (problem !== undefined) {
    throw new KurierError(
      'EMAIL_INVALID',
      `the article's HTML ${problem}; in the email it would break the layout around the article. Fix the raw HTML in the article.`,
      { file },
    );
  }
  return {
    html: kept.replace(/<img\b[^>]*>/gi, (tag) => fitImage(tag, contentWidth)),
    leftOut: [...leftOut].sort(),
  };
}

function findImbalance(html: string): string | undefined {
  const open: string[] = [];
  for (const match of html.matchAll(TOKEN)) {
    const [token, slash, rawName] = match;
    if (token === '<!--') return 'has a comment that never ends (<!-- without -->)';
    if (rawName === undefined) continue;
    const name = rawName.toLowerCase();
    if (name === 'mjml' || name.startsWith('mj-')) return `contains the MJML tag <${slash}${name}>`;
    if (VOID.has(name) || token.endsWith('/>')) continue;
    if (slash === '') {
      open.push(name);
      continue;
    }
    const index = open.lastIndexOf(name);
    if (index === -1) return `has a </${name}> without a matching <${name}>`;
    const skipped = open
      .splice(index)
      .slice(1)
      .filter((element) => !OPTIONAL_END.has(element));
    if (skipped.length > 0) return `closes </${name}> while <${skipped[0]}> is still open`;
  }
  const unclosed = open.find((element) => !OPTIONAL_END.has(element));
  return unclosed === undefined ? undefined : `leaves <${unclosed}> open`;
}

function fitImage(tag: string, contentWidth: number): string {
  const width = numericAttribute(tag, 'width');
  const height = numericAttribute(tag, 'height');
  let result = tag;
  if (width !== undefined && width > contentWidth) {
    result = setAttribute(result, 'width', String(contentWidth));
    if (height !== undefined) {
      result = setAttribute(result, 'height', String(Math.round((height * contentWidth) / width)));
    }
  }
  if (!/\salt\s*=/i.test(result)) result = setAttribute(result, 'alt', '');
  return result;
}

function numericAttribute(tag: string, name: string): number | undefined {
  const match = new RegExp(`\\s${name}\\s*=\\s*["']?(\\d+)(?:px)?["']?`, 'i').exec(tag);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

function setAttribute(tag: string, name: string, value: string): string {
  const existing = new RegExp(`\\s${name}\\s*=\\s*("[^"]*"|'[^']*'|[^\\s>]+)`, 'i');
  if (existing.test(tag)) return tag.replace(existing, ` ${name}="${value}"`);
  return tag.replace(/\s*\/?>$/, (end) => ` ${name}="${value}"${end.trim() === '/>' ? ' />' : '>'}`);
}
