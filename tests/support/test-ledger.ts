// A BounceLedger for tests until the subscriber store implements it: in memory, or, for the kill tests,
// durable in a JSON-lines file (each record appended and fsynced before record() returns; a torn last line
// from a killed writer is ignored, as that record was never acknowledged).

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { BounceLedger, LedgerEntry, ReaderRef, RecordOutcome } from '../../src/bounces/ledger.ts';

export interface StoredEntry {
  readonly key: string;
  readonly folder: LedgerEntry['folder'];
  readonly kind: string;
  readonly decidedAt: string;
  readonly actions: LedgerEntry['actions'];
}

export interface TestLedger extends BounceLedger {
  readonly entries: readonly StoredEntry[];
  /** Reader status as the store would keep it: bounced, complained, unsubscribed. */
  readonly status: ReadonlyMap<string, string>;
}

export function readerKey(reader: ReaderRef): string {
  return 'sendId' in reader ? `verp:${reader.sendId}:${reader.reader}` : `address:${reader.address}`;
}

export function createTestLedger(file?: string): TestLedger {
  const entries: StoredEntry[] = [];
  const byKey = new Map<string, StoredEntry>();
  const status = new Map<string, string>();
  const softBounces = new Map<string, number[]>();

  const apply = (entry: StoredEntry): ReaderRef[] => {
    const suppressed: ReaderRef[] = [];
    const at = Date.parse(entry.decidedAt);
    for (const action of entry.actions) {
      const key = readerKey(action.reader);
      if (action.kind === 'suppress') {
        status.set(key, action.status);
        suppressed.push(action.reader);
      } else if (action.kind === 'unsubscribe') {
        status.set(key, 'unsubscribed');
      } else if (action.kind === 'soft-bounce') {
        const since = at - action.policy.withinDays * 86_400_000;
        const times = [...(softBounces.get(key) ?? []), at].filter((time) => time > since);
        softBounces.set(key, times);
        if (times.length >= action.policy.count && status.get(key) === undefined) {
          status.set(key, 'bounced');
          suppressed.push(action.reader);
        }
      }
    }
    entries.push(entry);
    byKey.set(entry.key, entry);
    return suppressed;
  };

  if (file !== undefined && existsSync(file)) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line === '') continue;
      try {
        apply(JSON.parse(line) as StoredEntry);
      } catch {
        // The torn tail of a write the killed process never finished.
      }
    }
  }

  return {
    entries,
    status,
    async find(key) {
      return byKey.get(key);
    },
    async record(entry): Promise<RecordOutcome> {
      if (byKey.has(entry.key)) return { recorded: false, suppressed: [] };
      const stored: StoredEntry = {
        key: entry.key,
        folder: entry.folder,
        kind: entry.decision.kind,
        decidedAt: entry.decidedAt.toISOString(),
        actions: entry.actions,
      };
      if (file !== undefined) {
        const fd = openSync(file, 'a');
        try {
          // A leading newline ends a torn line of an earlier killed writer, so this one parses.
          writeSync(fd, `\n${JSON.stringify(stored)}\n`);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
      }
      return { recorded: true, suppressed: apply(stored) };
    },
  };
}
