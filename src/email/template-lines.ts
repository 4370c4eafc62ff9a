// A line of MJML's input (the template after Handlebars) → the line of the .mjml.hbs template or partial
// it came from, so that an MJML error names the line the author edits, not one of the filled-in text.

import type { TemplateSource } from './read-templates.ts';

export interface SourceLine {
  readonly file: string;
  readonly line: number;
}

// Lines compared either side of the one asked about: enough to tell apart repeated lines such as
// "</mj-column>", few enough that a value spanning lines nearby does not outweigh the line itself.
const CONTEXT = 3;

/**
 * Handlebars keeps a template's literal text, so each filled line is its source line with the mustaches
 * filled in: a source line is a pattern in which every `{{…}}` matches anything. The answer is the source
 * line that matches the filled line and most of its neighbours; undefined when no source line matches
 * (the line is part of a value, such as the article's HTML).
 */
export function findSourceLine(
  filled: string,
  filledLine: number,
  sources: readonly TemplateSource[],
): SourceLine | undefined {
  const lines = filled.split('\n').map((line) => line.trim());
  const index = filledLine - 1;
  const target = lines[index];
  if (target === undefined || target === '') return undefined;
  let best: { readonly place: SourceLine; readonly score: number } | undefined;
  for (const source of sources) {
    const patterns = source.source.split('\n').map(linePattern);
    patterns.forEach((pattern, at) => {
      if (pattern === undefined || !pattern.test(target)) return;
      let score = 0;
      for (let offset = -CONTEXT; offset <= CONTEXT; offset += 1) {
        const neighbour = lines[index + offset];
        if (offset !== 0 && neighbour !== undefined && patterns[at + offset]?.test(neighbour) === true)
          score += 1;
      }
      if (best === undefined || score > best.score)
        best = { place: { file: source.file, line: at + 1 }, score };
    });
  }
  return best?.place;
}

/** A source line as a pattern for its filled-in form; undefined for lines that say nothing by themselves. */
function linePattern(line: string): RegExp | undefined {
  const parts = line.trim().split(/\{\{\{?[\s\S]*?\}?\}\}/);
  const literal = parts.join('');
  if (!/[<>\w]/.test(literal)) return undefined;
  return new RegExp(
    `^${parts.map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('[\\s\\S]*?')}$`,
  );
}
