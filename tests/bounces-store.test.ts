// The bounce records of the store, the same on SQLite and PostgreSQL: each message recorded once with its
// state changes, readers named by (send, index) or by address, soft bounces counted within the window.

import { describe, expect, it } from 'vitest';
import type { BounceChange, BounceMessageRecord } from '../src/store/bounce-records.ts';
import type { Store } from '../src/store/store.ts';
import { lacks } from './support/requirements.ts';
import { BACKENDS, type StoreFixture, useFreshStore } from './support/store.ts';

const T0 = new Date('2026-11-26T10:00:00Z');
const days = (n: number) => new Date(T0.getTime() + n * 86_400_000);
const POLICY = { count: 3, withinDays: 30 };

function record(key: string, changes: readonly BounceChange[], at = T0, run = 'run-1'): BounceMessageRecord {
  return {
    key: `message-id:<${key}@mta.example>`,
    messageId: `<${key}@mta.example>`,
    decidedAt: at,
    kind: changes[0]?.kind ?? 'unknown',
    why: `test ${key}`,
    decision: { kind: 'test', key },
    folder: 'handled',
    run,
    changes,
  };
}

/** Three active readers and a send to them, all accepted. */
async function sendToThree(store: Store): Promise<number> {
  for (const address of ['anna@example.org', 'bert@example.org', 'cora@example.org'])
    expect(await store.add({ address, name: '', fields: {} }, 'test', T0)).toBe('added');
  const { send } = await store.createSend({ articleId: 'tag:a', email: {}, frozenAt: T0 });
  const batch = await store.claimBatch(send.id, { owner: 'run', limit: 10, now: T0 });
  await store.markStates(
    send.id,
    batch.map((recipient) => ({ index: recipient.index, state: 'sent' as const, at: T0 })),
  );
  return send.id;
}

