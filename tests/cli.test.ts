// The CLI entry and bin/kurier.js as a user runs them: help, exit codes, `kurier new`, the bundled build.

import { spawnSync } from 'node:child_process';
import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { generateArticle, generateProject } from '../bench/generate.ts';
import { buildThroughBin, repoRoot, runCli, useProjects } from './support/project.ts';

const { project } = useProjects();

describe('kurier', () => {
  it('lists its commands, and every command explains itself with --help', async () => {
    const help = await runCli('/nonexistent', ['--help']);
    expect(help.code).toBe(0);
    const names = [...help.out.join('\n').matchAll(/^ {2}(\S+) {2,}/gm)].map((match) => match[1]);
    expect(names).toEqual(['bounces', 'build', 'new', 'publish', 'serve', 'server', 'status', 'subscribers']);
    for (const name of names) {
      const run = await runCli('/nonexistent', [name as string, '--help']);
      expect(run.code).toBe(0);
      expect(run.out.join('\n')).toMatch(new RegExp(`^Usage: kurier ${name}`));
    }
  });

  it('answers an unknown command or option with the usage and exit code 2', async () => {
    const unknown = await runCli('/nonexistent', ['bulid']);
    expect(unknown.code).toBe(2);
    expect(unknown.err.join('\n')).toContain('unknown command "bulid"');
    const option = await runCli('/nonexistent', ['build', '--outt', 'x']);
    expect(option.code).toBe(2);
    expect(option.err.join('\n')).toContain("Unknown option '--outt'");
  });
});

describe('kurier new', () => {
  it('starts a draft whose id is minted from the settings and the slug, and never overwrites', async () => {
    const root = await project();
    const run = await runCli(root, ['new', 'Grüße aus dem Ruhrgebiet']);
    expect(run.code).toBe(0);
    const text = await readFile(path.join(root, 'content', 'posts', 'gruesse-aus-dem-ruhrgebiet.md'), 'utf8');
    expect(text).toContain('id: tag:kurier.example,2026:gruesse-aus-dem-ruhrgebiet\n');
    expect(text).toContain('title: "Grüße aus dem Ruhrgebiet"\n');
    expect(text).toContain(`date: 2026-11-26T11:00:00+01:00\n`);
    expect(text).toContain('draft: true\n');
    const build = await runCli(root, ['build']);
    expect(build.code).toBe(0);
    expect(build.out.at(-1)).toContain('(1 draft skipped)');
    const again = await runCli(root, ['new', 'Grüße aus dem Ruhrgebiet']);
    expect(again.code).toBe(1);
    expect(again.err.join('\n')).toContain('DUPLICATE_SLUG');
  });

  it('gives a title without Latin letters the date as its slug, then the date with a counter, never ".md"', async () => {
    const root = await project();
    const first = await runCli(root, ['new', '日本語']);
    expect([first.code, first.out, first.err]).toEqual([
      0,
      ['Created content/posts/2026-11-26.md (draft). Write the summary and text, then remove "draft: true".'],
      [
        'note: The title has no letters a URL can use (a–z, 0–9; ä → ae), so the slug is the date. Use --slug to choose a readable one.',
      ],
    ]);
    expect((await runCli(root, ['new', 'Привет'])).out[0]).toMatch(
      /^Created content\/posts\/2026-11-26-2\.md /,
    );
    const text = await readFile(path.join(root, 'content', 'posts', '2026-11-26.md'), 'utf8');
    expect(text).toContain('id: tag:kurier.example,2026:2026-11-26\ntitle: "日本語"\nslug: 2026-11-26\n');
    expect(await runCli(root, ['new', 'Eigener Pfad', '--slug', 'eigen'])).toMatchObject({ code: 0 });
    expect(await runCli(root, ['new', 'Wort '.repeat(30)])).toMatchObject({ code: 0 });
    const build = await runCli(root, ['build']);
    expect([build.code, build.err, build.out.at(-1)]).toEqual([
      0,
      [],
      expect.stringContaining('(4 drafts skipped)'),
    ]);
  });

  it('names a missing content/site.yaml as a settings error, without a stack trace, and writes nothing', async () => {
    const root = await project();
    await rm(path.join(root, 'content', 'site.yaml'));
    const run = await runCli(root, ['new', 'Ohne Einstellungen']);
    expect(run.code).toBe(1);
    expect(run.err.join('\n')).toMatch(
      /^content\/site\.yaml {2}SETTINGS_INVALID {2}cannot read the publication settings/,
    );
    expect(run.err.join('\n')).not.toContain('    at ');
    expect(await readdir(path.join(root, 'content', 'posts'))).not.toContain('ohne-einstellungen.md');
  });
});

