// Runs the external feed checkers (jing, xmllint, Python's feedparser and ElementTree) on a written file;
// shared by the feed tests and the end-to-end build tests.

import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** RFC 4287 Appendix B; CI clones the repository with shared/ beside it. */
export const atomSchemaPath = path.resolve(projectRoot, '../shared/schemas/atom.rnc');
/** The RFC 4287 rules RELAX NG cannot state (author, alternate link, date offsets). */
export const atomRulesPath = path.resolve(projectRoot, '../shared/schemas/atom-rules.sch');
/** Debian's python3 has feedparser; a plain `python3` on PATH may not. */
export const pythonPath = '/usr/bin/python3';

/** Clark-notation prefixes, as ElementTree names elements and attributes: `${ns.atom}entry`. */
export const ns = {
  atom: '{http://www.w3.org/2005/Atom}',
  content: '{http://purl.org/rss/1.0/modules/content/}',
  dc: '{http://purl.org/dc/elements/1.1/}',
  media: '{http://search.yahoo.com/mrss/}',
  xml: '{http://www.w3.org/XML/1998/namespace}',
} as const;

export interface ToolResult {
  readonly ok: boolean;
  /** What the tool printed (stdout and stderr), for the assertion message. */
  readonly output: string;
}

export interface XmlElement {
  /** Clark notation: `{namespace}local`, or just `local` without a namespace. */
  readonly name: string;
  readonly attributes: Readonly<Record<string, string>>;
  /** Character data before the first child (feeds have no mixed content). */
  readonly text: string;
  readonly children: readonly XmlElement[];
}

export interface FeedparserResult {
  readonly bozo: boolean;
  readonly bozoException: string | null;
  /** "atom10", "rss20", … */
  readonly version: string;
  readonly feed: FeedparserDict;
  readonly entries: readonly FeedparserDict[];
}

export type FeedparserDict = Readonly<Record<string, unknown>>;

interface Run {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

function run(command: string, args: readonly string[]): Run {
  const result = spawnSync(command, args, {
    encoding: 'utf8',
    timeout: 60_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error !== undefined) throw new Error(`could not run ${command}: ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** `jing -c atom.rnc file`: valid when it exits 0 and reports nothing. */
export function validateAtomWithJing(file: string, schema: string = atomSchemaPath): ToolResult {
  const result = run('jing', ['-c', schema, file]);
  // Debian's wrapper script warns on stderr about optional jars it cannot find; those are not findings.
  const output = `${result.stdout}${result.stderr}`
    .split('\n')
    .filter((line) => line.trim() !== '' && !line.startsWith('[warning] /usr/bin/jing:'))
    .join('\n');
  return { ok: result.status === 0 && output === '', output };
}

/** `xmllint --noout --schematron atom-rules.sch file`: it exits 0 even on some failures, so "validates" must be said. */
export function checkAtomSchematron(file: string, rules: string = atomRulesPath): ToolResult {
  const result = run('xmllint', ['--noout', '--schematron', rules, file]);
  const output = `${result.stdout}${result.stderr}`.trim();
  return { ok: result.status === 0 && output === `${file} validates`, output };
}

/** `xmllint --noout file`: the document is well-formed XML 1.0 (with its namespaces). */
export function checkWellFormed(file: string): ToolResult {
  const result = run('xmllint', ['--noout', file]);
  const output = `${result.stdout}${result.stderr}`.trim();
  return { ok: result.status === 0 && output === '', output };
}

const FEEDPARSER_SCRIPT = `
import json, sys, feedparser
d = feedparser.parse(sys.argv[1])
json.dump({
    "bozo": bool(d.bozo),
    "bozoException": str(d.get("bozo_exception")) if d.bozo else None,
    "version": d.version,
    "feed": d.feed,
    "entries": d.entries,
}, sys.stdout, default=str, ensure_ascii=False)
`;

/** What a real reader library makes of the file (feedparser 6, as used by many aggregators). */
export function parseWithFeedparser(file: string): FeedparserResult {
  const result = run(pythonPath, ['-c', FEEDPARSER_SCRIPT, file]);
  if (result.status !== 0) throw new Error(`feedparser failed on ${file}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as FeedparserResult;
}

const TREE_SCRIPT = `
import json, sys, xml.etree.ElementTree as ET
def convert(e):
    return {"name": e.tag, "attributes": e.attrib, "text": e.text or "", "children": [convert(c) for c in e]}
json.dump(convert(ET.parse(sys.argv[1]).getroot()), sys.stdout, ensure_ascii=False)
`;

/** The document as a tree, parsed by expat (strict XML 1.0 + namespaces), to assert on structure. */
export function readXmlTree(file: string): XmlElement {
  const result = run(pythonPath, ['-c', TREE_SCRIPT, file]);
  if (result.status !== 0) throw new Error(`ElementTree failed on ${file}:\n${result.stderr}`);
  return JSON.parse(result.stdout) as XmlElement;
}

export function childrenNamed(parent: XmlElement, name: string): XmlElement[] {
  return parent.children.filter((child) => child.name === name);
}

/** The one child called `name`; throws when there is none or more than one. */
export function childNamed(parent: XmlElement, name: string): XmlElement {
  const found = childrenNamed(parent, name);
  const [only] = found;
  if (only === undefined || found.length > 1) {
    throw new Error(`expected one <${name}> in <${parent.name}>, found ${found.length}`);
  }
  return only;
}

export function* descendants(root: XmlElement): Generator<XmlElement> {
  yield root;
  for (const child of root.children) yield* descendants(child);
}
