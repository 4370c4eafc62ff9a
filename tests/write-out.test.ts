// The writer of out/ against the real file system, with a fault injected at every call: one transaction or nothing.

import * as fs from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type Disk,
  discardFreshOut,
  realDisk,
  settleFreshOut,
  startFreshOut,
  writeFreshPage,
  writeFreshPageInBackground,
  writeOut,
} from '../src/build/write-out.ts';
import type { OutputFile } from '../src/model.ts';
import { errorOf } from './support/errors.ts';
import { readTree } from './support/project.ts';

const folders: string[] = [];
afterAll(async () => {
  await Promise.all(folders.map((folder) => rm(folder, { recursive: true, force: true })));
});

interface Place {
  readonly out: string;
  readonly manifestFile: string;
  readonly options: { readonly outName: string; readonly manifestFile: string };
}

async function place(): Promise<Place> {
  const root = await mkdtemp(path.join(tmpdir(), 'kurier-write-'));
  folders.push(root);
  const manifestFile = path.join(root, '.kurier', 'written', 'out.json');
  return { out: path.join(root, 'out'), manifestFile, options: { outName: 'out', manifestFile } };
}

const FIRST: OutputFile[] = [
  { path: 'alt/index.html', content: '<p>alt</p>' },
  { path: 'a/index.html', content: '<p>a</p>' },
  { path: 'index.html', content: '<a href="alt/">alt</a> <a href="a/">a</a>' },
  { path: 'feed.xml', content: '<feed>alt a</feed>' },
];

const SECOND: OutputFile[] = [
  { path: 'a/index.html', content: '<p>a</p>' },
  { path: 'neu/tief/index.html', content: '<p>neu</p>' },
  { path: 'index.html', content: '<a href="a/">a</a> <a href="neu/tief/">neu</a>' },
  { path: 'feed.xml', content: '<feed>a neu</feed>' },
  { path: 'feed.json', content: '{}' },
];

async function snapshot(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true }).catch(() => []);
  const tree = await readTree(dir).catch(() => new Map<string, Buffer>());
  return [...entries.sort(), ...[...tree].map(([name, bytes]) => `${name}=${bytes.toString('hex')}`)];
}

const MUTATING = ['writeFileSync', 'renameSync', 'linkSync', 'copyFileSync', 'mkdirSync'] as const;

/** The real file system, counting the calls that change it and failing the `failAt`-th one with ENOSPC. */
function faultyDisk(failAt: number): { disk: Disk; calls: () => number } {
  let calls = 0;
  const disk: Record<string, unknown> = { ...realDisk };
  for (const name of MUTATING) {
    const real = realDisk[name] as (...args: unknown[]) => unknown;
    disk[name] = (...args: unknown[]) => {
      calls += 1;
      if (calls === failAt) {
        throw Object.assign(new Error(`ENOSPC: no space left on device, ${name}`), { code: 'ENOSPC' });
      }
      return real(...args);
    };
  }
  return { disk: disk as unknown as Disk, calls: () => calls };
}

