// kurier serve rebuilds only what a save touches: after any series of saves, out/ is byte for byte what a
// full build of the same sources makes, and a failed or disturbed incremental write leaves out/ as it was.

import { cp, mkdtemp, readFile, rename, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildPublication } from '../src/build/build.ts';
import type { BuildMemory } from '../src/build/parse-cache.ts';
import { type Disk, realDisk } from '../src/build/write-out.ts';
import { main } from '../src/cli.ts';
import { KurierError } from '../src/error.ts';
import { expectSameFiles, FIXED_NOW, makeProject, readTree, runCli } from './support/project.ts';

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

const SAMPLE = 'content/posts/bochum-leben-nach-der-industrie.md';

async function until(probe: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt++) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const read = (file: string) => readFile(file, 'utf8').catch(() => '');

/** An article made from the sample's front matter with its own slug, title and date, and a short body. */
async function articleText(root: string, slug: string, title: string, date: string, body: string) {
  const sample = await readFile(path.join(root, SAMPLE), 'utf8');
  const front = sample.slice(0, sample.indexOf('\n---\n', 4) + 5);
  const text = front
    .replace(/^id: .*$/m, `id: tag:kurier.example,2026:${slug}`)
    .replace(/^title: .*$/m, `title: "${title}"`)
    .replace(/^slug: .*$/m, `slug: ${slug}`)
    .replace(/^date: .*$/m, `date: ${date}`);
  return `${text}\n${body}\n`;
}

async function article(root: string, slug: string, title: string, date: string, body: string): Promise<void> {
  const text = await articleText(root, slug, title, date, body);
  await writeFile(path.join(root, 'content', 'posts', `${slug}.md`), text);
}

/**
 * The sample with four more articles, and feeds and an email window of three and two articles, so that
 * a save can move articles in and out of both.
 */
async function makeSite(): Promise<string> {
  const root = await makeProject();
  roots.push(root);
  const settings = path.join(root, 'content', 'site.yaml');
  const yaml = await readFile(settings, 'utf8');
  await writeFile(settings, yaml.replace('entries: 20', 'entries: 3').replace('window: 10', 'window: 2'));
  for (const [index, day] of ['20', '21', '22', '23'].entries()) {
    await article(
      root,
      `stadt-${index}`,
      `Stadt ${index}`,
      `2026-11-${day}T08:00:00+01:00`,
      `Text über Stadt ${index}.`,
    );
  }
  return root;
}

/** out/ of a fresh copy of `root`'s sources, built once, without any cache. */
async function coldBuild(root: string): Promise<Map<string, Buffer>> {
  const cold = await mkdtemp(path.join(tmpdir(), 'kurier-cold-'));
  roots.push(cold);
  for (const folder of ['content', 'templates', 'static']) {
    await cp(path.join(root, folder), path.join(cold, folder), { recursive: true });
  }
  const run = await runCli(cold, ['build']);
  expect(run.code, run.err.join('\n')).toBe(0);
  return readTree(path.join(cold, 'out'));
}

async function expectAsColdBuild(root: string): Promise<void> {
  expectSameFiles(await readTree(path.join(root, 'out')), await coldBuild(root));
}

