// Article Markdown tokens → the plain-text part of the email: wrapped, headings underlined, links numbered.

import { decodeHtmlEntities, type MarkdownToken, type MarkdownTokens } from '../content/markdown.ts';
import { isAllowedUrl, planHtmlParagraphs } from '../render/sanitize.ts';

/** RFC 5322 §2.1.1: lines SHOULD be no more than 78 characters. */
export const TEXT_WIDTH = 78;

export interface TextOptions {
  readonly width?: number;
  /** "Bild": what an image is called in "[Bild: Förderturm]". */
  readonly imageLabel: string;
}

export interface PlainText {
  /** The body, blocks separated by blank lines; links carry " [n]". */
  readonly body: string;
  /** "[1] https://…", in the order the references first appear. */
  readonly references: readonly string[];
}

type Known =
  | MarkdownTokens.Blockquote
  | MarkdownTokens.Br
  | MarkdownTokens.Checkbox
  | MarkdownTokens.Code
  | MarkdownTokens.Codespan
  | MarkdownTokens.Def
  | MarkdownTokens.Del
  | MarkdownTokens.Em
  | MarkdownTokens.Escape
  | MarkdownTokens.Heading
  | MarkdownTokens.Hr
  | MarkdownTokens.HTML
  | MarkdownTokens.Image
  | MarkdownTokens.Link
  | MarkdownTokens.List
  | MarkdownTokens.Paragraph
  | MarkdownTokens.Space
  | MarkdownTokens.Strong
  | MarkdownTokens.Table
  | MarkdownTokens.Text;

// marked's Token also admits extension tokens with any `type`; narrowing needs the closed union.
const known = (token: MarkdownToken) => token as Known;

const UNDERLINES: Readonly<Record<number, string>> = { 1: '=', 2: '-' };

