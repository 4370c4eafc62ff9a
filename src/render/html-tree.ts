// HTML text → a plain tree of elements and text, parsed as a browser would (the one file that imports
// htmlparser2). Character references are decoded; comments and doctypes are left out.

import { ElementType, parseDocument } from 'htmlparser2';

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
