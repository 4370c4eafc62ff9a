// splitFrontMatter against the line-array version it replaced (split, findIndex, join), kept here as the
// oracle: the same front matter, body and errors on random sources built from the characters it reads.

import { describe, expect, it } from 'vitest';
import { generateArticle, random } from '../bench/generate.ts';
import { splitFrontMatter } from '../src/content/article.ts';
import { normalizeText } from '../src/content/text.ts';

function splitByLines(source: string): { frontMatter: string; body: string } | 'missing' | 'unclosed' {
  const text = normalizeText(source.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n'));
  const lines = text.split('\n');
  if (lines[0]?.trimEnd() !== '---') return 'missing';
  const end = lines.findIndex((line, index) => index > 0 && /^(---|\.\.\.)\s*$/.test(line));
  if (end === -1) return 'unclosed';
  return { frontMatter: lines.slice(1, end).join('\n'), body: lines.slice(end + 1).join('\n') };
}

function split(source: string): { frontMatter: string; body: string } | 'missing' | 'unclosed' {
  try {
    const { frontMatter, body, frontMatterLine } = splitFrontMatter(source, 'x.md');
    expect(frontMatterLine).toBe(2);
    return { frontMatter, body };
  } catch (error) {
    expect(error).toMatchObject({ code: 'FRONT_MATTER_MISSING', file: 'x.md', line: 1 });
    return (error as Error).message.includes('not closed') ? 'unclosed' : 'missing';
  }
}

const PIECES = [
  '---',
  '--',
  '...',
  '..',
  '-',
  '.',
  '\n',
  '\n',
  '\r',
  '\r\n',
  ' ',
  '\t',
  '\u2028',
  '\u00a0',
  '\ufeff',
  'a',
  'title: x',
  '\u0001',
  'u\u0308',
];

describe('splitFrontMatter', () => {
  it('splits 30,000 random sources as the line-array version did', () => {
    const next = random(5);
    let closed = 0;
    for (let index = 0; index < 30_000; index++) {
      let source = next() < 0.7 ? '---\n' : '';
      const pieces = Math.floor(next() * 14);
      for (let piece = 0; piece < pieces; piece++) source += PIECES[Math.floor(next() * PIECES.length)];
      const expected = splitByLines(source);
      if (typeof expected === 'object') closed++;
      expect({ source, split: split(source) }).toEqual({ source, split: expected });
    }
    // The random sources reach every outcome, not only the errors.
    expect(closed).toBeGreaterThan(1500);
  });

  it('splits the benchmark corpus as the line-array version did', () => {
    for (let index = 0; index < 100; index++) {
      const source = generateArticle(index);
      expect(split(source)).toEqual(splitByLines(source));
      expect(split(source.replaceAll('\n', '\r\n'))).toEqual(splitByLines(source));
    }
  });
});
