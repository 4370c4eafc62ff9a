// YAML at the content boundary: settings and front matter become plain data plus a way to find a key's line.

import { isMap, isSeq, Lexer, LineCounter, parseDocument } from 'yaml';
import { KurierError } from '../error.ts';
import { normalizeText } from './text.ts';

export interface ParsedYaml {
  readonly data: unknown;
  /** The file line of the value at `path` (or of the nearest parent that exists), for error messages. */
  lineOf(path: readonly PropertyKey[]): number;
}

/**
 * Parses YAML whose first line is line `firstLine` of `file`. Only JSON-like values come out: the core schema
 * leaves dates as strings, so a date is checked by our schema rather than guessed by the YAML parser.
 */
export function parseYaml(source: string, file: string, firstLine = 1): ParsedYaml {
  return parseSimpleYaml(source, firstLine) ?? parseFullYaml(source, file, firstLine);
}

export function parseFullYaml(source: string, file: string, firstLine: number): ParsedYaml {
  const lineCounter = new LineCounter();
  const document = parseDocument(source, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    schema: 'core',
  });
  const toFileLine = (offset: number) => lineCounter.linePos(offset).line + firstLine - 1;
  const [error] = document.errors;
  if (error !== undefined) {
    const message = error.message.split('\n')[0] ?? error.message;
    throw new KurierError(
      'YAML_INVALID',
      `the YAML is broken: ${message}. Check indentation and quote values that contain ": " or start with a special character.`,
      { file, line: toFileLine(errorOffset(source, error.code, error.pos[0])), cause: error },
    );
  }
  return {
    // Escapes such as "\x01" in a quoted value make control characters the source text did not contain.
    data: normalizeValues(document.toJS({ maxAliasCount: 100 })),
    lineOf(path) {
      for (let depth = path.length; depth > 0; depth--) {
        const parentPath = path.slice(0, depth - 1);
        const key = path[depth - 1];
        const parent = parentPath.length === 0 ? document.contents : document.getIn(parentPath, true);
        if (isMap(parent)) {
          const pair = parent.items.find(
            (item) => String((item.key as { value?: unknown })?.value) === String(key),
          );
          const range = (pair?.key as { range?: [number, number, number] } | undefined)?.range;
          if (range) return toFileLine(range[0]);
        }
        if (isSeq(parent) && typeof key === 'number') {
          const range = (parent.items[key] as { range?: [number, number, number] } | undefined)?.range;
          if (range) return toFileLine(range[0]);
        }
      }
      return firstLine;
    },
  };
}

