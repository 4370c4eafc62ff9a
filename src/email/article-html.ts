// Article HTML → HTML for mail clients: the allowlist of src/render/sanitize.ts (no scripts, embeds, forms,
// event handlers or unsafe URLs), images no wider than the column, every image with an alt, and tags that
// balance, so raw HTML in an article cannot break the email's own layout around it.

import { KurierError } from '../error.ts';
import { findHtmlProblems } from '../render/html-tree.ts';
import { sanitizeArticleHtml } from '../render/sanitize.ts';

/** The 600 px email minus 2 × 24 px padding. */
export const CONTENT_WIDTH = 552;

export interface EmailArticleHtml {
  readonly html: string;
  /** What the allowlist removed, for a warning: ["<iframe>", "javascript: URL", "onerror="]. */
  readonly leftOut: readonly string[];
}

/**
 * Outlook for Windows sizes images by their width attribute and ignores max-width, so a known width larger
 * than the column is scaled down in the attributes (height in proportion). Every image gets an alt (WCAG 1.1.1).
 * Throws EMAIL_INVALID when the parser would have to repair the structure (an element left open, an end tag
 * that closes nothing, a comment that never ends): the email would show something else than the author meant.
 */
export function planEmailArticleHtml(
  html: string,
  file: string,
  contentWidth: number = CONTENT_WIDTH,
): EmailArticleHtml {
  const problem = findHtmlProblems(html)[0];
  if (problem !== undefined) {
    throw new KurierError(
      'EMAIL_INVALID',
      `the article's HTML ${problem}; in the email it would break the layout around the article. Fix the raw HTML in the article.`,
      { file },
    );
  }
  const sanitized = sanitizeArticleHtml(html, { image: (attributes) => fitImage(attributes, contentWidth) });
  return { html: sanitized.html, leftOut: sanitized.removed };
}

function fitImage(
  attributes: Readonly<Record<string, string>>,
  contentWidth: number,
): Record<string, string> {
  const result: Record<string, string> = { ...attributes };
  const width = pixels(attributes.width);
  const height = pixels(attributes.height);
  if (width !== undefined && width > contentWidth) {
    result.width = String(contentWidth);
    if (height !== undefined) result.height = String(Math.round((height * contentWidth) / width));
  }
  result.alt ??= '';
  return result;
}

function pixels(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^\s*(\d+)(?:px)?\s*$/i.exec(value);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}
