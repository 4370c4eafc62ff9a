// Opens the store named by the settings: PostgreSQL when DATABASE_URL is a postgres:// URL, else the SQLite
// file in the private state folder. Migrations run on open; the address salt is made once.

import path from 'node:path';
import { KurierError } from '../error.ts';
import { KyselyStore } from './kysely-store.ts';
import { type Dialect, runMigrations } from './migrations.ts';
import { Kysely, type QueryDialect } from './sql.ts';
import type { Store } from './store.ts';
import type { Tables } from './tables.ts';

export const DATABASE_FILE = 'kurier.db';

export interface StoreSettings {
  readonly stateDir: string;
  /** postgres://… or postgresql://…; undefined for SQLite. */
  readonly databaseUrl?: string | undefined;
  readonly now: Date;
  /** Randomness is an input: the salt of the address hashes is made from it on first open. */
  readonly randomBytes: (size: number) => Buffer;
}

export function planDatabase(
  settings: Pick<StoreSettings, 'stateDir' | 'databaseUrl'>,
):
  | { readonly dialect: 'sqlite'; readonly file: string }
  | { readonly dialect: 'postgres'; readonly url: string } {
  const url = settings.databaseUrl?.trim();
  if (url === undefined || url === '') {
    return { dialect: 'sqlite', file: path.join(settings.stateDir, DATABASE_FILE) };
  }
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new KurierError(
      'ENV_INVALID',
      'DATABASE_URL must be a postgres:// URL (PostgreSQL); unset it to use the SQLite file in the state folder.',
    );
  }
  return { dialect: 'postgres', url };
}

export async function openStore(settings: StoreSettings): Promise<Store> {
  const plan = planDatabase(settings);
  // Each driver is loaded only when used: a SQLite user never loads pg, and the reverse.
  let dialect: QueryDialect;
  if (plan.dialect === 'sqlite')
    dialect = new (await import('./sqlite-thread.ts')).SqliteThreadDialect(plan.file);
  else dialect = (await import('./postgres.ts')).createPostgresDialect(plan.url);
  const db = new Kysely<Tables>({ dialect });
  try {
    await runMigrations(db, plan.dialect as Dialect, settings.now);
    await db
      .insertInto('meta')
      .values({ key: 'address-salt', value: settings.randomBytes(32).toString('base64url') })
      .onConflict((conflict) => conflict.column('key').doNothing())
      .execute();
    const salt = await db
      .selectFrom('meta')
      .select('value')
      .where('key', '=', 'address-salt')
      .executeTakeFirstOrThrow();
    return new KyselyStore(db, plan.dialect, salt.value);
  } catch (error) {
    await db.destroy();
    if (error instanceof KurierError) throw error;
    throw new KurierError(
      'STORE_UNAVAILABLE',
      `cannot open the subscriber store (${(error as Error).message}); ${plan.dialect === 'postgres' ? 'check DATABASE_URL and that the server is running' : 'check that the state folder is writable'}.`,
      { cause: error, ...(plan.dialect === 'sqlite' ? { file: plan.file } : {}) },
    );
  }
}
