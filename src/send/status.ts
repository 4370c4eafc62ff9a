// What `kurier status` shows, read from the subscriber store (never written): the list's counts, every send
// (or one article's) newest first with its recipients' states and whoever holds its lock, and the bounces.

import type { BounceRunSummary, SendBounceCounts } from '../store/bounce-records.ts';
import type { Counts, SendInfo, Store } from '../store/store.ts';
import { isHolderGone, parseLockOwner } from './lock.ts';
import { type FrozenMessage, parseFrozenMessage } from './message.ts';
import type { RecipientState } from './states.ts';

export interface LockHolder {
  /** "process 4242 on host", or "a run" when the owner is unreadable. */
  readonly who: string;
  /** Holds a lock that has not run out, and its process is alive; otherwise it stopped without finishing. */
  readonly running: boolean;
}

export interface SendStatus {
  readonly send: SendInfo;
  /** Undefined for a send imported from the file-based state, which kept no message. */
  readonly message: FrozenMessage | undefined;
  readonly done: Readonly<Record<RecipientState, number>>;
  readonly holder: LockHolder | undefined;
}

export interface StatusReport {
  readonly counts: Counts;
  readonly sends: readonly SendStatus[];
  readonly bounces: readonly SendBounceCounts[];
  readonly latestBounceRun: BounceRunSummary | undefined;
}

async function readLockHolder(store: Store, send: SendInfo, now: Date): Promise<LockHolder | undefined> {
  const lock = await store.readSendLock(send.id);
  if (lock === undefined) return undefined;
  const owner = parseLockOwner(lock.owner);
  const who = owner === undefined ? 'a run' : `process ${owner.pid} on ${owner.host}`;
  return { who, running: lock.until > now && !(await isHolderGone(lock.owner)) };
}

/** The status of the list and of every send, or only of the sends of the article `slug`. */
export async function readStatus(store: Store, slug: string | undefined, now: Date): Promise<StatusReport> {
  const counts = await store.counts();
  const sends = (await store.listSends())
    .map((send) => ({ send, message: parseFrozenMessage(send.email) }))
    .filter(({ message }) => slug === undefined || message?.slug === slug)
    .sort((a, b) => b.send.frozenAt.getTime() - a.send.frozenAt.getTime() || b.send.id - a.send.id);
  const statuses: SendStatus[] = [];
  for (const { send, message } of sends) {
    const done = await store.countStates(send.id);
    statuses.push({ send, message, done, holder: await readLockHolder(store, send, now) });
  }
  return {
    counts,
    sends: statuses,
    bounces: await store.countBouncesPerSend(),
    latestBounceRun: await store.readLatestBounceRun(),
  };
}
