// Opens the project's subscriber store for a command: the database named by the settings, with the state
// folder of the file-based Kurier imported on first use.

import { randomBytes } from 'node:crypto';
import type { RunContext } from '../context.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { parseSubscriptionEnv } from './settings.ts';

export interface OpenProjectStore {
  readonly stateDir: string;
  readonly databaseUrl: string | undefined;
  readonly now: Date;
  readonly randomBytes: (size: number) => Buffer;
  /** Told once when an old state folder was imported. */
  readonly onLegacyImport?: (message: string) => void;
}

export async function openProjectStore(options: OpenProjectStore): Promise<Store> {
  const store = await openStore(options);
  try {
    const legacy = await store.migrateLegacyState(options.stateDir, options.now);
    if (legacy.migrated && (legacy.suppressed > 0 || legacy.sends > 0)) {
      options.onLegacyImport?.(
        `Imported the state folder into the subscriber store: ${legacy.suppressed} suppressed address(es), ${legacy.sends} send(s) with ${legacy.recipients} recipient(s). The old files stay where they are.`,
      );
    }
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

/** The store of a command's run: its state folder and DATABASE_URL, a legacy import told on stderr. */
export function openRunStore(context: RunContext): Promise<Store> {
  return openProjectStore({
    stateDir: context.paths.stateDir,
    databaseUrl: parseSubscriptionEnv(context.env).databaseUrl,
    now: context.now(),
    randomBytes,
    onLegacyImport: (message) => context.io.err(message),
  });
}
