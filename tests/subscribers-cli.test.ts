// `kurier subscribers` against a real store: SQLite in the project's state folder, and PostgreSQL.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot, runCli } from './support/project.ts';
import { BACKENDS, makeStoreFixture, type StoreFixture } from './support/store.ts';

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`kurier subscribers on ${backend.name}`, () => {
    let fixture: StoreFixture;
    afterEach(async () => {
      await fixture.cleanup();
    });

    async function setup() {
      fixture = await makeStoreFixture(backend);
      const root = fixture.stateDir;
      const env = { KURIER_STATE_DIR: path.join(root, '.kurier'), DATABASE_URL: fixture.databaseUrl };
      const run = (...argv: string[]) => runCli(root, ['subscribers', ...argv], env);
      return { root, run };
    }

    it('imports today’s CSV, never re-activates, exports consent, forgets', async () => {
      const { root, run } = await setup();
      const example = path.join(repoRoot, 'subscribers.example.csv');
      const imported = await run('import', example);
      expect(imported.code).toBe(0);
      expect(imported.out.join('\n')).toContain('3 added');
      expect(imported.out.join('\n')).toContain('1 marked unsubscribed or bounced');

      expect((await run('remove', 'anna.schmidt@example.com')).code).toBe(0);
      // Ben unsubscribed in the list, Anna with remove: a list saying "active" brings neither back.
      await writeFile(
        path.join(root, 'again.csv'),
        'email,name\nben@example.org,Ben\nANNA.SCHMIDT@example.com,Anna\n',
      );
      const again = await run('import', 'again.csv');
      expect(again.out.join('\n')).toContain('0 added');
      expect(again.out.join('\n')).toContain('2 not re-activated');

      const exported = await run('export');
      expect(exported.out[0]).toMatch(/^email,name,status,status_cause,.*consent_source/);
      const joerg = exported.out.find((line) => line.startsWith('joerg@xn--bcher-kva.example'));
      expect(joerg).toContain(',active,');
      expect(joerg).toContain(',import,');
      expect(joerg).toContain('"{""city"":""Essen""}"');
      expect(exported.out.find((line) => line.startsWith('anna.schmidt'))).toContain(',unsubscribed,');

      const forgotten = await run('forget', 'joerg@bücher.example');
      expect(forgotten.code).toBe(0);
      const list = await run('list');
      expect(list.out.join('\n')).not.toContain('joerg');
      expect(list.out.at(-1)).toBe(
        '1 active, 0 pending, 1 unsubscribed, 0 bounced, 0 complained; 3 on the suppression list',
      );
      const add = await run('add', 'joerg@xn--bcher-kva.example', '--name', 'Jörg');
      expect(add.code).toBe(1);
      expect(add.err.join('\n')).toContain('SUBSCRIBER_INVALID');
      expect((await run('add', 'neu@example.org', '--name', 'Neu')).out).toEqual([
        'neu@example.org is active.',
      ]);
    });

    it('names a broken row by file and line and imports the rest', async () => {
      const { root, run } = await setup();
      await writeFile(path.join(root, 'list.csv'), 'email,name\nok@example.org,Ok\nnot-an-address,X\n');
      const result = await run('import', 'list.csv');
      expect(result.code).toBe(0);
      expect(result.err).toEqual(['list.csv:3  "not-an-address" is not an email address']);
      expect(result.out.join('\n')).toContain('1 added');
    });

    it('imports the old state folder on first use', async () => {
      const { root, run } = await setup();
      await mkdir(path.join(root, '.kurier'), { recursive: true });
      await writeFile(path.join(root, '.kurier', 'suppressed.jsonl'), 'gone@example.org\n');
      const first = await run('add', 'gone@example.org');
      expect(first.err.join('\n')).toContain('1 suppressed address(es)');
      expect(first.code).toBe(1);
      expect((await run('list')).err).toEqual([]);
    });
  });
}

describe('kurier subscribers usage', () => {
  it('asks for an action', async () => {
    const result = await runCli(repoRoot, ['subscribers', 'frobnicate'], {
      KURIER_STATE_DIR: '/nonexistent',
    });
    expect(result.code).toBe(2);
    expect(result.err.join('\n')).toContain('name an action');
  });
});
