// `kurier bounces` on the subscriber store: the command of src/commands/bounces.ts with the store's ledger
// and the settings of site.yaml and the environment.

import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { createStoreLedger } from '../bounces/store-ledger.ts';
import { planBounceSettings } from '../bounces/store-run.ts';
import { SETTINGS_FILE } from '../content/read-content.ts';
import { parseSite } from '../content/settings.ts';
import type { RunContext } from '../context.ts';
import { KurierError } from '../error.ts';
import type { Site } from '../model.ts';
import { openProjectStore } from '../subscribe/open-store.ts';
import { parseSubscriptionEnv } from '../subscribe/settings.ts';
import { createBouncesCommand } from './bounces.ts';

export async function readSiteSettings(root: string): Promise<Site> {
  const text = await readFile(path.join(root, SETTINGS_FILE), 'utf8').catch((error: unknown) => {
    throw new KurierError(
      'SETTINGS_INVALID',
      `cannot read the publication settings (${(error as Error).message}).`,
      {
        file: SETTINGS_FILE,
        cause: error,
      },
    );
  });
  return parseSite(text, SETTINGS_FILE);
}

/** A name for one run: when it started, and a random part so two runs started together differ. */
export function planRunName(now: Date, random: (size: number) => Buffer): string {
  return `${now.toISOString()} ${random(4).toString('hex')}`;
}

export const bouncesCommand = createBouncesCommand({
  async openLedger(context: RunContext) {
    const store = await openProjectStore({
      stateDir: context.paths.stateDir,
      databaseUrl: parseSubscriptionEnv(context.env).databaseUrl,
      now: context.now(),
      randomBytes,
      onLegacyImport: (message) => context.io.err(message),
    });
    return {
      ...createStoreLedger(store, planRunName(context.now(), randomBytes)),
      close: () => store.close(),
    };
  },
  async readSettings(context: RunContext) {
    const site = await readSiteSettings(context.root);
    const { secrets } = parseSubscriptionEnv(context.env);
    if (secrets.length === 0 && site.email.bounceAddress !== undefined) {
      context.io.err(
        'KURIER_SECRET is not set: VERP return addresses cannot be verified, so bounces are matched by the addresses they name only.',
      );
    }
    return planBounceSettings(site.email, secrets);
  },
});