// The YAML 1.2 core schema's plain scalars that are not strings (yaml's core tags): left to the full parser.
const NOT_A_STRING =
  /^(?:~|[Nn]ull|NULL|[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+|[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?|[-+]?\.(?:inf|Inf|INF)|\.nan|\.NaN|\.NAN)$/;
const BOOLEAN = /^(?:([Tt]rue|TRUE)|[Ff]alse|FALSE)$/;
// A plain scalar that cannot mean anything but itself: no indicator first, no ": " or " #" inside, and none
// of the characters that would make it a flow collection, an alias, a tag or a quoted string.
const PLAIN = /^(?![-?:,[\]{}#&*!|>'"%@`])(?:[^:#\t]|:(?! |$)|(?<! )#)*$/;
// Control characters (tabs, CR), byte-order marks and non-characters: the full parser decides what they mean.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding them is the point
const UNUSUAL_CHARACTER = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\ufeff\ufffe\uffff]/;
const KEY = /^([A-Za-z_][A-Za-z0-9_-]*):(?: +(.*))?$/;
const FLOW_ITEM = /^(?![-?:[\]{}#&*!|>'"%@`])[^,[\]{}:#"'\t]+$/;

/** A scalar on one line: a plain, double-quoted (without escapes) or single-quoted string, or a boolean. */
function simpleScalar(text: string): string | boolean | undefined {
  const value = text.trimEnd();
  if (value.startsWith('"')) {
    const end = value.indexOf('"', 1);
    return end === value.length - 1 && !value.includes('\\') ? value.slice(1, -1) : undefined;
  }
  if (value.startsWith("'")) {
    const inner = value.slice(1, -1);
    return value.length > 1 && value.endsWith("'") && !inner.includes("'") ? inner : undefined;
  }
  if (value === '' || !PLAIN.test(value) || NOT_A_STRING.test(value)) return undefined;
  const boolean = BOOLEAN.exec(value);
  return boolean === null ? value : boolean[1] !== undefined;
}

interface SimpleEntry {
  readonly line: number;
  readonly value: unknown;
  /** Lines of a list's items. */
  readonly itemLines?: readonly number[];
}

/**
 * Front matter as nearly all of it is written: one field per line, with a one-line string or boolean, a
 * flow list `[a, b]` or a block list of such strings. Gives what the full parser gives, in a tenth of the
 * time; anything else (nesting, block scalars, escapes, numbers, comments after values, anchors, …) is
 * left to the full parser, which also gives every error message.
 */
export function parseSimpleYaml(source: string, firstLine = 1): ParsedYaml | undefined {
  if (UNUSUAL_CHARACTER.test(source)) return undefined;
  const lines = source.split('\n');
  const entries = new Map<string, SimpleEntry>();
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index] ?? '';
    if (line.trim() === '' || line.startsWith('#')) continue;
    const match = KEY.exec(line);
    if (match === null) return undefined;
    const [, key = '', rest = ''] = match;
    if (entries.has(key) || line.includes('\t')) return undefined;
    const next = lines[index + 1] ?? '';
    if (rest.trim() !== '') {
      if (/^\s/.test(next) && next.trim() !== '') return undefined;
      const value = rest.trimEnd();
      if (value.startsWith('[')) {
        if (!value.endsWith(']')) return undefined;
        const inner = value.slice(1, -1).trim();
        const items = inner === '' ? [] : inner.split(',').map((item) => item.trim());
        if (items.some((item) => !FLOW_ITEM.test(item) || simpleScalar(item) !== item)) return undefined;
        entries.set(key, { line: index, value: items, itemLines: items.map(() => index) });
        continue;
      }
      const scalar = simpleScalar(value);
      if (scalar === undefined) return undefined;
      entries.set(key, { line: index, value: scalar });
      continue;
    }
    const items: string[] = [];
    const itemLines: number[] = [];
    for (let item = index + 1; item < lines.length; item++) {
      const itemMatch = /^( *)- +(.*)$/.exec(lines[item] ?? '');
      if (itemMatch === null) break;
      if (itemMatch[1] !== /^( *)/.exec(lines[index + 1] ?? '')?.[1]) return undefined;
      const scalar = simpleScalar(itemMatch[2] ?? '');
      if (typeof scalar !== 'string') return undefined;
      items.push(scalar);
      itemLines.push(item);
    }
    if (items.length === 0) return undefined;
    entries.set(key, { line: index, value: items, itemLines });
    index += items.length;
  }
  if (entries.size === 0) return undefined;
  return {
    data: normalizeValues(Object.fromEntries([...entries].map(([key, entry]) => [key, entry.value]))),
    lineOf(path) {
      const entry = path.length === 0 ? undefined : entries.get(String(path[0]));
      if (entry === undefined) return firstLine;
      const item = typeof path[1] === 'number' ? entry.itemLines?.[path[1]] : undefined;
      return firstLine + (item ?? entry.line);
    },
  };
}

/**
 * The parser reports a missing closing quote where the text ends, lines after the mistake; the writer needs
 * the line where the quoted value opens: the last quoted scalar that starts before the reported position.
 */
function errorOffset(source: string, code: string, reported: number): number {
  if (code !== 'MISSING_CHAR') return reported;
  let offset = 0;
  let opening: number | undefined;
  for (const token of new Lexer().lex(source)) {
    if (offset > reported) break;
    if (token.startsWith('"') || token.startsWith("'")) opening = offset;
    offset += token.length;
  }
  return opening ?? reported;
}

function normalizeValues(value: unknown): unknown {
  if (typeof value === 'string') return normalizeText(value);
  if (Array.isArray(value)) return value.map(normalizeValues);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, normalizeValues(item)]));
  }
  return value;
}
