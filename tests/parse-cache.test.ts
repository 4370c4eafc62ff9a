// The parse cache of the build: articles parsed once and reused while their bytes and the code are the same.

import { lstat, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateArticle, generateProject } from '../bench/generate.ts';
import { buildPublication } from '../src/build/build.ts';
import {
  type BuildMemory,
  planCodeVersion,
  planStamp,
  readParseCache,
  writeParseCache,
} from '../src/build/parse-cache.ts';
import { type Disk, realDisk } from '../src/build/write-out.ts';
import { stampOf } from '../src/content/read-content.ts';
import { expectSameFiles, readTree, repoRoot, runCli, useProjects } from './support/project.ts';

const { project } = useProjects();

const SLUG = 'bochum-leben-nach-der-industrie';
const ARTICLE = `content/posts/${SLUG}.md`;

async function build(root: string): Promise<string> {
  const run = await runCli(root, ['build']);
  expect(run.err).toEqual([]);
  expect(run.code).toBe(0);
  return run.out.at(-1) ?? '';
}

/** out/ of a fresh copy of `root`'s sources, built without any cache. */
async function coldBuild(root: string): Promise<Map<string, Buffer>> {
  const cold = await project();
  for (const file of ['content/site.yaml', ARTICLE, 'templates/article.hbs']) {
    await writeFile(path.join(cold, file), await readFile(path.join(root, file)));
  }
  await build(cold);
  return readTree(path.join(cold, 'out'));
}

async function expectSameTree(root: string): Promise<void> {
  expectSameFiles(await readTree(path.join(root, 'out')), await coldBuild(root));
}

