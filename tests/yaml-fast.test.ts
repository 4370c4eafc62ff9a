import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateArticle } from '../bench/generate.ts';
import { splitFrontMatter } from '../src/content/article.ts';
import { type ParsedYaml, parseFullYaml, parseSimpleYaml } from '../src/content/yaml.ts';
import { repoRoot } from './support/project.ts';

const PATHS: readonly (readonly PropertyKey[])[] = [
  [],
  ['id'],
  ['title'],
  ['date'],
  ['tags'],
  ['tags', 0],
  ['tags', 1],
  ['tags', 7],
  ['tags', 'x'],
  ['image', 'alt'],
  ['missing'],
  ['draft'],
];

/** The fast path must give exactly the data and lines the full parser gives. */
function expectSame(source: string, fast: ParsedYaml): void {
  const full = parseFullYaml(source, 'x.md', 2);
  expect(JSON.stringify(fast.data)).toBe(JSON.stringify(full.data));
  expect(fast.data).toStrictEqual(full.data);
  for (const key of PATHS) expect(fast.lineOf(key), String(key)).toBe(full.lineOf(key));
}

const SIMPLE = [
  'id: tag:kurier.example,2026:a\ntitle: "Artikel 5: Werkshalle auf“ Förderturm"\ndate: 2026-11-26',
  "title: 'Größe <b> & Co'\ntags: [Bochum, Strukturwandel]\ndraft: false",
  'title: C# und C++ für alle\ntags:\n  - Bochum\n  - Ruhr gebiet\n\n# a comment\ndraft: True',
  'title: Plain with "quotes" inside and a:colon\ntags: []\nslug: a-b',
  'tags:\n- eins\n- zwei\ntitle: x',
  'date: 2026-11-26T08:00:00+01:00   \nupdated: 2026-11-27',
  'title: yes\nlang: de-AT\nsummary: no',
];

const UNUSUAL = [
  '',
  'title: 42',
  'title: 1.5',
  'title: ~',
  'title: null',
  'draft:',
  'title: "with \\" escape"',
  "title: 'it''s'",
  'title: a # comment',
  'title: "a" # comment',
  'title: plain\n  continued',
  'summary: >-\n  folded',
  'summary: |\n  literal',
  'image:\n  src: a.png\n  alt: b',
  'title: a\ntitle: b',
  'title: &anchor a',
  'title: *alias',
  'title: !tag a',
  'title: [a, [b]]',
  'tags: [a, "b"]',
  'tags: [a, true]',
  'tags: [a,]',
  'tags: [a',
  'title: {a: b}',
  'title:\tx',
  'title: a\r\nslug: b',
  'title: ends with colon:',
  'title: -starts-with-dash',
  'tags:\n  - a\n   - b',
  'tags:\n  - a: b',
  'tags:\n  - 12',
  '"title": x',
  '  title: x',
  'title: "unterminated',
  'title: a\u0001b',
  '? complex\n: key',
];

describe('the fast front-matter path', () => {
  it('gives what the full YAML parser gives, data and lines, on front matter as it is usually written', () => {
    for (const source of SIMPLE) {
      const fast = parseSimpleYaml(source, 2);
      expect(fast, source).toBeDefined();
      if (fast !== undefined) expectSame(source, fast);
    }
  });

  it('leaves everything unusual to the full parser, which gives the errors and their lines', () => {
    for (const source of UNUSUAL) expect(parseSimpleYaml(source, 2), source).toBeUndefined();
  });

  it('handles every generated benchmark article and agrees with the full parser on the sample', async () => {
    for (let index = 0; index < 200; index++) {
      const { frontMatter } = splitFrontMatter(generateArticle(index), 'x.md');
      const fast = parseSimpleYaml(frontMatter, 2);
      expect(fast).toBeDefined();
      if (fast !== undefined) expectSame(frontMatter, fast);
    }
    const posts = path.join(repoRoot, 'content', 'posts');
    for (const name of await readdir(posts)) {
      const { frontMatter } = splitFrontMatter(await readFile(path.join(posts, name), 'utf8'), name);
      const fast = parseSimpleYaml(frontMatter, 2);
      if (fast !== undefined) expectSame(frontMatter, fast);
    }
  });
});
