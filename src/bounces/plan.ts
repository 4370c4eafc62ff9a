// Pure: a decision → the state changes it causes and the folder the message goes to.

import { createHash } from 'node:crypto';
import type { Decision } from './classify.ts';
import type { BounceAction, Folder, LedgerEntry, ReaderRef, SoftBouncePolicy } from './ledger.ts';

/**
 * A verified token names exactly one reader; without one, the addresses the report names stand in (mail
 * sent before VERP, or a relay that rewrote the return path).
 */
function readersOf(decision: Decision, addresses: readonly (string | undefined)[]): ReaderRef[] {
  const verp = 'verp' in decision ? decision.verp : undefined;
  if (verp?.status === 'valid') {
    const address = addresses.find((candidate) => candidate !== undefined);
    const { sendId, reader } = verp.ref;
    return [address === undefined ? { sendId, reader } : { sendId, reader, address }];
  }
  return [...new Set(addresses.filter((address): address is string => address !== undefined))].map(
    (address) => ({
      address,
    }),
  );
}

const SEVERITY_ORDER = { hard: 0, soft: 1, refused: 2 } as const;

export function planBounceActions(decision: Decision, policy: SoftBouncePolicy): BounceAction[] {
  switch (decision.kind) {
    case 'bounce': {
      const withToken = decision.verp?.status === 'valid';
      // With a token the message went to one reader: its worst recipient result is that reader's.
      const recipients = withToken
        ? [...decision.recipients]
            .sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity])
            .slice(0, 1)
        : decision.recipients;
      return recipients.flatMap((recipient) =>
        readersOf(decision, withToken ? decision.recipients.map((r) => r.address) : [recipient.address]).map(
          (reader): BounceAction =>
            recipient.severity === 'hard'
              ? { kind: 'suppress', reader, status: 'bounced' }
              : recipient.severity === 'soft'
                ? { kind: 'soft-bounce', reader, policy }
                : { kind: 'sender-refused', reader, reason: recipient.reason },
        ),
      );
    }
    case 'complaint':
      return readersOf(decision, decision.recipients).map((reader) => ({
        kind: 'suppress',
        reader,
        status: 'complained',
      }));
    case 'unsubscribe':
      return readersOf(decision, [decision.address]).map((reader) => ({ kind: 'unsubscribe', reader }));
    default:
      return [];
  }
}

/**
 * Unknown messages, mail that is no bounce (a reader's reply, perhaps), and a report that names nobody we
 * can act on wait for a person: an unsubscribe is never lost in the handled folder.
 */
export function planFolder(decision: Decision, actions: readonly BounceAction[]): Folder {
  if (decision.kind === 'unknown' || decision.kind === 'not-bounce') return 'unclassified';
  if (decision.kind === 'auto-reply') return 'handled';
  return actions.length > 0 ? 'handled' : 'unclassified';
}

/**
 * The Message-ID names a message across re-deliveries and mailbox moves; a message without one is named by
 * its bytes.
 */
export function planLedgerKey(messageId: string | undefined, raw: Buffer): string {
  const id = messageId?.trim();
  if (id !== undefined && id !== '' && id !== '<>') return `message-id:${id}`;
  return `sha256:${createHash('sha256').update(raw).digest('hex')}`;
}

/** A decided message (or relay notification) → what the ledger records: its state changes and its folder. */
export function planLedgerEntry(
  key: string,
  messageId: string | undefined,
  decision: Decision,
  policy: SoftBouncePolicy,
  decidedAt: Date,
): LedgerEntry {
  const actions = planBounceActions(decision, policy);
  return { key, messageId, decidedAt, decision, actions, folder: planFolder(decision, actions) };
}
