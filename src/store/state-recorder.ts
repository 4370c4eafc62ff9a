// Group commit for a send's recipient states: outcomes that arrive while a transaction commits go together
// into the next one, so a thousand messages a second cost a few commits (each fsynced), not a thousand.

import type { StateUpdate, Store } from './store.ts';

export class StateRecorder {
  readonly #store: Pick<Store, 'markStates'>;
  readonly #sendId: number;
  #queue: StateUpdate[] = [];
  #waiters: { resolve: () => void; reject: (error: unknown) => void }[] = [];
  #draining: Promise<void> | undefined;

  constructor(store: Pick<Store, 'markStates'>, sendId: number) {
    this.#store = store;
    this.#sendId = sendId;
  }

  /** Resolves once the update is committed (durable); rejects if its transaction failed. */
  record(update: StateUpdate): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push(update);
      this.#waiters.push({ resolve, reject });
      // The drain starts after the current turn of the event loop: better-sqlite3 commits synchronously
      // (the fsync blocks the loop), so a drain started at once would commit each record alone, before
      // the replies that arrived in the same turn could add theirs (measured: 9,982 commits for 5,000
      // messages, 119 msg/s).
      this.#draining ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.#drain());
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const updates = this.#queue.splice(0);
      const waiters = this.#waiters.splice(0);
      try {
        await this.#store.markStates(this.#sendId, updates);
        for (const waiter of waiters) waiter.resolve();
      } catch (error) {
        for (const waiter of waiters) waiter.reject(error);
      }
    }
    this.#draining = undefined;
  }

  /** Waits until everything recorded so far is committed. */
  async flush(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }
}
