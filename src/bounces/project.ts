// A bounce run's inputs from the project, for `kurier bounces` and the schedule inside `kurier server`: the
// settings of site.yaml and the environment, the subscriber store's ledger, and the name of one run.

import { randomBytes } from 'node:crypto';
import { readSite } from '../content/read-site.ts';
import type { RunContext } from '../context.ts';
import { openRunStore } from '../subscribe/open-store.ts';
import { parseSubscriptionEnv } from '../subscribe/settings.ts';
import type { BounceLedger } from './ledger.ts';
import type { BounceRunSettings } from './service.ts';
import { createStoreLedger } from './store-ledger.ts';
import { planBounceSettings } from './store-run.ts';

/** A name for one run: when it started, and a random part so two runs started together differ. */
export function planRunName(now: Date, random: (size: number) => Buffer): string {
  return `${now.toISOString()} ${random(4).toString('hex')}`;
}

/** The store's ledger, open for one run. */
export async function openBounceLedger(
  context: RunContext,
): Promise<BounceLedger & { close(): Promise<void> }> {
  const store = await openRunStore(context);
  return {
    ...createStoreLedger(store, planRunName(context.now(), randomBytes)),
    close: () => store.close(),
  };
}

/** Bounce and unsubscribe addresses, VERP keys and the soft-bounce policy; warns when VERP cannot be checked. */
export async function readBounceSettings(context: RunContext): Promise<BounceRunSettings> {
  const site = await readSite(context.root);
  const { secrets } = parseSubscriptionEnv(context.env);
  if (secrets.length === 0 && site.email.bounceAddress !== undefined) {
    context.io.err(
      'KURIER_SECRET is not set: VERP return addresses cannot be verified, so bounces are matched by the addresses they name only.',
    );
  }
  return planBounceSettings(site.email, secrets);
}