describe('writeOut', () => {
  it('replaces, adds and removes files, and records what it wrote outside out/', async () => {
    const { out, manifestFile, options } = await place();
    writeOut(out, FIRST, options);
    const written = writeOut(out, SECOND, options);
    expect(written.map((file) => [file.path, file.changed])).toEqual([
      ['a/index.html', false],
      ['neu/tief/index.html', true],
      ['index.html', true],
      ['feed.xml', true],
      ['feed.json', true],
    ]);
    expect([...(await readTree(out)).keys()]).toEqual([
      'a/index.html',
      'feed.json',
      'feed.xml',
      'index.html',
      'neu/tief/index.html',
    ]);
    expect(await readdir(out)).not.toContain('alt');
    expect(JSON.parse(await readFile(manifestFile, 'utf8'))).toEqual({
      out: 'out',
      files: ['a/index.html', 'feed.json', 'feed.xml', 'index.html', 'neu/tief/index.html'],
    });
  });

  it('puts pages in place before the index and the feeds that link to them, and removes old pages last', async () => {
    const { out, options } = await place();
    writeOut(out, FIRST, options);
    const order: string[] = [];
    const disk: Disk = {
      ...realDisk,
      renameSync: (from, to) => {
        if (String(from).endsWith('.tmp') && String(to).startsWith(out))
          order.push(path.relative(out, String(to)));
        if (String(to).endsWith('.old')) order.push(`removed ${path.relative(out, String(from))}`);
        realDisk.renameSync(from, to);
      },
    };
    writeOut(out, SECOND, { ...options, disk });
    expect(order).toEqual([
      'neu/tief/index.html',
      'index.html',
      'feed.xml',
      'feed.json',
      'removed alt/index.html',
    ]);
  });

  it('leaves out/ and the list of its files exactly as they were when any write fails (ENOSPC at every step)', async () => {
    const probe = await place();
    writeOut(probe.out, FIRST, probe.options);
    const counting = faultyDisk(0);
    writeOut(probe.out, SECOND, { ...probe.options, disk: counting.disk });
    const steps = counting.calls();
    expect(steps).toBeGreaterThan(8);
    // The last three calls (mkdir, write, rename) record the new list after out/ is complete; see below.
    for (let failAt = 1; failAt <= steps - 3; failAt++) {
      const { out, manifestFile, options } = await place();
      writeOut(out, FIRST, options);
      const before = await snapshot(out);
      const manifest = await readFile(manifestFile, 'utf8');
      const error = errorOf(() => writeOut(out, SECOND, { ...options, disk: faultyDisk(failAt).disk }));
      expect(error.code, `fault at step ${failAt}`).toBe('WRITE_FAILED');
      expect(error.message).toContain('no space left on device');
      expect(error.file ?? '', `fault at step ${failAt}`).toMatch(
        /^(out(\/.*)?|\/.*\.kurier\/written\/out\.json)$/,
      );
      expect(await snapshot(out), `fault at step ${failAt}`).toEqual(before);
      // The list may name more files (all that may be Kurier's), never fewer.
      const listed = (JSON.parse(await readFile(manifestFile, 'utf8')) as { files: string[] }).files;
      for (const file of (JSON.parse(manifest) as { files: string[] }).files) expect(listed).toContain(file);
      writeOut(out, SECOND, options);
      expect([...(await readTree(out)).keys()]).toHaveLength(5);
    }
  });

  it('keeps a finished out/ when only the final list cannot be written; the list before names its files', async () => {
    const { out, manifestFile, options } = await place();
    writeOut(out, FIRST, options);
    writeOut(out, SECOND, { ...options, disk: faultyDisk(17).disk });
    expect([...(await readTree(out)).keys()]).toHaveLength(5);
    const listed = (JSON.parse(await readFile(manifestFile, 'utf8')) as { files: string[] }).files;
    expect(listed).toEqual([...new Set([...FIRST, ...SECOND].map((file) => file.path))].sort());
  });

  it('leaves out/ as it was when the first build fails halfway', async () => {
    const { out, options } = await place();
    const error = errorOf(() => writeOut(out, FIRST, { ...options, disk: faultyDisk(6).disk }));
    expect(error.code).toBe('WRITE_FAILED');
    expect(fs.existsSync(out)).toBe(false);
  });

  it('refuses a folder with files it did not write, and touches none of them', async () => {
    const { out, options } = await place();
    await mkdir(path.join(out, 'assets'), { recursive: true });
    await writeFile(path.join(out, 'CNAME'), 'kurier.example\n');
    await writeFile(path.join(out, 'index.html'), '<p>meine eigene Seite</p>');
    await writeFile(path.join(out, 'assets', 'app.js'), 'alert(1)');
    const before = await snapshot(out);
    const error = errorOf(() => writeOut(out, FIRST, { ...options, outName: 'docs' }));
    expect(error.code).toBe('OUT_DIR_UNSAFE');
    expect(error.message).toMatch(
      /^docs\/ holds 3 files Kurier did not write \(docs\/CNAME, docs\/assets\/app\.js, docs\/index\.html\)\. .*move files you want published to static\//,
    );
    expect(await snapshot(out)).toEqual(before);
  });

  it('takes files that already hold exactly its bytes as its own, without a list (a fresh clone of docs/)', async () => {
    const { out, manifestFile, options } = await place();
    writeOut(out, FIRST, options);
    await rm(manifestFile);
    expect(writeOut(out, FIRST, options).filter((file) => file.changed)).toEqual([]);
    expect((JSON.parse(await readFile(manifestFile, 'utf8')) as { files: string[] }).files).toHaveLength(4);
    await rm(manifestFile);
    const error = errorOf(() => writeOut(out, SECOND, options));
    expect(error.message).toMatch(
      /^out\/ holds 3 files Kurier did not write \(out\/alt\/index\.html, out\/feed\.xml, out\/index\.html\)\..* delete out\/ and build again\.$/,
    );
  });

  it('takes over the files of a folder an earlier version built (its index carries the generator mark), and nothing else', async () => {
    const { out, manifestFile, options } = await place();
    const marked = (files: OutputFile[]) =>
      files.map((file) =>
        file.path === 'index.html'
          ? { ...file, content: `<meta name="generator" content="Kurier">${String(file.content)}` }
          : file,
      );
    writeOut(out, marked(FIRST), options);
    await rm(manifestFile);
    await writeFile(path.join(out, 'a', 'notiz.txt'), 'meins');
    const changed = marked(FIRST).map((file) => ({ ...file, content: `${String(file.content)} v2` }));
    const error = errorOf(() => writeOut(out, changed, options));
    expect(error.message).toMatch(/^out\/ holds a file Kurier did not write \(out\/a\/notiz\.txt\)/);
    await rm(path.join(out, 'a', 'notiz.txt'));
    expect(writeOut(out, changed, options).filter((file) => file.changed)).toHaveLength(4);
    await expect(readFile(path.join(out, 'feed.xml'), 'utf8')).resolves.toBe('<feed>alt a</feed> v2');
  });

  it('refuses a file added to a folder it built before', async () => {
    const { out, options } = await place();
    writeOut(out, FIRST, options);
    await writeFile(path.join(out, 'a', 'notiz.txt'), 'meins');
    expect(errorOf(() => writeOut(out, SECOND, options)).message).toContain('(out/a/notiz.txt)');
    await expect(readFile(path.join(out, 'a', 'notiz.txt'), 'utf8')).resolves.toBe('meins');
  });

  it('never writes through a symbolic link in out/, nor removes what it points to', async () => {
    const { out, options } = await place();
    writeOut(out, FIRST, options);
    const elsewhere = await mkdtemp(path.join(tmpdir(), 'kurier-elsewhere-'));
    folders.push(elsewhere);
    await writeFile(path.join(elsewhere, 'wichtig.txt'), 'bleibt');
    await rm(path.join(out, 'a'), { recursive: true });
    await symlink(elsewhere, path.join(out, 'a'));
    const before = await snapshot(out);
    const error = errorOf(() => writeOut(out, SECOND, options));
    expect([error.code, error.message]).toEqual([
      'OUT_DIR_UNSAFE',
      'out/a is a symbolic link; Kurier never writes through links. Remove the link (rm out/a) and build again.',
    ]);
    expect(await readdir(elsewhere)).toEqual(['wichtig.txt']);
    expect(await snapshot(out)).toEqual(before);
  });

  it('checks every name and path length before it writes anything', async () => {
    const { out, options } = await place();
    writeOut(out, FIRST, options);
    const before = await snapshot(out);
    const long = `${'wort-'.repeat(60)}ende`;
    const error = errorOf(() =>
      writeOut(out, [...SECOND, { path: `${long}/index.html`, content: 'x' }], options),
    );
    expect(error.code).toBe('PATH_TOO_LONG');
    expect(error.message).toMatch(/has 304 bytes; file systems allow 255/);
    const deep = Array.from({ length: 20 }, () => 'x'.repeat(250)).join('/');
    expect(errorOf(() => writeOut(out, [{ path: `${deep}/a.html`, content: 'x' }], options)).message).toMatch(
      /the limit is 4095/,
    );
    expect(await snapshot(out)).toEqual(before);
  });

  it('removes the temporary files a killed build left behind', async () => {
    const { out, options } = await place();
    writeOut(out, FIRST, options);
    await writeFile(path.join(out, 'a', '.kurier-0123abcd-7.tmp'), 'halb');
    writeOut(out, FIRST, options);
    expect(await readdir(path.join(out, 'a'))).toEqual(['index.html']);
  });

  it('writes a first build into a fresh folder renamed into place once, and clears what a killed one left', async () => {
    const { out, options } = await place();
    const parent = path.dirname(out);
    await mkdir(path.join(parent, '.out.kurier-0123abcd.tmp', 'a'), { recursive: true });
    const renames: string[] = [];
    const disk: Disk = {
      ...realDisk,
      renameSync: (from, to) => {
        renames.push(`${path.basename(String(from))} → ${path.basename(String(to))}`);
        realDisk.renameSync(from, to);
      },
    };
    writeOut(out, FIRST, { ...options, disk });
    expect(renames.filter((line) => !line.includes('.json'))).toEqual([
      expect.stringMatching(/^\.out\.kurier-[0-9a-f]{8}\.tmp → out$/),
    ]);
    expect([...(await readTree(out)).keys()]).toHaveLength(4);
    expect((await readdir(parent)).filter((name) => name.includes('kurier-'))).toEqual([]);
  });

  it('keeps the files named as current without reading them, and removes none of them', async () => {
    const { out, options } = await place();
    writeOut(out, FIRST, options);
    const read: string[] = [];
    const disk: Disk = {
      ...realDisk,
      readFileSync: ((file: fs.PathOrFileDescriptor, ...rest: unknown[]) => {
        read.push(path.relative(out, String(file)));
        return (realDisk.readFileSync as (...args: unknown[]) => unknown)(file, ...rest);
      }) as Disk['readFileSync'],
    };
    const current = new Map([['alt/index.html', 11]]);
    const rest = FIRST.filter((file) => file.path !== 'alt/index.html');
    const written = writeOut(out, rest, { ...options, disk, current });
    expect(read.filter((name) => !name.startsWith('..'))).not.toContain('alt/index.html');
    expect(written.find((file) => file.path === 'alt/index.html')).toEqual({
      path: 'alt/index.html',
      bytes: 11,
      changed: false,
    });
    expect([...(await readTree(out)).keys()]).toHaveLength(4);
  });

  it('leaves the list of its files alone when a build changes files but makes no new one', async () => {
    const { out, manifestFile, options } = await place();
    writeOut(out, FIRST, options);
    const before = fs.statSync(manifestFile);
    const edited = FIRST.map((file) =>
      file.path === 'a/index.html' ? { ...file, content: '<p>a, neu</p>' } : file,
    );
    const written = writeOut(out, edited, options);
    expect(written.filter((file) => file.changed).map((file) => file.path)).toEqual(['a/index.html']);
    expect(await readFile(path.join(out, 'a', 'index.html'), 'utf8')).toBe('<p>a, neu</p>');
    const after = fs.statSync(manifestFile);
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
    writeOut(out, SECOND, options);
    expect(JSON.parse(await readFile(manifestFile, 'utf8')).files).toContain('neu/tief/index.html');
  });
});

