// The bounce part of `kurier status`, from the subscriber store when there is one (status never creates it).

import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { renderBounceStatus } from '../bounces/report.ts';
import type { Io, RunContext } from '../context.ts';
import { openStore, planDatabase } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { parseSubscriptionEnv } from '../subscribe/settings.ts';

/** For a status that has the store open already. */
export async function printBounceReport(io: Io, store: Store): Promise<void> {
  const lines = renderBounceStatus(await store.countBouncesPerSend(), await store.readLatestBounceRun());
  for (const line of lines) io.out(line);
}

export async function printBounceStatus(context: RunContext): Promise<void> {
  const settings = {
    stateDir: context.paths.stateDir,
    databaseUrl: parseSubscriptionEnv(context.env).databaseUrl,
  };
  const plan = planDatabase(settings);
  if (
    plan.dialect === 'sqlite' &&
    !(await access(plan.file).then(
      () => true,
      () => false,
    ))
  )
    return;
  const store = await openStore({ ...settings, now: context.now(), randomBytes });
  try {
    await printBounceReport(context.io, store);
  } finally {
    await store.close();
  }
}
