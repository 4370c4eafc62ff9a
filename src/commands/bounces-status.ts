// The bounce part of `kurier status`, from the subscriber store when there is one (status never creates it).

import { randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { renderBounceStatus } from '../bounces/report.ts';
import type { RunContext } from '../context.ts';
import { openStore, planDatabase } from '../store/open.ts';
import { parseSubscriptionEnv } from '../subscribe/settings.ts';

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
    const lines = renderBounceStatus(await store.countBouncesPerSend(), await store.readLatestBounceRun());
    for (const line of lines) context.io.out(line);
  } finally {
    await store.close();
  }
}