/** Renders an article body (tokens from lexMarkdown, links already absolute) as wrapped plain text. */
export function renderTextBody(tokens: readonly MarkdownToken[], options: TextOptions): PlainText {
  const width = options.width ?? TEXT_WIDTH;
  const numbers = new Map<string, number>();
  const reference = (href: string): number => {
    const existing = numbers.get(href);
    if (existing !== undefined) return existing;
    numbers.set(href, numbers.size + 1);
    return numbers.size;
  };

  const inline = (list: readonly MarkdownToken[]): string => list.map(inlineOne).join('');
  const inlineOne = (token: MarkdownToken): string => {
    const t = known(token);
    switch (t.type) {
      case 'text':
        return t.tokens === undefined ? decodeHtmlEntities(t.text).replace(/\n/g, ' ') : inline(t.tokens);
      case 'escape':
      case 'codespan':
        return t.text;
      case 'strong':
      case 'em':
      case 'del':
        return inline(t.tokens);
      case 'br':
        return '\n';
      case 'checkbox':
        return t.checked ? '[x] ' : '[ ] ';
      case 'html':
        return /^<br\s*\/?>$/i.test(t.text.trim()) ? '\n' : '';
      case 'link': {
        const text = inline(t.tokens);
        // An autolink shows its address already: "<https://…>", "www.…", "a@b.de".
        if (t.autolink === true || t.href === text || t.href === `mailto:${text}`) return text;
        // The HTML part drops such a link too (src/render/sanitize.ts): the text stays, the address goes.
        if (!isAllowedUrl(t.href)) return text;
        return `${text} [${reference(t.href)}]`;
      }
      case 'image': {
        const alt = decodeHtmlEntities(t.text).trim();
        const label = `[${options.imageLabel}${alt === '' ? '' : `: ${alt}`}]`;
        return isAllowedUrl(t.href) ? `${label} [${reference(t.href)}]` : label;
      }
      default: {
        const generic = token as { tokens?: MarkdownToken[]; text?: unknown };
        if (Array.isArray(generic.tokens)) return inline(generic.tokens);
        return typeof generic.text === 'string' ? decodeHtmlEntities(generic.text) : '';
      }
    }
  };

  const blocks = (list: readonly MarkdownToken[], columns: number, tight = false): string[] => {
    const out: string[] = [];
    for (const token of list) {
      const lines = block(token, columns);
      if (lines.length === 0) continue;
      if (out.length > 0 && !tight) out.push('');
      out.push(...lines);
    }
    return out;
  };

  const block = (token: MarkdownToken, columns: number): string[] => {
    const t = known(token);
    switch (t.type) {
      case 'space':
      case 'def':
        return [];
      case 'paragraph':
        return wrapText(inline(t.tokens), columns);
      case 'text':
        // The item text of a tight list.
        return wrapText(t.tokens === undefined ? decodeHtmlEntities(t.text) : inline(t.tokens), columns);
      case 'heading': {
        const lines = wrapText(inline(t.tokens), columns);
        const rule = UNDERLINES[t.depth] ?? '~';
        return [...lines, rule.repeat(Math.max(...lines.map(textWidth), 3))];
      }
      case 'code':
        // Code keeps its lines: a wrapped command line would be a wrong one.
        return t.text.split('\n').map((line) => (line === '' ? '' : `    ${line}`.trimEnd()));
      case 'blockquote':
        return blocks(t.tokens, columns - 2).map((line) => (line === '' ? '>' : `> ${line}`));
      case 'list':
        return list(t, columns);
      case 'table':
        return table(t, columns);
      case 'hr':
        return ['* * *'];
      case 'html':
        return planHtmlParagraphs(t.text).flatMap((paragraph, index) => [
          ...(index > 0 ? [''] : []),
          ...wrapText(paragraph, columns),
        ]);
      default:
        return wrapText(inlineOne(token), columns);
    }
  };

  const list = (token: MarkdownTokens.List, columns: number): string[] => {
    const start = typeof token.start === 'number' ? token.start : 1;
    // A task item's checkbox is a token before its text; it joins the marker so the text lines up after it.
    const checkboxOf = (item: MarkdownTokens.ListItem) => {
      const first = item.tokens[0];
      const t = first === undefined ? undefined : known(first);
      return t?.type === 'checkbox' ? (t.checked ? ' [x]' : ' [ ]') : '';
    };
    const markers = token.items.map(
      (item, index) => (token.ordered ? `${start + index}.` : '-') + checkboxOf(item),
    );
    const indent = Math.max(...markers.map((marker) => marker.length)) + 1;
    const out: string[] = [];
    token.items.forEach((item, index) => {
      if (out.length > 0 && token.loose) out.push('');
      const content = checkboxOf(item) === '' ? item.tokens : item.tokens.slice(1);
      blocks(content, columns - indent, !item.loose).forEach((line, lineIndex) => {
        const prefix = lineIndex === 0 ? `${markers[index]}`.padEnd(indent) : ' '.repeat(indent);
        out.push(line === '' ? '' : `${prefix}${line}`);
      });
    });
    return out;
  };

  const table = (token: MarkdownTokens.Table, columns: number): string[] => {
    const header = token.header.map((cell) => inline(cell.tokens).replace(/\n/g, ' ').trim());
    const rows = token.rows.map((row) => row.map((cell) => inline(cell.tokens).replace(/\n/g, ' ').trim()));
    const widths = header.map((cell, index) =>
      Math.max(textWidth(cell), ...rows.map((row) => textWidth(row[index] ?? ''))),
    );
    const total = widths.reduce((sum, value) => sum + value, 0) + 3 * (widths.length - 1);
    if (total <= columns) {
      const line = (cells: readonly string[]) =>
        cells
          .map((cell, index) => padText(cell, widths[index] ?? 0))
          .join(' | ')
          .trimEnd();
      return [line(header), widths.map((value) => '-'.repeat(value)).join('-+-'), ...rows.map(line)];
    }
    // Too wide for a grid: one "Header: value" line per cell, a blank line between rows.
    return rows.flatMap((row, rowIndex) => [
      ...(rowIndex > 0 ? [''] : []),
      ...row.flatMap((cell, index) => wrapText(`${header[index] ?? ''}: ${cell}`, columns)),
    ]);
  };

  const body = blocks(tokens, width).join('\n');
  const references = [...numbers].map(([href, number]) => `[${number}] ${href}`);
  return { body, references };
}

const graphemes = new Intl.Segmenter('und', { granularity: 'grapheme' });

/** Columns a string takes: user-perceived characters, so "ä" written as a + U+0308 counts once. */
export function textWidth(text: string): number {
  // Latin text without combining marks (all of German) has one code unit per character: skip segmentation.
  if (/^[\x20-\u02ff]*$/.test(text)) return text.length;
  let count = 0;
  for (const _segment of graphemes.segment(text)) count += 1;
  return count;
}

function padText(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - textWidth(text)));
}

/**
 * Greedy wrap at ASCII spaces only: a URL (no spaces) is never split, a no-break space (U+00A0, U+202F) or a
 * hyphen never becomes a break, and a word longer than the line stays whole. "\n" is a forced break.
 */
export function wrapText(text: string, width: number = TEXT_WIDTH): string[] {
  const out: string[] = [];
  for (const paragraph of text.split('\n')) {
    const words = paragraph.split(/[ \t\r]+/).filter((word) => word !== '');
    let line = '';
    let used = 0;
    for (const word of words) {
      const size = textWidth(word);
      if (line === '') {
        line = word;
        used = size;
      } else if (used + 1 + size <= width) {
        line += ` ${word}`;
        used += 1 + size;
      } else {
        out.push(line);
        line = word;
        used = size;
      }
    }
    out.push(line);
  }
  while (out.length > 1 && out.at(-1) === '') out.pop();
  return out;
}

/** A heading in plain text: its wrapped lines, then a rule as wide as the widest line. */
export function underline(text: string, rule: string, width: number = TEXT_WIDTH): string {
  const lines = wrapText(text, width);
  return [...lines, rule.repeat(Math.max(...lines.map(textWidth), 3))].join('\n');
}
