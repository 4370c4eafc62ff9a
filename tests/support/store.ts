// The two stores the contract tests run on: a SQLite file in a temp folder, and a fresh database on the
// PostgreSQL server named by KURIER_TEST_DATABASE_URL (skipped through lacks('postgres') when it is unset, so
// the run's summary names it and CI fails instead).

import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach } from 'vitest';
import { openStore } from '../../src/store/open.ts';
import { createDatabase, dropDatabase } from '../../src/store/postgres.ts';
import type { Store } from '../../src/store/store.ts';
import { lacks } from './requirements.ts';

export const TEST_DATABASE_URL = process.env.KURIER_TEST_DATABASE_URL;

export interface Backend {
  readonly name: 'sqlite' | 'postgres';
  readonly available: boolean;
}

export const BACKENDS: readonly Backend[] = [
  { name: 'sqlite', available: true },
  { name: 'postgres', available: !lacks('postgres') },
];

/** A place for one test's state: the state folder, and for PostgreSQL a database of its own. */
export interface StoreFixture {
  readonly stateDir: string;
  readonly databaseUrl: string | undefined;
  open(now?: Date): Promise<Store>;
  cleanup(): Promise<void>;
}

export async function makeStoreFixture(backend: Backend): Promise<StoreFixture> {
  const stateDir = await mkdtemp(path.join(tmpdir(), 'kurier-store-'));
  let databaseUrl: string | undefined;
  let database: string | undefined;
  if (backend.name === 'postgres' && TEST_DATABASE_URL !== undefined) {
    database = `kurier_test_${randomBytes(6).toString('hex')}`;
    databaseUrl = await createDatabase(TEST_DATABASE_URL, database);
  }
  const opened: Store[] = [];
  return {
    stateDir,
    databaseUrl,
    async open(now = new Date('2026-11-26T10:00:00Z')) {
      const store = await openStore({ stateDir, databaseUrl, now, randomBytes });
      opened.push(store);
      return store;
    },
    async cleanup() {
      for (const store of opened) await store.close().catch(() => undefined);
      if (database !== undefined && TEST_DATABASE_URL !== undefined)
        await dropDatabase(TEST_DATABASE_URL, database);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

export interface OpenedStore {
  readonly fixture: StoreFixture;
  readonly store: Store;
}

/** In a describe block: a fresh fixture with its store open before each test, handed to `set`; cleaned up after. */
export function useFreshStore(backend: Backend, set: (opened: OpenedStore) => void): void {
  let fixture: StoreFixture | undefined;
  beforeEach(async () => {
    fixture = await makeStoreFixture(backend);
    set({ fixture, store: await fixture.open() });
  });
  afterEach(async () => {
    await fixture?.cleanup();
  });
}
