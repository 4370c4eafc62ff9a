// The environment and paths of every command, resolved once by the CLI entry: .env, KURIER_STATE_DIR, and
// out/ apart from the private state folder.

import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { planPaths } from '../src/environment.ts';
import { makeProject, runCli } from './support/project.ts';

const roots: string[] = [];
afterEach(async () => {
  await Promise.all(roots.splice(0).map((root) => rm(root, { recursive: true, force: true })));
});

async function project(): Promise<string> {
  const root = await makeProject();
  roots.push(root);
  return root;
}

describe('environment and paths, for every command', () => {
  it('reads .env for build too: KURIER_STATE_DIR there moves the email cache out of .kurier', async () => {
    const root = await project();
    await writeFile(path.join(root, '.env'), 'KURIER_STATE_DIR=private\n');
    expect((await runCli(root, ['build'])).code).toBe(0);
    expect(await readdir(path.join(root, 'private'))).toContain('cache');
    await expect(readdir(path.join(root, '.kurier'))).rejects.toThrow();
  });

  it('lets the environment win over .env', async () => {
    const root = await project();
    await writeFile(path.join(root, '.env'), 'KURIER_STATE_DIR=from-file\n');
    expect((await runCli(root, ['build'], { KURIER_STATE_DIR: 'from-env' })).code).toBe(0);
    expect(await readdir(path.join(root, 'from-env'))).toContain('cache');
    await expect(readdir(path.join(root, 'from-file'))).rejects.toThrow();
  });

  it.each([
    ['build', ['build', '--out', 'state'], { KURIER_STATE_DIR: 'state' }],
    ['build, state inside out/', ['build', '--state', 'out/private'], {}],
    ['serve', ['serve', '--out', 'private', '--port', '0'], { KURIER_STATE_DIR: 'private/x' }],
    ['status', ['status', '--state', 'out'], {}],
    ['publish', ['publish', '--state', 'out/state', '--dry-run'], {}],
    ['new', ['new', 'Titel'], { KURIER_STATE_DIR: 'out' }],
  ])('refuses out/ and the state folder inside each other: %s', async (_, argv, env) => {
    const root = await project();
    const run = await runCli(root, argv, env);
    expect(run.code).toBe(1);
    expect(run.err.join('\n')).toContain('OUT_DIR_UNSAFE');
    await expect(readdir(path.join(root, 'out'))).rejects.toThrow();
  });

  it('resolves the options over the environment over the defaults', () => {
    expect(planPaths('/p', {}, {})).toEqual({ outDir: '/p/out', stateDir: '/p/.kurier' });
    expect(planPaths('/p', { KURIER_STATE_DIR: 's' }, { out: 'docs' })).toEqual({
      outDir: '/p/docs',
      stateDir: '/p/s',
    });
    expect(planPaths('/p', { KURIER_STATE_DIR: 's' }, { state: '/abs' }).stateDir).toBe('/abs');
  });
});

describe('a .env that cannot be read', () => {
  it('is a clear ENV_INVALID for every command', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'kurier-env-'));
    roots.push(root);
    await (await import('node:fs/promises')).mkdir(path.join(root, '.env'));
    const run = await runCli(root, ['status']);
    expect(run.code).toBe(1);
    expect(run.err.join('\n')).toMatch(/^\.env {2}ENV_INVALID {2}cannot read \.env/);
  });
});

describe('each option declared once', () => {
  it('gives every command its parseArgs options, --help lines and checks from one table', async () => {
    const { buildCommand } = await import('../src/commands/build.ts');
    const { newCommand } = await import('../src/commands/new.ts');
    const { publishCommand } = await import('../src/commands/publish.ts');
    const { serveCommand } = await import('../src/commands/serve.ts');
    const { statusCommand } = await import('../src/commands/status.ts');
    for (const command of [buildCommand, newCommand, publishCommand, serveCommand, statusCommand]) {
      for (const name of Object.keys(command.parseArgsOptions)) {
        expect(command.help, `${command.name} --${name}`).toMatch(new RegExp(`^ {2}--${name}\\b`, 'm'));
      }
    }
    const root = await project();
    for (const [argv, message] of [
      [['publish', '--connections', '0'], '--connections: '],
      [['publish', '--unknown', 'maybe'], '--unknown: '],
      [['serve', '--port', '70000'], '--port: give a port number'],
      [['new', 'Titel', '--slug', 'Nicht Gut'], '--slug: use lowercase letters'],
      [['build', '--out', ''], '--out: give a path'],
    ] as const) {
      const run = await runCli(root, [...argv]);
      expect(run.code, argv.join(' ')).toBe(2);
      expect(run.err.join('\n')).toContain(`USAGE  ${message}`);
    }
  });
});
