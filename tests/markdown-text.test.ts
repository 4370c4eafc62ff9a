// The fast GFM text scanner against marked's own rule: the same end on every string, the same tokens and HTML.
// marked is imported here too, as the oracle: the scanner is only right if it agrees with the real thing.

import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { Lexer, type MarkedOptions, Parser, Tokenizer } from 'marked';
import { describe, expect, it } from 'vitest';
import { generateArticle, random } from '../bench/generate.ts';
import { splitFrontMatter } from '../src/content/article.ts';
import { GfmTextTokenizer, gfmTextEnd } from '../src/content/markdown.ts';
import { repoRoot } from './support/project.ts';
import { lacks } from './support/requirements.ts';

const reference = new Tokenizer();
const marked: MarkedOptions = { gfm: true, breaks: false, tokenizer: reference };
const fast: MarkedOptions = { gfm: true, breaks: false, tokenizer: new GfmTextTokenizer() };
// The lexer hands its tokenizer the rules of its options.
new Lexer(marked);
const rule = reference.rules.inline.text;

/** Pieces weighted towards what the rule looks at: every character and word its lookaheads test. */
const PIECES = [
  ...'abcdefghijklmnopqrstuvwxyzABCXYZ0189',
  ...'aaaeeeinnrsstt',
  ...'`~*_\\<>![]()@.:/ -+#&|"\'?={}%$,;^',
  ' ',
  ' ',
  '  ',
  '   ',
  '  \n',
  '\n',
  '\n\n',
  '\t',
  '\r',
  '\u00a0',
  '\u3000',
  '\u2028',
  '\ufeff',
  '\ud83d',
  '\ude00',
  'ä',
  'ö',
  'Ü',
  'ß',
  'é',
  '„',
  '“',
  '–',
  '``',
  '~~',
  '**',
  '__',
  'www.',
  'www',
  '(www.',
  'http',
  'HTTP',
  'htt',
  'https://',
  'Https://a.de',
  'ftp://',
  'FTP:/',
  'ftp:',
  'mailto:',
  'mailto',
  'xmpp:',
  'XMPP:',
  'a@b.de',
  'nutzer.name+tag@',
  '@',
  '&#65;',
  '&#x1;',
  '&amp;',
  '&#38;',
  '<code>',
  '</code>',
  '<pre>',
  '</pre>',
  '<kbd>',
  '<script>',
  '<span>',
  '<a href="x">',
  '</a>',
  '[a](b)',
  '![b](c.png)',
  '`x`',
  '\\*',
  '# ',
  '- ',
  '1. ',
  '> ',
  '    ',
  '| a | b |\n|---|---|\n',
  'a | b\n',
  '--- | ---\n',
  ' :-|-:\n',
  '   -|-\n',
  '    |-\n',
  '|c|\n',
  '\n===\n',
  '\n-',
  '\n  --\n',
  '\n   =',
  '\n    -\n',
  '\n \u00a0\n',
  '\n\t\n',
  'Straße',
  'Förderturm',
  'Glück auf',
];

function randomStrings(seed: number, count: number, maxPieces: number): string[] {
  const next = random(seed);
  return Array.from({ length: count }, () => {
    const pieces = Math.floor(next() * maxPieces);
    let text = '';
    for (let index = 0; index < pieces; index++) text += PIECES[Math.floor(next() * PIECES.length)];
    return text;
  });
}

function markedEnd(src: string): number {
  return rule.exec(src)?.[0].length ?? 0;
}

/** Every suffix, as the inline lexer hands the rest of a paragraph to the text rule after each token. */
function expectSameEnds(text: string): void {
  for (let start = 0; start <= text.length; start++) {
    const src = text.slice(start);
    if (gfmTextEnd(src) !== markedEnd(src)) {
      expect({ src, end: gfmTextEnd(src) }).toEqual({ src, end: markedEnd(src) });
    }
  }
}

function expectSameMarkdown(markdown: string): void {
  const expected = Lexer.lex(markdown, marked);
  const actual = Lexer.lex(markdown, fast);
  const same = JSON.stringify(actual) === JSON.stringify(expected);
  if (!same) expect({ markdown, tokens: actual }).toEqual({ markdown, tokens: expected });
  expect(Parser.parse(actual, fast)).toBe(Parser.parse(expected, marked));
  const inlineExpected = Lexer.lexInline(markdown, marked);
  const inlineActual = Lexer.lexInline(markdown, fast);
  if (JSON.stringify(inlineActual) !== JSON.stringify(inlineExpected)) {
    expect({ markdown, tokens: inlineActual }).toEqual({ markdown, tokens: inlineExpected });
  }
}