describe('kurier serve after a series of saves', () => {
  it('leaves out/ byte for byte as a full build of the same sources makes it', async () => {
    const root = await makeSite();
    const out = path.join(root, 'out');
    const lines: string[] = [];
    const err: string[] = [];
    const controller = new AbortController();
    const running = main(['serve', '--port', '0'], {
      root,
      env: {},
      io: { isTTY: false, out: (line) => lines.push(line), err: (line) => err.push(line), status: () => {} },
      now: () => FIXED_NOW,
      signal: controller.signal,
    });
    await until(() => lines.some((line) => line.startsWith('Serving')), 'the server');
    const builds = () => lines.filter((line) => line.startsWith('Built')).length;
    const save = async (what: string, change: () => Promise<void>, done: () => Promise<boolean>) => {
      const before = builds();
      await change();
      await until(async () => builds() > before && (await done()), what);
    };
    const posts = path.join(root, 'content', 'posts');

    await save(
      'a body edited',
      () => article(root, 'stadt-1', 'Stadt 1', '2026-11-21T08:00:00+01:00', 'Ganz neuer Text.'),
      async () => (await read(path.join(out, 'stadt-1', 'index.html'))).includes('Ganz neuer Text.'),
    );
    // The oldest article becomes the newest: the index, the feeds and both emails change.
    await save(
      'title and date edited',
      () => article(root, 'stadt-0', 'Stadt null, neu', '2026-11-27T08:00:00+01:00', 'Text über Stadt 0.'),
      async () => {
        const index = await read(path.join(out, 'index.html'));
        return (
          index.includes('Stadt null, neu') && index.indexOf('Stadt null, neu') < index.indexOf('Stadt 3')
        );
      },
    );
    await save(
      'an article added',
      () => article(root, 'stadt-neu', 'Neue Stadt', '2026-11-24T08:00:00+01:00', 'Neu hier.'),
      async () => (await read(path.join(out, 'stadt-neu', 'index.html'))).includes('Neu hier.'),
    );
    await save(
      'an article deleted',
      () => unlink(path.join(posts, 'stadt-3.md')),
      async () => !(await read(path.join(out, 'index.html'))).includes('Stadt 3'),
    );
    // An editor's safe write of the newest article: a new file renamed over the old one.
    await save(
      'a safe write',
      async () => {
        const file = path.join(posts, 'stadt-0.md');
        const text = await articleText(
          root,
          'stadt-0',
          'Stadt null, neuer',
          '2026-11-27T08:00:00+01:00',
          'Text.',
        );
        await writeFile(`${file}.tmp`, text);
        await rename(`${file}.tmp`, file);
      },
      async () => (await read(path.join(out, 'feed.xml'))).includes('Stadt null, neuer'),
    );
    controller.abort();
    expect(await running).toBe(0);
    expect(err).toEqual([]);
    await expectAsColdBuild(root);

    // The caches it wrote are right too: a build afterwards finds every file current.
    const run = await runCli(root, ['build']);
    expect(run.out.at(-1)).toMatch(/\(0 written, \d+ unchanged\)/);
    await expectAsColdBuild(root);
  });
});

describe('an incremental write (a build that keeps its memory)', () => {
  const options = (root: string, memory: BuildMemory, disk?: Disk) => ({
    root,
    outDir: path.join(root, 'out'),
    stateDir: path.join(root, '.kurier'),
    fullArticles: false,
    memory,
    emailsAfterPages: true,
    cachesLater: true,
    ...(disk === undefined ? {} : { disk }),
  });

  it('leaves out/ as it was when it fails halfway, and the next one makes it whole again', async () => {
    const root = await makeSite();
    const memory: BuildMemory = {};
    try {
      await buildPublication(options(root, memory));
      const before = await readTree(path.join(root, 'out'));
      await article(root, 'stadt-2', 'Stadt zwei, neu', '2026-11-28T08:00:00+01:00', 'Anders.');
      // The page and the index are in place when the first feed fails: both must be put back.
      let failed = false;
      const full: Disk = {
        ...realDisk,
        renameSync: (from, to) => {
          if (!failed && String(to).endsWith(`${path.sep}feed.xml`)) {
            failed = true;
            throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
          }
          realDisk.renameSync(from, to);
        },
      };
      await expect(buildPublication(options(root, memory, full))).rejects.toMatchObject({
        code: 'WRITE_FAILED',
      });
      const after = await readTree(path.join(root, 'out'));
      expectSameFiles(after, before);

      await buildPublication(options(root, memory));
      await expectAsColdBuild(root);
    } finally {
      await memory.emails?.stop();
    }
  });

  it('notices out/ removed, and refuses a link put where it writes a page', async () => {
    const root = await makeSite();
    const memory: BuildMemory = {};
    const out = path.join(root, 'out');
    try {
      await buildPublication(options(root, memory));
      await rm(out, { recursive: true });
      await article(root, 'stadt-1', 'Stadt 1', '2026-11-21T08:00:00+01:00', 'Wieder da.');
      await buildPublication(options(root, memory));
      await expectAsColdBuild(root);

      const secret = path.join(root, 'geheim.html');
      await writeFile(secret, 'geheim');
      await rm(path.join(out, 'stadt-1', 'index.html'));
      await symlink(secret, path.join(out, 'stadt-1', 'index.html'));
      await article(root, 'stadt-1', 'Stadt 1', '2026-11-21T08:00:00+01:00', 'Noch einmal.');
      const error = await buildPublication(options(root, memory)).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(KurierError);
      expect((error as KurierError).code).toBe('OUT_DIR_UNSAFE');
      expect((error as KurierError).message).toContain('symbolic link');
      expect(await readFile(secret, 'utf8')).toBe('geheim');
    } finally {
      await memory.emails?.stop();
    }
  });
});
