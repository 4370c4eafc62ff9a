// Sends the queued confirmation mails: claim from the store, sign a confirm link, send, record the outcome.
// The queue lives in the store, so a server killed between sign-up and mail loses none.

import type { Transport } from '../send/transport.ts';
import type { Store } from '../store/store.ts';
import type { ConfirmationMailer } from '../subscribe/confirmation-mail.ts';
import { planConfirmUrl } from '../subscribe/links.ts';
import { createToken, type KeyRing } from '../subscribe/tokens.ts';

export interface ConfirmationSender {
  readonly store: Store;
  readonly transport: Transport;
  readonly mailer: ConfirmationMailer;
  readonly ring: KeyRing;
  readonly list: string;
  /** Where `kurier server` is reached: the link is <publicUrl>confirm?token=…. */
  readonly publicUrl: URL;
  /** MAIL FROM. */
  readonly envelopeFrom: string;
  /** This process, for the claims. */
  readonly owner: string;
  readonly now: () => Date;
  /** How long a claimed mail is this sender's; a crashed sender's mails go out after it. */
  readonly leaseMs: number;
}

// Few at a time: each claimed mail must go out within the lease, even over a slow SMTP server.
const BATCH = 5;
const MAX_ATTEMPTS = 8;

/** Backoff of a deferred confirmation mail: a minute, doubling, at most an hour. */
export function planConfirmationRetry(attempts: number): number {
  return Math.min(60_000 * 2 ** Math.max(0, attempts - 1), 3_600_000);
}

/** Sends until the queue has nothing due; returns how many went out. */
export async function sendQueuedConfirmations(
  sender: ConfirmationSender,
  signal?: AbortSignal,
): Promise<number> {
  let sent = 0;
  while (signal?.aborted !== true) {
    const jobs = await sender.store.claimConfirmations({
      owner: sender.owner,
      limit: BATCH,
      now: sender.now(),
      leaseMs: sender.leaseMs,
    });
    if (jobs.length === 0) return sent;
    for (const job of jobs) {
      const now = sender.now();
      const token = createToken(sender.ring, {
        purpose: 'confirm',
        list: sender.list,
        subscriberId: job.subscriberId,
        issuedAt: now,
      });
      const raw = sender.mailer({
        id: String(job.id),
        email: job.email,
        name: job.name,
        confirmUrl: planConfirmUrl(sender.publicUrl, token),
        date: now,
      });
      const outcome = await sender.transport.send({
        index: job.id,
        envelope: { from: sender.envelopeFrom, to: job.email },
        raw,
      });
      if (outcome.kind === 'sent') {
        await sender.store.markConfirmationSent(job.id, sender.now());
        sent += 1;
      } else {
        const giveUp = outcome.kind === 'rejected' || job.attempts >= MAX_ATTEMPTS;
        const retryAt = new Date(sender.now().getTime() + planConfirmationRetry(job.attempts));
        await sender.store.markConfirmationFailed(job.id, outcome.response, retryAt, giveUp);
      }
    }
  }
  return sent;
}

export interface ConfirmationWorker {
  /** A sign-up just queued a mail: send now rather than at the next tick. */
  kick(): void;
  /** Finishes the mail in flight and stops. */
  stop(): Promise<void>;
}

/**
 * Runs the sender on every kick and every `intervalMs` (mails of other servers, retries, a restart's
 * leftovers). One run at a time; errors go to `onError` and the next tick tries again.
 */
export function startConfirmationWorker(
  sender: ConfirmationSender,
  options: { readonly intervalMs: number; readonly onError: (error: unknown) => void },
): ConfirmationWorker {
  const controller = new AbortController();
  let running: Promise<void> | undefined;
  let again = false;
  const run = (): void => {
    if (controller.signal.aborted) return;
    if (running !== undefined) {
      again = true;
      return;
    }
    running = sendQueuedConfirmations(sender, controller.signal)
      .then(
        () => undefined,
        (error: unknown) => options.onError(error),
      )
      .finally(() => {
        running = undefined;
        if (again) {
          again = false;
          run();
        }
      });
  };
  const timer = setInterval(run, options.intervalMs);
  run();
  return {
    kick: run,
    async stop() {
      controller.abort();
      clearInterval(timer);
      while (running !== undefined) await running;
    },
  };
}
