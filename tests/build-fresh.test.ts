// A first build writes its pages into the fresh folder that becomes out/ while the rest is still parsed:
// what it leaves must be exactly what the one write at the end made, and a failed first build leaves nothing.

import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generateArticle, generateProject } from '../bench/generate.ts';
import { buildPublication } from '../src/build/build.ts';
import { realDisk } from '../src/build/write-out.ts';
import { KurierError } from '../src/error.ts';
import { expectSameFiles, readTree, repoRoot, useProjects } from './support/project.ts';

const { project } = useProjects();

/** A project of `count` generated articles. */
async function largeProject(count: number): Promise<string> {
  const root = await project();
  await rm(path.join(root, 'content', 'posts'), { recursive: true });
  await generateProject(root, repoRoot, count);
  return root;
}

function build(root: string, throughWriteOut = false, parseWorkers = 1) {
  return buildPublication({
    root,
    outDir: path.join(root, 'out'),
    stateDir: path.join(root, '.kurier'),
    // A disk handed in makes writeOut write every file itself, as all builds did before.
    ...(throughWriteOut ? { disk: realDisk } : {}),
    // A parse worker, whatever the cores: its pages and this thread's reach the fresh folder by other ways.
    parseWorkers,
  });
}

/** The KurierError the build fails with. */
async function failureOf(building: Promise<unknown>): Promise<KurierError> {
  const error = await building.then(
    () => new Error('the build succeeded'),
    (caught: unknown) => caught,
  );
  if (!(error instanceof KurierError)) throw error;
  return error;
}

/** Whatever a build left beside out/: fresh folders never renamed into place. */
async function leftovers(root: string): Promise<string[]> {
  return (await readdir(root)).filter((name) => name.includes('.kurier-'));
}

describe('a first build', () => {
  // Without a worker, this thread renders every page and writes it on libuv's threads (in the background).
  it.each([1, 0])(
    'with parseWorkers %i, writes the pages ahead, and leaves out/ and its list exactly as one write at the end does',
    async (workers) => {
      const root = await largeProject(420);
      // A draft is parsed by whichever thread, and never published.
      const draft = path.join(root, 'content', 'posts', 'artikel-7.md');
      await writeFile(
        draft,
        (await readFile(draft, 'utf8')).replace('author: Rolevinck', 'author: Rolevinck\ndraft: true'),
      );
      const other = await largeProject(420);
      await writeFile(path.join(other, 'content', 'posts', 'artikel-7.md'), await readFile(draft));

      const ahead = await build(root, false, workers);
      const atTheEnd = await build(other, true);
      expect(ahead.written.length).toBe(atTheEnd.written.length);
      expect(ahead.written.every((file) => file.changed)).toBe(true);
      expect(new Set(ahead.written.map((file) => `${file.path} ${file.bytes}`))).toEqual(
        new Set(atTheEnd.written.map((file) => `${file.path} ${file.bytes}`)),
      );
      const out = await readTree(path.join(root, 'out'));
      expectSameFiles(out, await readTree(path.join(other, 'out')));
      expect(out.has('artikel-7/index.html')).toBe(false);
      expect(out.has('artikel-419/index.html')).toBe(true);
      const list = (dir: string) => readFile(path.join(dir, '.kurier', 'written', 'out.json'), 'utf8');
      expect(await list(root)).toBe(await list(other));
      expect(await leftovers(root)).toEqual([]);
    },
  );

  it('that fails after writing pages ahead leaves neither out/ nor its fresh folder', async () => {
    const root = await largeProject(420);
    await writeFile(
      path.join(root, 'content', 'posts', 'artikel-400.md'),
      generateArticle(400).replace('date: ', 'date: kein Datum '),
    );
    const error = await failureOf(build(root));
    expect(error.file).toBe('content/posts/artikel-400.md');
    expect(await readdir(root)).not.toContain('out');
    expect(await leftovers(root)).toEqual([]);
  });

  it('reads each article as it parses it, and names a file that is not UTF-8 with its line', async () => {
    for (const broken of [2, 390]) {
      const root = await largeProject(420);
      const file = path.join(root, 'content', 'posts', `artikel-${broken}.md`);
      const text = await readFile(file);
      const third = text.indexOf('\n', text.indexOf('\n', text.indexOf('\n') + 1) + 1);
      // Latin-1 "ü" in the third line.
      await writeFile(
        file,
        Buffer.concat([text.subarray(0, third), Buffer.from([0x20, 0xfc]), text.subarray(third)]),
      );
      const error = await failureOf(build(root));
      expect([error.code, error.file, error.line]).toEqual([
        'CONTENT_INVALID',
        `content/posts/artikel-${broken}.md`,
        3,
      ]);
      expect(error.message).toContain('save it as UTF-8');
      expect(await readdir(root)).not.toContain('out');
      expect(await leftovers(root)).toEqual([]);
    }
  });

  it('that two articles share a slug fails like one that writes at the end, and leaves nothing', async () => {
    const root = await largeProject(420);
    await writeFile(
      path.join(root, 'content', 'posts', 'artikel-410.md'),
      generateArticle(410)
        .replace('slug: artikel-410', 'slug: artikel-3')
        .replace(':artikel-410', ':artikel-410b'),
    );
    const other = await largeProject(420);
    await writeFile(
      path.join(other, 'content', 'posts', 'artikel-410.md'),
      await readFile(path.join(root, 'content', 'posts', 'artikel-410.md')),
    );
    const error = await failureOf(build(root));
    const expected = await failureOf(build(other, true));
    expect([error.code, error.file, error.message]).toEqual([expected.code, expected.file, expected.message]);
    expect(error.message).toContain('artikel-3');
    expect(await readdir(root)).not.toContain('out');
    expect(await leftovers(root)).toEqual([]);
  });
});