describe('bin/kurier.js, what npm run build runs', () => {
  it('bundles the sources and builds a site large enough for worker threads', async () => {
    const root = await project();
    await rm(path.join(root, 'content', 'posts'), { recursive: true });
    // Large enough for a parse worker even on two cores (planParseWorkers).
    await generateProject(root, repoRoot, 2600);
    expect(buildThroughBin(root)).toMatch(/^Built 2600 articles: 2626 files/m);
    const page = await readFile(path.join(root, 'out', 'artikel-2599', 'index.html'), 'utf8');
    expect(page).toContain('<h1>Artikel 2599:');
  });

  /** `kurier build` in `root`, noting every module the process and its threads resolve (ES imports). */
  async function tracedBuild(
    root: string,
  ): Promise<{ stdout: string; stderr: string; status: number | null; urls: string[] }> {
    const loaded = path.join(root, 'loaded.txt');
    const hooks = path.join(root, 'hooks.mjs');
    await writeFile(
      hooks,
      `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(loaded)}, result.url + '\\n');
  return result;
}
`,
    );
    const register = path.join(root, 'register.mjs');
    await writeFile(
      register,
      // The packages that bin/packages.js bundles load through vm.Script, which the hooks do not see.
      `import { appendFileSync } from 'node:fs';
import { createRequire, register, syncBuiltinESMExports } from 'node:module';
import { pathToFileURL } from 'node:url';
register(${JSON.stringify(pathToFileURL(hooks).href)});
const vm = createRequire(import.meta.url)('node:vm');
vm.Script = class extends vm.Script {
  constructor(code, options) {
    super(code, options);
    appendFileSync(${JSON.stringify(loaded)}, pathToFileURL(options.filename).href + '\\n');
  }
};
syncBuiltinESMExports();
`,
    );
    await rm(loaded, { force: true });
    const run = spawnSync(
      process.execPath,
      ['--import', pathToFileURL(register).href, path.join(repoRoot, 'bin', 'kurier.js'), 'build'],
      { cwd: repoRoot, encoding: 'utf8', env: { ...process.env, KURIER_ROOT: root } },
    );
    const urls = (await readFile(loaded, 'utf8')).trim().split('\n');
    return { stdout: run.stdout, stderr: run.stderr, status: run.status, urls };
  }

  it('loads no library when a build finds nothing changed: no zod, nothing of the send side', async () => {
    const root = await project();
    expect((await tracedBuild(root)).status).toBe(0);
    const run = await tracedBuild(root);
    expect(run.stderr).toBe('');
    expect(run.stdout).toContain('(0 written, 9 unchanged)');
    expect(run.urls.some((url) => url.includes('/node_modules/.cache/kurier/'))).toBe(true);
    // The bundle of src/ only: no package, neither from node_modules nor from its bundle (<package>.cjs).
    expect(
      run.urls.filter((url) => /\/node_modules\/(?!\.cache\/kurier\/\w+\/[\w-]+\.js$)/.test(url)),
    ).toEqual([]);
  });

  it('starts the email thread for an edit that may be emailed, not for an older article', async () => {
    const root = await project();
    await rm(path.join(root, 'content', 'posts'), { recursive: true });
    await generateProject(root, repoRoot, 12);
    const first = await tracedBuild(root);
    expect(first.stdout).toContain('10 emails (10 compiled');
    const emailThread = (urls: readonly string[]) => urls.some((url) => url.endsWith('/email-worker.js'));
    expect(emailThread(first.urls)).toBe(true);

    // The two oldest of 12 are outside the window of 10 emails.
    await writeFile(path.join(root, 'content', 'posts', 'artikel-0.md'), generateArticle(0, 300));
    const old = await tracedBuild(root);
    expect(old.stdout).toContain('10 emails (0 compiled, 10 from cache)');
    expect(emailThread(old.urls)).toBe(false);

    await writeFile(path.join(root, 'content', 'posts', 'artikel-11.md'), generateArticle(11, 300));
    const newest = await tracedBuild(root);
    expect(newest.stdout).toContain('10 emails (1 compiled, 9 from cache)');
    expect(emailThread(newest.urls)).toBe(true);
  });
});
