// The hostile build corpus (issue 7): every folder in tests/hostile/build/ is a case run through the real CLI
// (bin/kurier.js) on a fresh copy of the sample, after a good build whose out/ it must not damage.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeProject, repoRoot, runCli } from './support/project.ts';

const CORPUS = path.join(repoRoot, 'tests', 'hostile', 'build');

/** tests/hostile/build/<case>/case.json; every other file of the folder is copied over the sample project. */
interface HostileCase {
  readonly about: string;
  /** The CLI's arguments; default ["build"]. */
  readonly args?: readonly string[];
  readonly exit: number;
  /** A regular expression the whole of stderr must match ("" when nothing may be printed). */
  readonly stderr: string;
  readonly stdout?: string;
  /** The output folder the case protects; default "out". */
  readonly out?: string;
  /** Build the sample into out/ first (default true), so that a failure has something to damage. */
  readonly prebuild?: boolean;
  /** Paths below the project to delete before the run. */
  readonly remove?: readonly string[];
  /** Text replacements in project files before the run. */
  readonly edits?: readonly { readonly file: string; readonly find: string; readonly replace: string }[];
  /** Links to make before the run: path below the project → target ("{elsewhere}" is a folder outside it). */
  readonly symlinks?: Readonly<Record<string, string>>;
  /** Files that must exist in the output folder after a successful run. */
  readonly outHas?: readonly string[];
  /** A folder below the project where the command may write (kurier new: content/posts/). */
  readonly writes?: string;
}

const roots: string[] = [];
afterAll(async () => {
  await Promise.all(roots.map((root) => rm(root, { recursive: true, force: true })));
});

/** Path → sha256 of every file and link below `dir`, except the folders in `skip`. */
async function hashTree(dir: string, skip: readonly string[] = []): Promise<Map<string, string>> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  const hashes = new Map<string, string>();
  for (const entry of entries) {
    const full = path.join(entry.parentPath, entry.name);
    const name = path.relative(dir, full).split(path.sep).join('/');
    if (skip.some((folder) => name === folder || name.startsWith(`${folder}/`))) continue;
    if (entry.isDirectory()) {
      hashes.set(`${name}/`, 'folder');
    } else if (entry.isSymbolicLink()) {
      hashes.set(name, `link`);
    } else {
      hashes.set(
        name,
        createHash('sha256')
          .update(await readFile(full))
          .digest('hex'),
      );
    }
  }
  return new Map([...hashes].sort(([a], [b]) => (a < b ? -1 : 1)));
}

async function prepare(name: string, spec: HostileCase): Promise<{ root: string; elsewhere: string }> {
  const root = await makeProject();
  const elsewhere = await mkdtemp(path.join(tmpdir(), 'kurier-elsewhere-'));
  roots.push(root, elsewhere);
  await writeFile(path.join(elsewhere, 'wichtig.txt'), 'nicht anfassen\n');
  await cp(
    path.join(root, 'content', 'posts', 'bochum-leben-nach-der-industrie.md'),
    path.join(elsewhere, 'artikel.md'),
  );
  if (spec.prebuild !== false) expect((await runCli(root, ['build'])).code, 'the good build before').toBe(0);
  const caseDir = path.join(CORPUS, name);
  for (const file of await readdir(caseDir, { recursive: true, withFileTypes: true })) {
    if (!file.isFile() || (file.parentPath === caseDir && file.name === 'case.json')) continue;
    const relative = path.relative(caseDir, path.join(file.parentPath, file.name));
    await cp(path.join(file.parentPath, file.name), path.join(root, relative));
  }
  for (const file of spec.remove ?? []) await rm(path.join(root, file), { recursive: true, force: true });
  for (const edit of spec.edits ?? []) {
    const file = path.join(root, edit.file);
    const text = await readFile(file, 'utf8');
    expect(text, `${edit.file} contains ${edit.find}`).toContain(edit.find);
    await writeFile(file, text.replace(edit.find, edit.replace));
  }
  for (const [link, target] of Object.entries(spec.symlinks ?? {})) {
    await symlink(target.replace('{elsewhere}', elsewhere), path.join(root, link));
  }
  return { root, elsewhere };
}

function runKurier(root: string, args: readonly string[]): { code: number; stdout: string; stderr: string } {
  const run = spawnSync(process.execPath, [path.join(repoRoot, 'bin', 'kurier.js'), ...args], {
    cwd: root,
    env: { PATH: process.env.PATH, HOME: root, KURIER_ROOT: root },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

// C0 controls other than tab, LF, CR, DEL and C1: never valid in an HTML page, an XML feed or an email.
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point.
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

const names = (await readdir(CORPUS, { withFileTypes: true }))
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name)
  .sort();

describe('the hostile build corpus through bin/kurier.js', () => {
  it('has cases', () => {
    expect(names.length).toBeGreaterThan(15);
  });

  it.each(names)('%s', async (name) => {
    const spec = JSON.parse(await readFile(path.join(CORPUS, name, 'case.json'), 'utf8')) as HostileCase;
    const { root, elsewhere } = await prepare(name, spec);
    const outName = spec.out ?? 'out';
    const outDir = path.join(root, outName);
    const skip = [outName, '.kurier', ...(spec.writes === undefined ? [] : [spec.writes])];
    const outBefore = await hashTree(outDir);
    const projectBefore = await hashTree(root, skip);
    const elsewhereBefore = await hashTree(elsewhere);

    const run = runKurier(root, spec.args ?? ['build']);

    expect(run.stderr, spec.about).not.toContain('internal error');
    expect(run.stderr.trimEnd(), spec.about).toMatch(new RegExp(spec.stderr, 's'));
    if (spec.stdout !== undefined) expect(run.stdout, spec.about).toMatch(new RegExp(spec.stdout, 's'));
    expect(run.code, `${spec.about}\n${run.stderr}`).toBe(spec.exit);
    expect(await hashTree(root, skip), 'nothing written outside the output folder').toEqual(projectBefore);
    expect(await hashTree(elsewhere), 'nothing written through a link').toEqual(elsewhereBefore);
    if (spec.exit !== 0) {
      expect(await hashTree(outDir), 'the output folder is untouched').toEqual(outBefore);
      return;
    }
    const outAfter = await hashTree(outDir);
    for (const file of spec.outHas ?? []) expect(outAfter.has(file), file).toBe(true);
    for (const file of outAfter.keys()) {
      if (!/\.(?:html|xml|json|txt)$/.test(file)) continue;
      expect(
        CONTROL.test(await readFile(path.join(outDir, file), 'utf8')),
        `control character in ${file}`,
      ).toBe(false);
    }
    const posts = await readdir(path.join(root, 'content', 'posts'));
    expect(
      posts.filter((post) => post.startsWith('.')),
      'no hidden article',
    ).toEqual([]);
  });
});
