// The BounceLedger on the subscriber store: each entry becomes one record of the store, its actions the state
// changes the store applies in the same transaction.

import type { Store } from '../store/store.ts';
import { summarizeDecision } from './classify.ts';
import type { BounceLedger, Folder } from './ledger.ts';

/** `run` names this run in the store, so `kurier status` can say whom the latest run suppressed. */
export function createStoreLedger(store: Store, run: string): BounceLedger {
  return {
    async find(key) {
      const found = await store.findBounceMessage(key);
      return found === undefined ? undefined : { key: found.key, folder: found.folder as Folder };
    },
    async record(entry) {
      return store.recordBounceMessage({
        key: entry.key,
        messageId: entry.messageId,
        decidedAt: entry.decidedAt,
        kind: summarizeDecision(entry.decision),
        why: 'why' in entry.decision ? entry.decision.why : summarizeDecision(entry.decision),
        decision: entry.decision,
        folder: entry.folder,
        run,
        changes: entry.actions,
      });
    },
  };
}
