// A bounce run, for `kurier bounces` and the schedule inside `kurier server`: the settings from site.yaml and
// the secrets, one pass over the mailbox into a ledger, and a timer that never overlaps runs.

import { type ImapTarget, openImapMailbox } from './imap.ts';
import { planVerpKeys } from './keys.ts';
import type { BounceLedger, SoftBouncePolicy } from './ledger.ts';
import { type BounceRunReport, type BounceRunSettings, runBounces } from './service.ts';

export interface BounceEmailSettings {
  readonly bounceAddress?: string | undefined;
  readonly unsubscribeMailto: string;
  readonly softBounces: SoftBouncePolicy;
}

/** site.yaml's email settings and the key ring's secrets (KURIER_SECRET first) → what a run decides with. */
export function planBounceSettings(
  email: BounceEmailSettings,
  secrets: readonly string[],
): BounceRunSettings {
  return {
    classify: {
      ...(email.bounceAddress === undefined ? {} : { bounceAddress: email.bounceAddress }),
      unsubscribeAddress: email.unsubscribeMailto,
      keys: planVerpKeys(secrets),
    },
    softBounces: email.softBounces,
  };
}

/** One pass over the return mailbox, recorded in the ledger (the store's, for one named run). */
export async function runBouncesOnMailbox(
  target: ImapTarget,
  ledger: BounceLedger,
  settings: BounceRunSettings,
  now: () => Date,
): Promise<BounceRunReport> {
  const mailbox = await openImapMailbox(target);
  try {
    return await runBounces(mailbox, ledger, settings, now);
  } finally {
    await mailbox.close();
  }
}

export interface BounceSchedule {
  /** Resolves once the run in progress (if any) is over; no new one starts. */
  stop(): Promise<void>;
}

/**
 * Runs at once, then `intervalMs` after the end of each run (never two at a time). A failed run (the
 * mailbox unreachable) is reported and tried again at the next tick: the service stays up.
 */
export function startBounceSchedule(
  runOnce: () => Promise<void>,
  intervalMs: number,
  onError: (error: unknown) => void,
): BounceSchedule {
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const tick = () => {
    running = runOnce()
      .catch(onError)
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, intervalMs);
      });
  };
  tick();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
