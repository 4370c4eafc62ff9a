// Parsing a large site on worker threads gives the same articles and errors as parsing on the main thread.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateArticle } from '../bench/generate.ts';
import { startEmailCompiler } from '../src/build/compile-emails.ts';
import {
  type ParseWorker,
  parseArticles,
  planParseWorkers,
  startParseWorkers,
} from '../src/build/parse-parallel.ts';
import { readPageTemplates } from '../src/build/read-templates.ts';
import { type Content, parseContent, planContent } from '../src/content/content.ts';
import type { ContentSources } from '../src/content/read-content.ts';
import { parseSite } from '../src/content/settings.ts';
import { KurierError } from '../src/error.ts';
import type { Article } from '../src/model.ts';
import { renderPages } from '../src/render/pages.ts';
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

/** The content as a build parses it: the articles on `workers` and on this thread. */
async function parseContentInParallel(
  input: ContentSources,
  workers: readonly ParseWorker[],
): Promise<Content> {
  const site = parseSite(input.settings.text, input.settings.path);
  return planContent(site, (await parseArticles(input.articles, site, workers)).results);
}

describe('parseContentInParallel', () => {
  it('gives exactly what the one-thread parse gives, on a site large enough for worker threads', async () => {
    const input = sources(700);
    const parallel = await parseContentInParallel(input, startParseWorkers(settings, 700, { count: 1 }));
    const serial = parseContent(input);
    expect(parallel.articles).toHaveLength(700);
    expect(parallel).toEqual(serial);
  });

  it('parses in worker threads alone when this thread does not take a share', async () => {
    const input = sources(100, [7]);
    const site = parseContent(sources(1)).site;
    const results = await parseArticles(
      input.articles,
      site,
      startParseWorkers(settings, 100, { count: 2 }),
      {
        mainThreadShare: false,
      },
    );
    expect(
      results.results.map((result) => (result instanceof KurierError ? result.code : result.slug)),
    ).toEqual(input.articles.map((_, index) => (index === 7 ? 'FRONT_MATTER_INVALID' : `artikel-${index}`)));
  });

  it('reports the same errors, in file order, from whichever thread parsed them', async () => {
    const input = sources(700, [3, 650]);
    const parallel = await errorOf(() =>
      parseContentInParallel(input, startParseWorkers(settings, 700, { count: 1 })),
    );
    const serial = await errorOf(() => parseContent(input));
    expect([parallel.file, ...parallel.problems.map((problem) => problem.file)]).toEqual([
      'content/posts/artikel-3.md',
      'content/posts/artikel-650.md',
    ]);
    expect(parallel.problems.map((problem) => problem.message)).toEqual(
      serial.problems.map((problem) => problem.message),
    );
  });

  it('renders in the workers the very pages renderPages makes, and leaves a failing page to this thread', async () => {
    const input = sources(120);
    const site = parseSite(settings.text, settings.path);
    const templates = await readPageTemplates(path.join(repoRoot, 'templates'));
    const run = (pageTemplates: typeof templates) =>
      parseArticles(input.articles, site, startParseWorkers(settings, 120, { count: 2, pageTemplates }), {
        mainThreadShare: false,
      });
    const { results, pages } = await run(templates);
    const articles = results.filter((result): result is Article => !(result instanceof KurierError));
    expect(pages.size).toBe(120);
    const expected = [...renderPages(site, articles, templates)].slice(2);
    expect(
      articles.map((article) => Buffer.from(pages.get(article) ?? new Uint8Array()).toString('utf8')),
    ).toEqual(expected.map((file) => file.content));

    expect((await parseArticles(input.articles, site, [])).pages.size).toBe(0);

    // A field the data lacks fails in strict mode: the worker leaves that page out, the article is kept.
    const failing = await run({ ...templates, article: `${templates.article}{{article.nonexistent}}` });
    expect(failing.pages.size).toBe(0);
    expect(failing.results.filter((result) => result instanceof KurierError)).toEqual([]);
  });

  it('renders on the workers the pages of the articles this thread parsed too, and none of a draft', async () => {
    const input = sources(400);
    const draft = input.articles[5];
    if (draft === undefined) throw new Error('no article 5');
    const drafted = {
      ...input,
      articles: input.articles.map((file) =>
        file === draft
          ? { ...file, text: file.text.replace('author: Rolevinck', 'author: Rolevinck\ndraft: true') }
          : file,
      ),
    };
    const site = parseSite(settings.text, settings.path);
    const templates = await readPageTemplates(path.join(repoRoot, 'templates'));
    const taken: string[] = [];
    const { results, pages } = await parseArticles(
      drafted.articles,
      site,
      startParseWorkers(settings, 400, { count: 1, pageTemplates: templates }),
      {
        pagesOnWorkers: true,
        // Every tenth page is taken as it comes, as a first build writes it; the rest are kept.
        takePage: (article) => {
          if (!article.slug.endsWith('0')) return false;
          taken.push(article.slug);
          return true;
        },
      },
    );
    const articles = results.filter((result): result is Article => !(result instanceof KurierError));
    const published = articles.filter((article) => !article.draft);
    expect(published).toHaveLength(399);
    expect(taken.sort()).toEqual(
      published
        .map((article) => article.slug)
        .filter((slug) => slug.endsWith('0'))
        .sort(),
    );
    expect(pages.size).toBe(399 - taken.length);
    const expected = new Map(
      [...renderPages(site, published, templates)].slice(2).map((file) => [file.path, file.content]),
    );
    for (const [article, page] of pages) {
      expect(Buffer.from(page).toString('utf8'), article.slug).toBe(
        expected.get(`${article.path}index.html`),
      );
    }
    expect(articles.find((article) => article.draft)?.slug).toBe('artikel-5');
    expect([...pages.keys()].some((article) => article.draft)).toBe(false);
  });

  it('parses on one thread on two cores up to 2,500 articles, where the worker shares its core with the email thread', () => {
    expect([999, 2499, 2500, 10_000].map((count) => planParseWorkers(count, 2))).toEqual([0, 0, 1, 1]);
    expect([299, 300, 1000].map((count) => planParseWorkers(count, 4))).toEqual([0, 3, 3]);
    expect(planParseWorkers(1000, 3)).toBe(2);
    expect(planParseWorkers(50_000, 1)).toBe(0);
  });

  it('without a worker, has the email thread render the pages of a site large enough, the very pages renderPages makes', async () => {
    const site = parseSite(settings.text, settings.path);
    const pageTemplates = await readPageTemplates(path.join(repoRoot, 'templates'));
    const compiler = startEmailCompiler();
    try {
      const asked: number[] = [];
      const renderElsewhere = (articles: readonly Article[]) => {
        asked.push(articles.length);
        return compiler.renderPages({ site, pageTemplates, articles });
      };
      const large = sources(240);
      const { results, pages } = await parseArticles(large.articles, site, [], {
        pagesOnWorkers: true,
        renderElsewhere,
      });
      const articles = results.filter((result): result is Article => !(result instanceof KurierError));
      expect(asked.reduce((sum, count) => sum + count, 0)).toBe(240);
      const expected = [...renderPages(site, articles, pageTemplates)].slice(2);
      expect(
        articles.map((article) => Buffer.from(pages.get(article) ?? new Uint8Array()).toString('utf8')),
      ).toEqual(expected.map((file) => file.content));

      // A small site's pages stay with this thread: the email thread is still loading MJML.
      asked.length = 0;
      const small = await parseArticles(sources(20).articles, site, [], {
        pagesOnWorkers: true,
        renderElsewhere,
      });
      expect([asked, small.pages.size]).toEqual([[], 0]);
    } finally {
      await compiler.stop();
    }
  });
});