describe('a first build that writes pages ahead', () => {
  const pages = FIRST.filter((file) => file.path.endsWith('/index.html'));
  const rest = FIRST.filter((file) => !file.path.endsWith('/index.html'));
  /** A fresh folder beside `out` with FIRST's pages written ahead. */
  const freshWithPages = async (out: string) => {
    const fresh = startFreshOut(out);
    if (fresh === undefined) throw new Error('no fresh folder');
    // Both ways of writing ahead: the workers' pages at once, this thread's on libuv's threads.
    for (const [index, page] of pages.entries()) {
      const write = index % 2 === 0 ? writeFreshPage : writeFreshPageInBackground;
      write(fresh, page.path, Buffer.from(page.content));
    }
    await settleFreshOut(fresh);
    return fresh;
  };

  it('renames the fresh folder with its pages into place, and lists them', async () => {
    const { out, options, manifestFile } = await place();
    const fresh = await freshWithPages(out);
    expect([...fresh.files.keys()]).toEqual(pages.map((page) => page.path));
    // A second page at one path is refused: the first stays.
    expect(writeFreshPage(fresh, 'a/index.html', Buffer.from('<p>zweite</p>'))).toBe(false);
    expect(writeFreshPageInBackground(fresh, 'a/index.html', Buffer.from('<p>zweite</p>'))).toBe(false);
    const written = writeOut(out, rest, { ...options, fresh });
    const expected = await place();
    writeOut(expected.out, FIRST, expected.options);
    expect(await snapshot(out)).toEqual(await snapshot(expected.out));
    expect(written.map((file) => file.path).sort()).toEqual(FIRST.map((file) => file.path).sort());
    expect(JSON.parse(await readFile(manifestFile, 'utf8'))).toEqual(
      JSON.parse(await readFile(expected.manifestFile, 'utf8')),
    );
    expect((await readdir(path.dirname(out))).filter((name) => name.includes('kurier-'))).toEqual([]);
  });

  it('writes the pages again when out/ appeared while it ran, and removes the fresh folder', async () => {
    const { out, options } = await place();
    const fresh = await freshWithPages(out);
    // out/ was made in the meantime (empty, so that its files are no one's).
    await mkdir(out);
    writeOut(out, rest, { ...options, fresh });
    const expected = await place();
    writeOut(expected.out, FIRST, expected.options);
    expect(await snapshot(out)).toEqual(await snapshot(expected.out));
    expect((await readdir(path.dirname(out))).filter((name) => name.includes('kurier-'))).toEqual([]);
  });

  it('fails cleanly when another first build removed the pages it wrote ahead', async () => {
    const { out, options } = await place();
    const fresh = await freshWithPages(out);
    // The other build clears fresh folders it takes for litter, and makes out/ first.
    writeOut(out, SECOND, options);
    const before = await snapshot(out);
    const error = errorOf(() => writeOut(out, rest, { ...options, fresh }));
    expect([error.code, error.file]).toEqual(['WRITE_FAILED', 'out/alt/index.html']);
    expect(error.message).toContain('Build again, one build at a time.');
    expect(await snapshot(out)).toEqual(before);
  });

  it('makes no fresh folder when out/ exists, and removes one that is not used', async () => {
    const { out, options } = await place();
    writeOut(out, FIRST, options);
    expect(startFreshOut(out)).toBeUndefined();
    await rm(out, { recursive: true });
    const fresh = startFreshOut(out);
    expect((await readdir(path.dirname(out))).filter((name) => name.includes('kurier-'))).toHaveLength(1);
    await discardFreshOut(fresh);
    expect((await readdir(path.dirname(out))).filter((name) => name.includes('kurier-'))).toEqual([]);
  });

  it('hands back a page it could not write, and removes the folder only after the writes under way', async () => {
    const { out } = await place();
    const fresh = startFreshOut(out);
    if (fresh === undefined) throw new Error('no fresh folder');
    // A file where the page's folder should be: its mkdir fails.
    await writeFile(path.join(fresh.dir, 'blockiert'), 'kein Ordner');
    const blocked = Buffer.from('<p>blockiert</p>');
    expect(writeFreshPageInBackground(fresh, 'blockiert/index.html', blocked)).toBe(true);
    // The same page written at once is refused, and left to the build.
    expect(writeFreshPage(fresh, 'blockiert/index.html', blocked)).toBe(false);
    for (const page of pages) writeFreshPageInBackground(fresh, page.path, Buffer.from(page.content));
    await settleFreshOut(fresh);
    expect(fresh.failed).toEqual(new Map([['blockiert/index.html', blocked]]));
    expect([...fresh.files.keys()]).toEqual(pages.map((page) => page.path));

    // Discarded at once, with writes still under way: none of them makes the folder again.
    for (const page of pages)
      writeFreshPageInBackground(fresh, `neu/${page.path}`, Buffer.from(page.content));
    expect(fresh.pending.size).toBeGreaterThan(0);
    await discardFreshOut(fresh);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await readdir(path.dirname(out))).filter((name) => name.includes('kurier-'))).toEqual([]);
  });
});