describe('the parse cache', () => {
  it('takes an unchanged article from the cache and leaves its page in out/ as it is', async () => {
    const root = await project();
    await build(root);
    const state = path.join(root, '.kurier');
    const cache = await readParseCache(state);
    const entry = cache?.articles.get(ARTICLE);
    expect(entry?.article.title).toBe('Bochum zeigt: Es gibt ein Leben nach der Industrie');
    // A title only the cache knows shows that the source was not parsed again.
    const marked = { ...entry, article: { ...entry?.article, title: 'Aus dem Cache' } };
    await writeParseCache(state, { key: cache?.key ?? '', articles: new Map([[ARTICLE, marked as never]]) });
    const page = path.join(root, 'out', SLUG, 'index.html');
    const before = await stat(page);
    await rm(path.join(root, 'out', 'index.html'));
    expect(await build(root)).toContain('(1 written, 8 unchanged)');
    expect(await readFile(path.join(root, 'out', 'index.html'), 'utf8')).toContain('Aus dem Cache');
    expect((await stat(page)).mtimeMs).toBe(before.mtimeMs);

    const source = path.join(root, ARTICLE);
    await writeFile(source, (await readFile(source, 'utf8')).replace('Neuerfindung.', 'Neuerfindung!'));
    expect(await build(root)).toMatch(/\(\d+ written/);
    await expectSameTree(root);
  });

  it('ignores a damaged cache and a damaged page record', async () => {
    const root = await project();
    await build(root);
    const cacheDir = path.join(root, '.kurier', 'cache');
    const text = await readFile(path.join(cacheDir, 'articles.json'), 'utf8');
    await writeFile(path.join(cacheDir, 'articles.json'), text.replace('Bochum', 'Bonn'));
    await writeFile(path.join(cacheDir, 'pages.json'), '{"outDir": 1, "pages": [');
    await writeFile(path.join(root, 'templates', 'article.hbs'), '{{article.title}}\n');
    expect(await build(root)).toContain('(1 written, 8 unchanged)');
    await expectSameTree(root);
    await writeFile(path.join(cacheDir, 'articles.json'), '');
    expect(await build(root)).toContain('(0 written, 9 unchanged)');
  });

  it('parses again when the settings change, and renders again a page changed in out/', async () => {
    const root = await project();
    await build(root);
    const settings = path.join(root, 'content', 'site.yaml');
    await writeFile(
      settings,
      (await readFile(settings, 'utf8')).replace(
        'baseUrl: https://kurier.example/',
        'baseUrl: https://kurier.example/blog/',
      ),
    );
    await build(root);
    await expectSameTree(root);
    const page = path.join(root, 'out', SLUG, 'index.html');
    await writeFile(page, 'von Hand geändert');
    expect(await build(root)).toContain('(1 written, 8 unchanged)');
    await expectSameTree(root);
  });

  it('trusts the stamp of an unchanged article instead of reading it, and reads it again once it changes', async () => {
    const root = await project();
    await build(root);
    const state = path.join(root, '.kurier');
    const cache = await readParseCache(state);
    const entry = cache?.articles.get(ARTICLE);
    if (cache === undefined || entry === undefined) throw new Error('no cache after a build');
    const source = path.join(root, ARTICLE);
    // A hash no read of the file can give: only a build that trusts the stamp takes the stored article.
    const marked = {
      hash: 'x',
      article: { ...entry.article, title: 'Aus dem Cache' },
      stamp: stampOf(await lstat(source)),
    };
    await writeParseCache(state, { ...cache, articles: new Map([[ARTICLE, marked]]) });
    await rm(path.join(root, 'out', 'index.html'));
    await build(root);
    expect(await readFile(path.join(root, 'out', 'index.html'), 'utf8')).toContain('Aus dem Cache');

    // Same bytes, new change time: the stamp no longer matches, so the file is read and hashed.
    await utimes(source, new Date(), new Date());
    await rm(path.join(root, 'out', 'index.html'));
    await build(root);
    expect(await readFile(path.join(root, 'out', 'index.html'), 'utf8')).not.toContain('Aus dem Cache');
    await expectSameTree(root);
  });

  it('keeps the HTML of the articles in the feeds, so that an edit does not parse the others again', async () => {
    const root = await project();
    await rm(path.join(root, 'content', 'posts'), { recursive: true });
    await generateProject(root, repoRoot, 25);
    await build(root);
    const state = path.join(root, '.kurier');
    const cache = await readParseCache(state);
    if (cache === undefined) throw new Error('no cache after a build');
    const html = (index: number) => cache.articles.get(`content/posts/artikel-${index}.md`)?.article.html;
    // The feeds carry the newest 20: artikel-5 to artikel-24.
    expect([html(24), html(5)].map((value) => typeof value)).toEqual(['string', 'string']);
    expect([html(4), html(0)]).toEqual([null, null]);

    // HTML only the cache holds reaches the feed: the unchanged article was not parsed again.
    const file = 'content/posts/artikel-23.md';
    const entry = cache.articles.get(file);
    if (entry === undefined) throw new Error('artikel-23 is not in the cache');
    const marked = { ...entry, article: { ...entry.article, html: '<p>Aus dem Cache</p>' } };
    await writeParseCache(state, { ...cache, articles: new Map([...cache.articles, [file, marked]]) });
    await writeFile(path.join(root, 'content', 'posts', 'artikel-24.md'), generateArticle(24, 300));
    expect(await build(root)).toContain('(7 written, 44 unchanged)');
    expect(await readFile(path.join(root, 'out', 'feed.xml'), 'utf8')).toContain('Aus dem Cache');
  });

  it('stamps on a first build the articles changed well before it started, by the file clock', async () => {
    const root = await project();
    // Older than the margin of planStamp: a first build may trust this file's stamp.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await build(root);
    const entry = (await readParseCache(path.join(root, '.kurier')))?.articles.get(ARTICLE);
    expect(entry?.stamp).toBe(stampOf(await lstat(path.join(root, ARTICLE))));
  });

  it('stamps only files changed well before the previous cache was written (file times are coarse)', () => {
    expect(planStamp('1:2:3:1000', 1000, undefined)).toBeUndefined();
    expect(planStamp('1:2:3:1000', 1000, 1500)).toBeUndefined();
    expect(planStamp('1:2:3:1000', 1000, 2500)).toBe('1:2:3:1000');
  });

  it('keys the cache by the code: bundled by its folder, from the sources by their hash', () => {
    expect(planCodeVersion()).toMatch(/^src-[0-9a-f]{16}$/);
  });
});

describe('a build that keeps its memory (kurier serve)', () => {
  it('writes the page, the index and the feeds of an edit before the email, and ends like a cold build', async () => {
    const root = await project();
    const memory: BuildMemory = {};
    const order: string[] = [];
    const out = path.join(root, 'out');
    const disk: Disk = {
      ...realDisk,
      renameSync: (from, to) => {
        if (String(from).endsWith('.tmp') && String(to).startsWith(`${out}${path.sep}`)) {
          order.push(path.relative(out, String(to)).split(path.sep).join('/'));
        }
        realDisk.renameSync(from, to);
      },
    };
    const options = {
      root,
      outDir: out,
      stateDir: path.join(root, '.kurier'),
      fullArticles: false,
      memory,
      emailsAfterPages: true,
      disk,
    };
    try {
      await buildPublication(options);
      const source = path.join(root, ARTICLE);
      await writeFile(source, (await readFile(source, 'utf8')).replace('Neuerfindung.', 'Neuerfindung!'));
      order.length = 0;
      const result = await buildPublication(options);
      // One write makes everything but the email visible; the next brings the compiled email.
      expect(order.slice(-2)).toEqual([`${SLUG}/email.html`, `${SLUG}/email.txt`]);
      expect(order.indexOf('feed.xml')).toBeLessThan(order.indexOf(`${SLUG}/email.html`));
      expect(order).toContain(`${SLUG}/index.html`);
      expect(result.written.filter((file) => file.changed).map((file) => file.path)).toContain(
        `${SLUG}/index.html`,
      );
      await expectSameTree(root);
    } finally {
      await memory.emails?.stop();
    }
  });
});
