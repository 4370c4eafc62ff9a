// The shared store's driver: PostgreSQL through `pg`, imported here only (DATABASE_URL=postgres://…).

import pg from 'pg';
import { PostgresDialect } from './sql.ts';

export function createPostgresDialect(url: string): PostgresDialect {
  const pool = new pg.Pool({ connectionString: url, max: 10 });
  // An idle client whose server went away emits 'error'; unhandled, it would end the process.
  pool.on('error', () => {});
  return new PostgresDialect({ pool });
}

/** The URL of database `name` on the server of `url`. */
export function planDatabaseUrl(url: string, name: string): string {
  const next = new URL(url);
  next.pathname = `/${name}`;
  return next.href;
}

/**
 * Creates an empty database on the server of `adminUrl` and returns its URL: for setting up a deployment,
 * and for tests, which each get a database of their own.
 */
export async function createDatabase(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`create database ${name}`);
  } finally {
    await client.end();
  }
  return planDatabaseUrl(adminUrl, name);
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`not a plain database name: ${name}`);
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`drop database if exists ${name} with (force)`);
  } finally {
    await client.end();
  }
}
