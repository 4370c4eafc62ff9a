// The email's article HTML → the plain-text part of the email: wrapped, headings underlined, links numbered.
// It reads the same HTML as the HTML part (after the allowlist), so both parts say the same.

import { type HtmlElement, type HtmlNode, parseHtmlTree } from '../render/html-tree.ts';
import { isAllowedUrl } from '../render/sanitize.ts';

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

const UNDERLINES: Readonly<Record<string, string>> = { h1: '=', h2: '-' };
const HEADINGS = new Set(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
// Elements that only group blocks: their content is laid out as blocks of its own.
const CONTAINERS = new Set([
  'address',
  'article',
  'aside',
  'dd',
  'details',
  'div',
  'dl',
  'dt',
  'figcaption',
  'figure',
  'footer',
  'header',
  'li',
  'main',
  'nav',
  'section',
  'summary',
]);
const BLOCKS = new Set([...CONTAINERS, ...HEADINGS, 'p', 'pre', 'blockquote', 'ul', 'ol', 'table', 'hr']);
// Not text for a reader; the allowlist removes them before, this keeps the function safe on its own.
const SKIPPED = new Set([
  'script',
  'style',
  'template',
  'noscript',
  'iframe',
  'object',
  'svg',
  'math',
  'head',
]);

/**
 * Renders an article body (HTML with absolute links, as the content stage and the allowlist made it) as
 * wrapped plain text. Marked's HTML is regular, so its structure is the Markdown's: paragraphs, headings,
 * lists (loose when their items hold paragraphs), quotes, code, tables.
 */
export function renderTextBody(html: string, options: TextOptions): PlainText {
  const width = options.width ?? TEXT_WIDTH;
  const numbers = new Map<string, number>();
  const reference = (href: string): number => {
    const existing = numbers.get(href);
    if (existing !== undefined) return existing;
    numbers.set(href, numbers.size + 1);
    return numbers.size;
  };

  const inline = (list: readonly HtmlNode[]): string => list.map(inlineOne).join('');
  const inlineOne = (node: HtmlNode): string => {
    if (node.kind === 'text') return node.text.replace(/\n/g, ' ');
    if (SKIPPED.has(node.name)) return '';
    switch (node.name) {
      case 'br':
        return '\n';
      case 'code':
        // Code keeps its characters as written, spaces included.
        return textContent(node);
      case 'input':
        return node.attributes.type === 'checkbox' ? (checked(node) ? '[x] ' : '[ ] ') : '';
      case 'a': {
        const text = inline(node.children);
        const href = node.attributes.href;
        // An autolink shows its address already: "https://…", "www.…" (GFM makes it http://www.…), "a@b.de".
        if (href === undefined || [text, `mailto:${text}`, `http://${text}`].includes(href)) return text;
        // The HTML part drops such a link too (src/render/sanitize.ts): the text stays, the address goes.
        if (!isAllowedUrl(href)) return text;
        return `${text} [${reference(href)}]`;
      }
      case 'img': {
        const alt = (node.attributes.alt ?? '').trim();
        const label = `[${options.imageLabel}${alt === '' ? '' : `: ${alt}`}]`;
        const src = node.attributes.src;
        return src !== undefined && isAllowedUrl(src) ? `${label} [${reference(src)}]` : label;
      }
      default:
        return inline(node.children);
    }
  };

  const blocks = (list: readonly HtmlNode[], columns: number, tight = false): string[] => {
    const out: string[] = [];
    const add = (lines: readonly string[]) => {
      if (lines.length === 0) return;
      if (out.length > 0 && !tight) out.push('');
      out.push(...lines);
    };
    // Text and inline elements between blocks (a tight list item's text, raw HTML) form a block of their own.
    let run: HtmlNode[] = [];
    const flush = () => {
      const text = inline(run);
      run = [];
      if (text.trim() !== '') add(wrapText(text, columns));
    };
    for (const node of list) {
      if (node.kind === 'element' && BLOCKS.has(node.name)) {
        flush();
        add(block(node, columns));
      } else run.push(node);
    }
    flush();
    return out;
  };

  const block = (node: HtmlElement, columns: number): string[] => {
    if (HEADINGS.has(node.name)) {
      const lines = wrapText(inline(node.children), columns);
      const rule = UNDERLINES[node.name] ?? '~';
      return [...lines, rule.repeat(Math.max(...lines.map(textWidth), 3))];
    }
    switch (node.name) {
      case 'p':
        return wrapText(inline(node.children), columns);
      case 'pre':
        // Code keeps its lines: a wrapped command line would be a wrong one.
        return textContent(node)
          .replace(/\n$/, '')
          .split('\n')
          .map((line) => (line === '' ? '' : `    ${line}`.trimEnd()));
      case 'blockquote':
        return blocks(node.children, columns - 2).map((line) => (line === '' ? '>' : `> ${line}`));
      case 'ul':
      case 'ol':
        return list(node, columns);
      case 'table':
        return table(node, columns);
      case 'hr':
        return ['* * *'];
      default:
        return blocks(node.children, columns);
    }
  };

  const list = (node: HtmlElement, columns: number): string[] => {
    const items = elements(node.children).filter((item) => item.name === 'li');
    const start = node.name === 'ol' ? Number.parseInt(node.attributes.start ?? '1', 10) || 1 : 1;
    // Marked writes <p> in the items of a loose list only: blank lines between the items and their blocks.
    const loose = items.some((item) => elements(item.children).some((child) => child.name === 'p'));
    // A task item's checkbox comes first; it joins the marker so the text lines up after it.
    const checkboxOf = (item: HtmlElement): HtmlElement | undefined => {
      const first = item.children.find((child) => child.kind === 'element' || child.text.trim() !== '');
      return first?.kind === 'element' && first.name === 'input' && first.attributes.type === 'checkbox'
        ? first
        : undefined;
    };
    const markers = items.map((item, index) => {
      const box = checkboxOf(item);
      return (
        (node.name === 'ol' ? `${start + index}.` : '-') +
        (box === undefined ? '' : checked(box) ? ' [x]' : ' [ ]')
      );
    });
    const indent = Math.max(...markers.map((marker) => marker.length)) + 1;
    const out: string[] = [];
    items.forEach((item, index) => {
      if (out.length > 0 && loose) out.push('');
      const box = checkboxOf(item);
      const content = item.children.filter((child) => child !== box);
      blocks(content, columns - indent, !loose).forEach((line, lineIndex) => {
        const prefix = lineIndex === 0 ? `${markers[index]}`.padEnd(indent) : ' '.repeat(indent);
        out.push(line === '' ? '' : `${prefix}${line}`);
      });
    });
    return out;
  };

  const table = (node: HtmlElement, columns: number): string[] => {
    const cellText = (cell: HtmlElement) => inline(cell.children).replace(/\n/g, ' ').trim();
    const [first, ...rest] = tableRows(node).map((row) =>
      elements(row.children)
        .filter((cell) => cell.name === 'th' || cell.name === 'td')
        .map(cellText),
    );
    const header = first ?? [];
    const rows = rest;
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

  const body = blocks(parseHtmlTree(html), width).join('\n');
  const references = [...numbers].map(([href, number]) => `[${number}] ${href}`);
  return { body, references };
}

function elements(nodes: readonly HtmlNode[]): HtmlElement[] {
  return nodes.filter((node): node is HtmlElement => node.kind === 'element');
}

function textContent(node: HtmlNode): string {
  return node.kind === 'text' ? node.text : node.children.map(textContent).join('');
}

function checked(input: HtmlElement): boolean {
  return Object.hasOwn(input.attributes, 'checked');
}

/** The rows of a table in document order, whether in <thead>, <tbody>, <tfoot> or directly in <table>. */
function tableRows(table: HtmlElement): HtmlElement[] {
  return elements(table.children).flatMap((child) =>
    child.name === 'tr' ? [child] : elements(child.children).filter((row) => row.name === 'tr'),
  );
}

// Characters that are one user-perceived character each, whatever stands beside them: Latin without the
// combining marks (U+0300 on), and the dashes, quotes, ellipsis, spaces and currency signs of General
// Punctuation and Currency Symbols, which German and English text use; ZWNJ, ZWJ (U+200C/D), line and
// paragraph separators and bidi controls (U+2028–U+202E) stay out. Text of these alone needs no
// segmentation: creating the segmenter alone took ~9 ms of an email thread, for any „quote“ or "–".
const ONE_UNIT_CHARACTERS = /^[\x20-\u02ff\u2010-\u2027\u202f-\u205e\u20a0-\u20c0]*$/;
// Made on first use: text outside ONE_UNIT_CHARACTERS is rare.
let graphemes: Intl.Segmenter | undefined;

/** Columns a string takes: user-perceived characters, so "ä" written as a + U+0308 counts once. */
export function textWidth(text: string): number {
  if (ONE_UNIT_CHARACTERS.test(text)) return text.length;
  let count = 0;
  graphemes ??= new Intl.Segmenter('und', { granularity: 'grapheme' });
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
