// Parsing a large site on worker threads gives the same articles and errors as parsing on the main thread.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateArticle } from '../bench/generate.ts';
import { parseContent, parseContentInParallel } from '../src/content/content.ts';
import { parseArticles, startParseWorkers } from '../src/content/parse-parallel.ts';
import type { ContentSources } from '../src/content/read-content.ts';
import { KurierError } from '../src/error.ts';
import { repoRoot } from './support/project.ts';

const settings = {
  path: 'content/site.yaml',
  text: readFileSync(path.join(repoRoot, 'content', 'site.yaml'), 'utf8'),
};

function sources(count: number, broken: readonly number[] = []): ContentSources {
  return {
    settings,
    articles: Array.from({ length: count }, (_, index) => ({
      path: `content/posts/artikel-${index}.md`,
      text: broken.includes(index)
        ? generateArticle(index).replace(/^date: .*$/m, 'date: 26.11.')
        : generateArticle(index),
    })),
  };
}

function errorOf(run: () => unknown): Promise<KurierError> {
  return Promise.resolve()
    .then(run)
    .then(
      () => {
        throw new Error('expected a KurierError');
      },
      (error: unknown) => {
        if (error instanceof KurierError) return error;
        throw error;
      },
    );
}

describe('parseContentInParallel', () => {
  it('gives exactly what the one-thread parse gives, on a site large enough for worker threads', async () => {
    const input = sources(700);
    const parallel = await parseContentInParallel(input, startParseWorkers(settings, input.articles.length));
    const serial = parseContent(input);
    expect(parallel.articles).toHaveLength(700);
    expect(parallel).toEqual(serial);
  });

  it('parses in worker threads alone when this thread does not take a share', async () => {
    const input = sources(100, [7]);
    const site = parseContent(sources(1)).site;
    const results = await parseArticles(input.articles, site, startParseWorkers(settings, 100, 2), {
      mainThreadShare: false,
    });
    expect(results.map((result) => (result instanceof KurierError ? result.code : result.slug))).toEqual(
      input.articles.map((_, index) => (index === 7 ? 'FRONT_MATTER_INVALID' : `artikel-${index}`)),
    );
  });

  it('reports the same errors, in file order, from whichever thread parsed them', async () => {
    const input = sources(700, [3, 650]);
    const parallel = await errorOf(() => parseContentInParallel(input, startParseWorkers(settings, 700)));
    const serial = await errorOf(() => parseContent(input));
    expect([parallel.file, ...parallel.problems.map((problem) => problem.file)]).toEqual([
      'content/posts/artikel-3.md',
      'content/posts/artikel-650.md',
    ]);
    expect(parallel.problems.map((problem) => problem.message)).toEqual(
      serial.problems.map((problem) => problem.message),
    );
  });
});
