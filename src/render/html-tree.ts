// Raw HTML read as a browser reads it (the one file that imports htmlparser2): a plain tree of elements and
// text (character references decoded, comments left out), and what the parser would have to repair.

import { ElementType, type Handler, Parser, parseDocument } from 'htmlparser2';

export type HtmlNode = HtmlText | HtmlElement;

export interface HtmlText {
  readonly kind: 'text';
  readonly text: string;
}

export interface HtmlElement {
  readonly kind: 'element';
  /** Lower case: "p", "a", "h2". */
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly children: readonly HtmlNode[];
}

type DomNode = ReturnType<typeof parseDocument>['children'][number];

export function parseHtmlTree(html: string): HtmlNode[] {
  return fromDom(parseDocument(html).children);
}

function fromDom(nodes: readonly DomNode[]): HtmlNode[] {
  const tree: HtmlNode[] = [];
  for (const node of nodes) {
    if (node.type === ElementType.Text) tree.push({ kind: 'text', text: node.data });
    else if (
      node.type === ElementType.Tag ||
      node.type === ElementType.Script ||
      node.type === ElementType.Style
    ) {
      tree.push({
        kind: 'element',
        name: node.name,
        attributes: node.attribs,
        children: fromDom(node.children),
      });
    }
  }
  return tree;
}

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

/**
 * What a browser would silently repair in `html`, as "leaves <div> open": an element left open or closed by
 * another's end tag, an end tag that closes nothing, a comment that never ends, an MJML tag. Empty when the
 * HTML balances. Where raw HTML sits inside a larger document (the email), such a repair changes the layout
 * around it, so the author should hear of it.
 */
export function findHtmlProblems(html: string): string[] {
  const problems: string[] = [];
  let closes = 0;
  let pendingImplied: string | undefined;
  // A self-closing tag in SVG or MathML ("<circle/>") closes itself; the parser reports that as implied.
  let selfClosing = false;
  const handler: Partial<Handler> = {
    onopentag: (name) => {
      if (name === 'mjml' || name.startsWith('mj-')) problems.push(`contains the MJML tag <${name}>`);
    },
    onclosetag: (name, isImplied) => {
      closes += 1;
      if (pendingImplied !== undefined && !isImplied) {
        problems.push(`closes </${name}> while <${pendingImplied}> is still open`);
        pendingImplied = undefined;
      }
      const omitted = isImplied && !selfClosing && !OPTIONAL_END.has(name) && !VOID.has(name);
      if (omitted && pendingImplied === undefined) {
        pendingImplied = name;
      }
    },
  };
  // The parser ignores an end tag that matches no open element and reports a comment cut off by the end of
  // the text like any other; its tokenizer callbacks (public, marked internal) are where both can be seen.
  class CheckingParser extends Parser {
    override onclosetag(start: number, endIndex: number): void {
      const before = closes;
      super.onclosetag(start, endIndex);
      const name = html.slice(start, endIndex).toLowerCase();
      if (name === 'mjml' || name.startsWith('mj-')) problems.push(`contains the MJML tag </${name}>`);
      else if (closes === before && !VOID.has(name)) {
        problems.push(`has a </${name}> without a matching <${name}>`);
      }
    }
    override onselfclosingtag(endIndex: number): void {
      selfClosing = true;
      super.onselfclosingtag(endIndex);
      selfClosing = false;
    }
    override oncomment(start: number, endIndex: number, offset: number): void {
      super.oncomment(start, endIndex, offset);
      if (html[endIndex] !== '>') problems.push('has a comment that never ends (<!-- without -->)');
    }
  }
  new CheckingParser(handler).end(html);
  if (pendingImplied !== undefined) problems.push(`leaves <${pendingImplied}> open`);
  return problems;
}

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
