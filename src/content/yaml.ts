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