function bodyOf(source: string): string {
  return splitFrontMatter(source, 'x.md').body;
}

describe('gfmTextEnd', () => {
  it('is the GFM text rule of the installed marked (else the scanner is never used)', () => {
    expect(rule.flags).toBe('');
    expect(markedEnd('Glück auf, Bochum')).toBe(gfmTextEnd('Glück auf, Bochum'));
  });

  it.each([
    ['Glück auf, Bochum', 17],
    ['Text *betont*', 5],
    ['Kurz vor http', 9],
    ['vor www.a.de', 4],
    ['vorwww.a.de', 11],
    ['Schreib an x@y.de', 11],
    ['Zeile  \nweiter', 5],
    ['an mailto:a@b.de', 3],
    ['``code', 6],
    ['~~~x', 4],
    ['a&#65;b', 7],
    ['', 0],
  ])('ends %j where marked does (%i)', (src, end) => {
    expect(gfmTextEnd(src)).toBe(end);
    expect(markedEnd(src)).toBe(end);
  });

  it('ends where marked does on 20,000 random strings and every suffix of them', () => {
    for (const text of randomStrings(11, 20_000, 24)) expectSameEnds(text);
  });

  it('ends where marked does on 50,000 near misses of what the lookaheads look for', () => {
    const characters = [...'hHtTpPsfFwW.:/mailtoxXMp@ \n*_`~\\<!([a1-.\u00e4'];
    const words = ['http', 'HTTPS://', 'ftp://', 'FTP://', 'www.', 'mailto:', 'xmpp:', '  \n', 'a.b@', '*x@'];
    const next = random(37);
    const pick = <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T;
    for (let index = 0; index < 50_000; index++) {
      let text = '';
      const pieces = 1 + Math.floor(next() * 5);
      for (let piece = 0; piece < pieces; piece++) {
        if (next() < 0.4) {
          text += pick(characters);
          continue;
        }
        // One character of the word replaced, left out or kept.
        const word = pick(words);
        const at = Math.floor(next() * word.length);
        const change = next();
        text +=
          change < 0.4
            ? word.slice(0, at) + pick(characters) + word.slice(at + 1)
            : change < 0.6
              ? word.slice(0, at) + word.slice(at + 1)
              : word;
      }
      expectSameEnds(text);
    }
  });

  it('reads "\\s" before "www." as JavaScript does, for every UTF-16 code unit', () => {
    for (let code = 0; code <= 0xffff; code++) {
      const src = `a${String.fromCharCode(code)}www.x`;
      if (gfmTextEnd(src) !== markedEnd(src)) expect({ code, end: gfmTextEnd(src) }).toBe(markedEnd(src));
    }
  });
});

describe('GfmTextTokenizer', () => {
  it.each([
    'Titel\nzweite Zeile\n===',
    'a\nx\n---\nb',
    'a\nx\ny\n   =\n',
    'a\n \u00a0\n===',
    'a\n\n===',
    'a\n    ===',
    'a\u2028b\n---',
    '| a | b |\n|---|---|\n| 1 | 2 |',
    'a | b\n   --- | ---\nc | d',
    'a | b\n    --- | ---',
    'a\n:-:|',
  ])('lexes %j as marked does', (markdown) => {
    expectSameMarkdown(markdown);
  });

  it('gives the tokens and HTML marked gives, on 6,000 random documents (tables and setext headings too)', () => {
    for (const markdown of randomStrings(23, 6_000, 60)) expectSameMarkdown(markdown);
  });

  it('gives the same tokens on the sample and the benchmark corpus', async () => {
    const posts = path.join(repoRoot, 'content/posts');
    for (const name of await readdir(posts)) {
      expectSameMarkdown(bodyOf(await readFile(path.join(posts, name), 'utf8')));
    }
    for (let index = 0; index < 200; index++) expectSameMarkdown(bodyOf(generateArticle(index)));
  });

  it.skipIf(lacks('seed'))('gives the same tokens on the seed article', async () => {
    const seed = await readFile(path.resolve(repoRoot, '../shared/seed/article.txt'), 'utf8');
    expectSameMarkdown(seed);
    expectSameEnds(seed);
  });
});
