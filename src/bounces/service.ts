// One run over the return mailbox: each message is parsed, decided, recorded in the ledger with its state
// changes, and only then moved out of the mailbox. A message is never deleted; a run killed at any point
// and started again finds what it recorded and only moves it.

import { type ClassifySettings, classifyMessage, type Decision, summarizeDecision } from './classify.ts';
import type {
  BounceLedger,
  Folder,
  LedgerEntry,
  ReaderRef,
  RecordOutcome,
  SoftBouncePolicy,
} from './ledger.ts';
import { parseMail } from './parse-mail.ts';
import { planLedgerEntry, planLedgerKey } from './plan.ts';

export interface MailboxMessage {
  /** IMAP UID: stable while the message stays in the mailbox. */
  readonly uid: number;
  readonly raw: Buffer;
}

/** The return mailbox as the service sees it; src/bounces/imap.ts implements it over IMAP. */
export interface BounceMailbox {
  /** The messages in the mailbox when the run began, in batches, oldest first. */
  batches(size: number): AsyncIterable<readonly MailboxMessage[]>;
  move(uids: readonly number[], folder: Folder): Promise<void>;
}

export interface BounceRunSettings {
  readonly classify: ClassifySettings;
  readonly softBounces: SoftBouncePolicy;
  /** Messages fetched and moved per round trip. */
  readonly batchSize?: number;
}

export interface BounceRunReport {
  readonly seen: number;
  /** Decided and recorded by this run. */
  readonly recorded: number;
  /** Found recorded by an earlier run (killed before it moved them), and moved now. */
  readonly alreadyRecorded: number;
  /** Per decision, bounces by their worst recipient: hard, soft, refused. */
  readonly byKind: Readonly<Record<string, number>>;
  readonly suppressed: readonly ReaderRef[];
  /** What a person should look at: unknown messages and mail that is no bounce. */
  readonly unclassified: readonly { readonly key: string; readonly subject: string; readonly why: string }[];
}

function whyOf(decision: Decision): string {
  return 'why' in decision ? decision.why : decision.kind;
}

export async function runBounces(
  mailbox: BounceMailbox,
  ledger: BounceLedger,
  settings: BounceRunSettings,
  now: () => Date,
): Promise<BounceRunReport> {
  let seen = 0;
  let recorded = 0;
  let alreadyRecorded = 0;
  const byKind: Record<string, number> = {};
  const suppressed: ReaderRef[] = [];
  const unclassified: { key: string; subject: string; why: string }[] = [];
  for await (const batch of mailbox.batches(settings.batchSize ?? 50)) {
    const moves: Record<Folder, number[]> = { handled: [], unclassified: [] };
    const decided: { uid: number; entry: LedgerEntry; subject: string }[] = [];
    for (const { uid, raw } of batch) {
      seen++;
      const message = await parseMail(raw);
      const key = planLedgerKey(message.messageId, raw);
      const known = await ledger.find(key);
      if (known !== undefined) {
        alreadyRecorded++;
        moves[known.folder].push(uid);
        continue;
      }
      const decision = classifyMessage(message, settings.classify);
      decided.push({
        uid,
        subject: message.subject,
        entry: planLedgerEntry(key, message.messageId, decision, settings.softBounces, now()),
      });
    }
    // Recorded together: on SQLite the store commits them as one group (one fsync for the batch, each in a
    // savepoint of its own); each is still durable before anything is moved.
    const outcomes = await Promise.all(decided.map(({ entry }) => ledger.record(entry)));
    decided.forEach(({ uid, entry, subject }, index) => {
      const outcome = outcomes[index] as (typeof outcomes)[number];
      if (outcome.recorded) {
        recorded++;
        const kind = summarizeDecision(entry.decision);
        byKind[kind] = (byKind[kind] ?? 0) + 1;
        suppressed.push(...outcome.suppressed);
        if (entry.folder === 'unclassified')
          unclassified.push({ key: entry.key, subject, why: whyOf(entry.decision) });
      } else {
        alreadyRecorded++;
      }
      moves[entry.folder].push(uid);
    });
    // Moved only after every message of the batch is recorded: a crash in between leaves them in the
    // mailbox, recorded, and the next run moves them without counting them again.
    for (const folder of ['handled', 'unclassified'] as const) {
      if (moves[folder].length > 0) await mailbox.move(moves[folder], folder);
    }
  }
  return { seen, recorded, alreadyRecorded, byKind, suppressed, unclassified };
}

/**
 * A notification a relay posted (SES through SNS, Postmark), decided already: recorded as a message of the
 * mailbox is, under a key of the relay's own id, so a retried delivery changes nothing twice.
 */
export async function recordRelayNotice(
  ledger: BounceLedger,
  notice: { readonly key: string; readonly messageId: string | undefined; readonly decision: Decision },
  policy: SoftBouncePolicy,
  now: () => Date,
): Promise<RecordOutcome> {
  return ledger.record(planLedgerEntry(notice.key, notice.messageId, notice.decision, policy, now()));
}