async function statusOf(store: Store, address: string): Promise<string | undefined> {
  return (await store.findSubscriber(address))?.status;
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.name === 'postgres' && lacks('postgres'))(
    `bounce records on ${backend.name}`,
    () => {
      let fixture: StoreFixture;
      let store: Store;
      useFreshStore(backend, (opened) => ({ fixture, store } = opened));

      it('records a message once: a hard bounce by (send, index) suppresses that reader, a re-record changes nothing', async () => {
        const sendId = await sendToThree(store);
        const hard = record('hard', [{ kind: 'suppress', reader: { sendId, reader: 1 }, status: 'bounced' }]);
        expect(await store.findBounceMessage(hard.key)).toBeUndefined();
        expect(await store.recordBounceMessage(hard)).toEqual({
          recorded: true,
          suppressed: [{ sendId, reader: 1 }],
        });
        expect(await statusOf(store, 'bert@example.org')).toBe('bounced');
        expect(await store.isSuppressed('Bert@Example.org')).toBe(true);
        expect(await statusOf(store, 'anna@example.org')).toBe('active');
        expect(await store.findBounceMessage(hard.key)).toEqual({ key: hard.key, folder: 'handled' });
        expect(await store.recordBounceMessage({ ...hard, run: 'run-2' })).toEqual({
          recorded: false,
          suppressed: [],
        });
        const [counts] = await store.countBouncesPerSend();
        expect(counts).toMatchObject({ sendId, sent: 3, bounced: 1, complained: 0 });
      });

      it('two runs recording the same message at once: one records it, the other changes nothing', async () => {
        const sendId = await sendToThree(store);
        // PostgreSQL: a second connection pool, as a second machine has. SQLite: better-sqlite3 blocks the one
        // thread on a second connection's lock, so two runs are two processes there (BEGIN IMMEDIATE orders
        // them); in one process, both go through the store's group commit.
        const other = backend.name === 'postgres' ? await fixture.open() : store;
        const complaint = record('twice', [
          { kind: 'suppress', reader: { sendId, reader: 0 }, status: 'complained' },
        ]);
        const outcomes = await Promise.all([
          store.recordBounceMessage(complaint),
          other.recordBounceMessage({ ...complaint, run: 'run-2' }),
        ]);
        expect(outcomes.map((outcome) => outcome.recorded).sort()).toEqual([false, true]);
        const [counts] = await store.countBouncesPerSend();
        expect(counts).toMatchObject({ complained: 1 });
        expect(await statusOf(store, 'anna@example.org')).toBe('complained');
      });

      it('counts soft bounces of one reader recorded by two runs at once, so the policy still triggers', async () => {
        const sendId = await sendToThree(store);
        const other = backend.name === 'postgres' ? await fixture.open() : store;
        const policy = { count: 2, withinDays: 30 };
        const outcomes = await Promise.all(
          [store, other].map((runStore, run) =>
            runStore.recordBounceMessage(
              record(`soft-${run}`, [{ kind: 'soft-bounce', reader: { sendId, reader: 2 }, policy }]),
            ),
          ),
        );
        expect(outcomes.flatMap((outcome) => outcome.suppressed)).toEqual([{ sendId, reader: 2 }]);
        expect(await statusOf(store, 'cora@example.org')).toBe('bounced');
      });

      it('names readers by address when no token does; an unsubscribe is not turned into a bounce', async () => {
        await sendToThree(store);
        await store.recordBounceMessage(
          record('unsub', [{ kind: 'unsubscribe', reader: { address: 'CORA@example.org' } }]),
        );
        expect(await statusOf(store, 'cora@example.org')).toBe('unsubscribed');
        const outcome = await store.recordBounceMessage(
          record('late-bounce', [
            { kind: 'suppress', reader: { address: 'cora@example.org' }, status: 'bounced' },
          ]),
        );
        expect(outcome.suppressed).toEqual([]);
        expect(await statusOf(store, 'cora@example.org')).toBe('unsubscribed');
        // An address nobody subscribed is still suppressed: a later import cannot add it.
        await store.recordBounceMessage(
          record('stranger', [
            { kind: 'suppress', reader: { address: 'dora@example.org' }, status: 'bounced' },
          ]),
        );
        expect(await store.isSuppressed('dora@example.org')).toBe(true);
        expect(await store.add({ address: 'dora@example.org', name: '', fields: {} }, 'test', T0)).toBe(
          'refused',
        );
      });

      it('makes a reader bounced at the third soft bounce within 30 days, not when they are spread wider', async () => {
        const sendId = await sendToThree(store);
        const soft = (key: string, reader: number, at: Date) =>
          store.recordBounceMessage(
            record(key, [{ kind: 'soft-bounce', reader: { sendId, reader }, policy: POLICY }], at),
          );
        expect((await soft('a1', 0, days(0))).suppressed).toEqual([]);
        expect((await soft('a2', 0, days(10))).suppressed).toEqual([]);
        expect((await soft('a3', 0, days(20))).suppressed).toEqual([{ sendId, reader: 0 }]);
        expect(await statusOf(store, 'anna@example.org')).toBe('bounced');
        await soft('b1', 1, days(0));
        await soft('b2', 1, days(25));
        expect((await soft('b3', 1, days(40))).suppressed).toEqual([]);
        expect(await statusOf(store, 'bert@example.org')).toBe('active');
        const [counts] = await store.countBouncesPerSend();
        expect(counts).toMatchObject({ softBounced: 2, bounced: 0 });
      });

      it('counts sender refusals per send and changes no reader; a token for an unknown send falls back to the address', async () => {
        const sendId = await sendToThree(store);
        await store.recordBounceMessage(
          record('refused', [
            { kind: 'sender-refused', reader: { sendId, reader: 2 }, reason: 'blocked by Spamhaus' },
          ]),
        );
        expect(await statusOf(store, 'cora@example.org')).toBe('active');
        await store.recordBounceMessage(
          record('old-send', [
            {
              kind: 'suppress',
              reader: { sendId: sendId + 99, reader: 0, address: 'bert@example.org' },
              status: 'bounced',
            },
          ]),
        );
        expect(await statusOf(store, 'bert@example.org')).toBe('bounced');
        const [counts] = await store.countBouncesPerSend();
        expect(counts).toMatchObject({ refused: 1, bounced: 0 });
      });

      it('names whom the latest run suppressed; a forgotten address is no longer named; the next freeze leaves them out', async () => {
        const sendId = await sendToThree(store);
        await store.recordBounceMessage(
          record(
            'first',
            [{ kind: 'suppress', reader: { sendId, reader: 0 }, status: 'bounced' }],
            T0,
            'run-1',
          ),
        );
        await store.recordBounceMessage(
          record(
            'second',
            [{ kind: 'suppress', reader: { sendId, reader: 1 }, status: 'complained' }],
            days(1),
            'run-2',
          ),
        );
        await store.recordBounceMessage(record('ignored', [], days(1), 'run-2'));
        expect(await store.readLatestBounceRun()).toEqual({
          run: 'run-2',
          at: days(1),
          messages: 2,
          suppressed: [{ address: 'bert@example.org', status: 'complained' }],
        });
        await store.forget('bert@example.org', days(2));
        expect((await store.readLatestBounceRun())?.suppressed).toEqual([
          { address: undefined, status: 'complained' },
        ]);
        const { send } = await store.createSend({ articleId: 'tag:b', email: {}, frozenAt: days(3) });
        const recipients = await store.readRecipients(send.id, 0, 10);
        expect(recipients.map((recipient) => recipient.email)).toEqual(['cora@example.org']);
      });
    },
  );
}
