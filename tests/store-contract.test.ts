// The store's contract, run the same on SQLite and PostgreSQL.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { StateRecorder } from '../src/store/state-recorder.ts';
import type { ExportRow, SignUp, Store } from '../src/store/store.ts';
import { BACKENDS, type StoreFixture, useFreshStore } from './support/store.ts';

const T0 = new Date('2026-11-26T10:00:00Z');
const minutes = (n: number) => new Date(T0.getTime() + n * 60_000);
const INTERVAL = { confirmationInterval: 10 * 60_000 };

function signUp(address: string, name = ''): SignUp {
  return {
    address,
    name,
    evidence: {
      form: 'site',
      page: 'https://kurier.example/',
      wording: 'Ja, ich möchte den Newsletter.',
      ip: '192.0.2.7',
      userAgent: 'Test/1.0',
    },
  };
}

async function exportAll(store: Store): Promise<ExportRow[]> {
  const rows: ExportRow[] = [];
  for await (const page of store.exportSubscribers()) rows.push(...page);
  return rows;
}

async function activeSubscriber(store: Store, address: string): Promise<number> {
  const outcome = await store.subscribe(signUp(address), T0, INTERVAL);
  if (outcome.kind !== 'queued') throw new Error(`expected queued, got ${outcome.kind}`);
  expect(
    await store.confirm(
      outcome.subscriberId,
      { ip: '192.0.2.8', userAgent: 'Confirm/1.0', linkIssuedAt: T0 },
      T0,
    ),
  ).toBe('confirmed');
  return outcome.subscriberId;
}

for (const backend of BACKENDS) {
  describe.skipIf(!backend.available)(`store on ${backend.name}`, () => {
    let fixture: StoreFixture;
    let store: Store;
    useFreshStore(backend, (opened) => ({ fixture, store } = opened));

    it('signs up as pending with one confirmation mail per address per 10 minutes', async () => {
      const first = await store.subscribe(signUp('Anna@Bücher.Example', 'Anna'), T0, INTERVAL);
      expect(first.kind).toBe('queued');
      const subscriber = await store.findSubscriber('anna@xn--bcher-kva.example');
      expect(subscriber).toMatchObject({
        typed: 'Anna@Bücher.Example',
        email: 'Anna@xn--bcher-kva.example',
        status: 'pending',
        name: 'Anna',
      });
      expect((await store.subscribe(signUp('anna@bücher.example'), minutes(5), INTERVAL)).kind).toBe(
        'throttled',
      );
      expect(await store.countQueuedConfirmations()).toBe(1);
      expect((await store.subscribe(signUp('anna@bücher.example'), minutes(11), INTERVAL)).kind).toBe(
        'queued',
      );
      expect(await store.countQueuedConfirmations()).toBe(2);
      expect((await store.subscribe(signUp('not an address'), T0, INTERVAL)).kind).toBe('invalid');
    });

    it('takes a double-clicked sign-up (two at once) as one, with one mail', async () => {
      const other = backend.name === 'postgres' ? await fixture.open() : store;
      const outcomes = await Promise.all([
        store.subscribe(signUp('twice@example.org'), T0, INTERVAL),
        other.subscribe(signUp('twice@example.org'), T0, INTERVAL),
      ]);
      expect(outcomes.map((outcome) => outcome.kind).sort()).toEqual(['queued', 'throttled']);
      expect(await store.countQueuedConfirmations()).toBe(1);
      // Again after the interval, now a known (pending) address: one more mail, not two.
      await Promise.all([
        store.subscribe(signUp('twice@example.org'), minutes(11), INTERVAL),
        other.subscribe(signUp('twice@example.org'), minutes(11), INTERVAL),
      ]);
      expect(await store.countQueuedConfirmations()).toBe(2);
    });

    it('confirms with the consent recorded, once', async () => {
      const id = await activeSubscriber(store, 'ben@example.org');
      expect(await store.confirm(id, { ip: 'x', userAgent: 'y', linkIssuedAt: T0 }, T0)).toBe('already');
      expect(await store.confirm(id + 1000, { ip: 'x', userAgent: 'y', linkIssuedAt: T0 }, T0)).toBe(
        'unknown',
      );
      const [row] = await exportAll(store);
      expect(row).toMatchObject({
        email: 'ben@example.org',
        status: 'active',
        consentSource: 'form',
        consentWording: 'Ja, ich möchte den Newsletter.',
        consentIp: '192.0.2.7',
        consentPage: 'https://kurier.example/',
        confirmIp: '192.0.2.8',
        confirmUserAgent: 'Confirm/1.0',
        consentConfirmedAt: T0.toISOString(),
      });
      expect((await store.subscribe(signUp('ben@example.org'), minutes(60), INTERVAL)).kind).toBe('active');
      // Confirmed: the queued mail is no longer needed.
      expect(await store.countQueuedConfirmations()).toBe(0);
    });

    it('unsubscribes for good: imports and add never bring the address back', async () => {
      const id = await activeSubscriber(store, 'cleo@example.org');
      expect(await store.unsubscribe(id, 'one-click', minutes(1))).toBe('unsubscribed');
      expect(await store.unsubscribe(id, 'one-click', minutes(2))).toBe('already');
      // A confirmation link from before the unsubscribe does not undo it; a new sign-up's link does.
      const evidence = { ip: 'x', userAgent: 'y', linkIssuedAt: T0 };
      expect(await store.confirm(id, evidence, minutes(3))).toBe('stale');
      expect((await store.findSubscriber('cleo@example.org'))?.status).toBe('unsubscribed');
      expect(await store.isSuppressed('CLEO@example.org')).toBe(true);
      const summary = await store.importRows(
        [{ address: 'cleo@example.org', name: 'Cleo', fields: {}, status: 'active' }],
        'subscribers.csv',
        minutes(3),
      );
      expect(summary).toMatchObject({ refused: 1, added: 0, activated: 0 });
      expect(await store.add({ address: 'cleo@example.org', name: '', fields: {} }, 'cli', minutes(4))).toBe(
        'refused',
      );
      expect((await store.findSubscriber('cleo@example.org'))?.status).toBe('unsubscribed');
      expect((await store.findSubscriber('cleo@example.org'))?.statusCause).toBe('one-click');
      // Only the reader can come back: a new sign-up, confirmed with its new link.
      expect((await store.subscribe(signUp('cleo@example.org'), minutes(20), INTERVAL)).kind).toBe('queued');
      expect((await store.findSubscriber('cleo@example.org'))?.status).toBe('unsubscribed');
      expect(
        await store.confirm(id, { ip: 'x', userAgent: 'y', linkIssuedAt: minutes(20) }, minutes(21)),
      ).toBe('confirmed');
      expect(await store.isSuppressed('cleo@example.org')).toBe(false);
    });

    it('imports rows as active with the import as consent, never re-activating', async () => {
      const pending = await store.subscribe(signUp('pending@example.org'), T0, INTERVAL);
      expect(pending.kind).toBe('queued');
      await store.suppress('bounced@example.org', 'bounced', 'SMTP 550 5.1.1', T0, '550 5.1.1 no such user');
      await store.suppress('complained@example.org', 'complained', 'ARF report', T0);
      const summary = await store.importRows(
        [
          { address: 'new@example.org', name: 'Neu', fields: { city: 'Bochum' }, status: 'active' },
          { address: 'pending@example.org', name: '', fields: {}, status: 'active' },
          { address: 'bounced@example.org', name: '', fields: {}, status: 'active' },
          { address: 'complained@example.org', name: '', fields: {}, status: 'active' },
          { address: 'gone@example.org', name: '', fields: {}, status: 'unsubscribed' },
          { address: 'broken', name: '', fields: {}, status: 'active' },
          { address: 'NEW@example.org', name: 'Zweimal', fields: {}, status: 'active' },
        ],
        'subscribers.csv',
        T0,
      );
      expect(summary).toEqual({
        added: 1,
        activated: 1,
        unchanged: 1,
        refused: 2,
        suppressed: 1,
        invalid: 1,
      });
      expect(await store.isSuppressed('gone@example.org')).toBe(true);
      const again = await store.importRows(
        [
          { address: 'new@example.org', name: 'Neu', fields: {}, status: 'active' },
          { address: 'gone@example.org', name: '', fields: {}, status: 'active' },
        ],
        'subscribers.csv',
        minutes(1),
      );
      expect(again).toMatchObject({ unchanged: 1, refused: 1, added: 0 });
      const rows = await exportAll(store);
      expect(rows.find((row) => row.email === 'new@example.org')).toMatchObject({
        status: 'active',
        consentSource: 'import',
        fields: { city: 'Bochum' },
      });
      expect(await store.counts()).toEqual({
        pending: 0,
        active: 2,
        unsubscribed: 0,
        bounced: 0,
        complained: 0,
        suppressed: 3,
      });
    });

    it('an import row that unsubscribes ends an active subscription', async () => {
      await activeSubscriber(store, 'dora@example.org');
      await store.importRows(
        [{ address: 'dora@example.org', name: '', fields: {}, status: 'bounced' }],
        'listmonk.csv',
        T0,
      );
      expect((await store.findSubscriber('dora@example.org'))?.status).toBe('bounced');
    });

    it('forgets an address: personal data gone, a hash blocks it from every import', async () => {
      const id = await activeSubscriber(store, 'emil@example.org');
      const { send } = await store.createSend({ articleId: 'tag:a', email: {}, frozenAt: T0 });
      expect(await store.forget('Emil@Example.org', minutes(1))).toBe(true);
      expect(await store.getSubscriber(id)).toBeUndefined();
      expect(await store.findSubscriber('emil@example.org')).toBeUndefined();
      expect(await exportAll(store)).toEqual([]);
      expect(await store.isSuppressed('emil@example.org')).toBe(true);
      const [recipient] = await store.readRecipients(send.id, 0, 10);
      expect(recipient).toMatchObject({ email: '', name: '', state: 'skipped' });
      const summary = await store.importRows(
        [{ address: 'emil@example.org', name: 'Emil', fields: {}, status: 'active' }],
        'subscribers.csv',
        minutes(2),
      );
      expect(summary.refused).toBe(1);
      expect(await store.forget('nobody@example.org', minutes(3))).toBe(false);
    });

    it('queues confirmation mails: claimed for a lease, sent once, reclaimed after a crash', async () => {
      await store.subscribe(signUp('fritz@example.org', 'Fritz'), T0, INTERVAL);
      await store.subscribe(signUp('gina@example.org'), T0, INTERVAL);
      const claimed = await store.claimConfirmations({ owner: 'a', limit: 10, now: T0, leaseMs: 60_000 });
      expect(claimed.map((job) => job.email)).toEqual(['fritz@example.org', 'gina@example.org']);
      expect(claimed[0]).toMatchObject({ name: 'Fritz', attempts: 1 });
      expect(
        await store.claimConfirmations({ owner: 'b', limit: 10, now: minutes(0.5), leaseMs: 60_000 }),
      ).toEqual([]);
      await store.markConfirmationSent(claimed[0]?.id ?? 0, minutes(0.5));
      // The claimer of the second died: after the lease another takes it.
      const retaken = await store.claimConfirmations({
        owner: 'b',
        limit: 10,
        now: minutes(2),
        leaseMs: 60_000,
      });
      expect(retaken.map((job) => [job.email, job.attempts])).toEqual([['gina@example.org', 2]]);
      await store.markConfirmationFailed(retaken[0]?.id ?? 0, '421 try later', minutes(10), false);
      expect(
        await store.claimConfirmations({ owner: 'b', limit: 10, now: minutes(5), leaseMs: 60_000 }),
      ).toEqual([]);
      expect(
        (await store.claimConfirmations({ owner: 'b', limit: 10, now: minutes(11), leaseMs: 60_000 })).length,
      ).toBe(1);
      expect(await store.countQueuedConfirmations()).toBe(1);
    });

    it('freezes a send from the active, unsuppressed subscribers, once', async () => {
      await activeSubscriber(store, 'a@example.org');
      await store.subscribe(signUp('pending@example.org'), T0, INTERVAL);
      await activeSubscriber(store, 'b@example.org');
      await store.importRows(
        [{ address: 'c@example.org', name: 'C', fields: { city: 'Köln' }, status: 'active' }],
        'x.csv',
        T0,
      );
      const unsub = await activeSubscriber(store, 'd@example.org');
      await store.unsubscribe(unsub, 'test', T0);
      const { send, created } = await store.createSend({
        articleId: 'tag:kurier.example,2026:a',
        email: { subject: 'Hallo', html: ['x', { field: 'name' }] },
        frozenAt: T0,
      });
      expect(created).toBe(true);
      expect(send).toMatchObject({ total: 3, email: { subject: 'Hallo', html: ['x', { field: 'name' }] } });
      const recipients = await store.readRecipients(send.id, 0, 100);
      expect(recipients.map((recipient) => [recipient.index, recipient.email, recipient.state])).toEqual([
        [0, 'a@example.org', 'pending'],
        [1, 'b@example.org', 'pending'],
        [2, 'c@example.org', 'pending'],
      ]);
      expect(recipients[2]?.fields).toEqual({ city: 'Köln' });
      await activeSubscriber(store, 'late@example.org');
      const again = await store.createSend({
        articleId: 'tag:kurier.example,2026:a',
        email: {},
        frozenAt: minutes(5),
      });
      expect(again.created).toBe(false);
      expect(again.send.total).toBe(3);
      expect((await store.readSend('tag:kurier.example,2026:a'))?.frozenAt).toEqual(T0);
      expect(await store.readSend('tag:other')).toBeUndefined();
    });

    it('claims durably, records outcomes in one group, and resumes on another machine', async () => {
      for (const letter of 'abcdef') await activeSubscriber(store, `${letter}@example.org`);
      const { send } = await store.createSend({ articleId: 'tag:s', email: {}, frozenAt: T0 });
      expect(await store.lockSend(send.id, 'run-1', T0, 60_000)).toBe(true);
      const batch = await store.claimBatch(send.id, { owner: 'run-1', limit: 3, now: T0 });
      expect(batch.map((recipient) => [recipient.index, recipient.state, recipient.attempts])).toEqual([
        [0, 'attempting', 1],
        [1, 'attempting', 1],
        [2, 'attempting', 1],
      ]);
      await store.markStates(send.id, [
        { index: 0, state: 'sent', at: T0, response: '250 OK' },
        { index: 1, state: 'deferred', at: T0, code: 451, response: '451 later' },
      ]);
      // This run's own deferral is retried by the run itself, not claimed again.
      const next = await store.claimBatch(send.id, { owner: 'run-1', limit: 2, now: T0 });
      expect(next.map((recipient) => recipient.index)).toEqual([3, 4]);
      // Suppressed after the freeze: skipped when its turn comes.
      await store.suppress('f@example.org', 'complained', 'ARF', T0);
      // The machine dies here. Another one opens the same store and takes over after the lock runs out.
      const other = await fixture.open(minutes(5));
      expect(await other.lockSend(send.id, 'run-2', minutes(0.5), 60_000)).toBe(false);
      expect(await other.lockSend(send.id, 'run-2', minutes(5), 60_000)).toBe(true);
      expect(await other.countStates(send.id)).toEqual({
        pending: 1,
        attempting: 3,
        sent: 1,
        rejected: 0,
        deferred: 1,
        skipped: 0,
      });
      expect(await other.recoverInFlight(send.id, 'run-2', 'resend', minutes(5))).toBe(3);
      const resumed = await other.claimBatch(send.id, { owner: 'run-2', limit: 10, now: minutes(5) });
      expect(resumed.map((recipient) => [recipient.index, recipient.attempts])).toEqual([
        [1, 2],
        [2, 2],
        [3, 2],
        [4, 2],
      ]);
      expect(await other.claimBatch(send.id, { owner: 'run-2', limit: 10, now: minutes(5) })).toEqual([]);
      await other.markStates(
        send.id,
        resumed.map((recipient) => ({ index: recipient.index, state: 'sent' as const, at: minutes(6) })),
      );
      expect(await other.countStates(send.id)).toEqual({
        pending: 0,
        attempting: 0,
        sent: 5,
        rejected: 0,
        deferred: 0,
        skipped: 1,
      });
      await other.unlockSend(send.id, 'run-2');
      expect(await store.lockSend(send.id, 'run-3', minutes(6), 60_000)).toBe(true);
    });

    it('commits outcomes that arrive together in one group, each durable when answered', async () => {
      for (let n = 0; n < 60; n += 1) {
        await store.importRows(
          [{ address: `r${n}@example.org`, name: '', fields: {}, status: 'active' }],
          'x',
          T0,
        );
      }
      const { send } = await store.createSend({ articleId: 'tag:g', email: {}, frozenAt: T0 });
      const batch = await store.claimBatch(send.id, { owner: 'run', limit: 60, now: T0 });
      let commits = 0;
      const recorder = new StateRecorder(
        {
          markStates: (sendId, updates) => {
            commits += 1;
            return store.markStates(sendId, updates);
          },
        },
        send.id,
      );
      await Promise.all(
        batch.map((recipient) =>
          recorder.record({
            index: recipient.index,
            state: recipient.index % 10 === 0 ? 'rejected' : 'sent',
            at: minutes(1),
            code: recipient.index % 10 === 0 ? 550 : 250,
            response: `reply ${recipient.index}`,
          }),
        ),
      );
      expect(commits).toBeLessThan(5);
      const other = await fixture.open();
      expect(await other.countStates(send.id)).toMatchObject({ sent: 54, rejected: 6, attempting: 0 });
      // The last update of a recipient in a group wins.
      await store.markStates(send.id, [
        { index: 1, state: 'deferred', at: minutes(2) },
        { index: 1, state: 'sent', at: minutes(3), response: 'second' },
      ]);
      expect((await store.countStates(send.id)).sent).toBe(54);
    });

    it('never hands one mail or recipient to two claimers at once', async () => {
      for (let n = 0; n < 40; n += 1) await store.subscribe(signUp(`c${n}@example.org`), T0, INTERVAL);
      await store.importRows(
        Array.from({ length: 40 }, (_, n) => ({
          address: `r${n}@example.org`,
          name: '',
          fields: {},
          status: 'active' as const,
        })),
        'x',
        T0,
      );
      const { send } = await store.createSend({ articleId: 'tag:c', email: {}, frozenAt: T0 });
      // PostgreSQL: a second connection pool, as a second server would have. SQLite's one writer is the file.
      const other = backend.name === 'postgres' ? await fixture.open() : store;
      const claimers = [store, other, store, other];
      const jobs = await Promise.all(
        claimers.map((claimer, n) =>
          claimer.claimConfirmations({ owner: `o${n}`, limit: 15, now: T0, leaseMs: 60_000 }),
        ),
      );
      const jobIds = jobs.flat().map((job) => job.id);
      expect(new Set(jobIds).size).toBe(jobIds.length);
      expect(jobIds.length).toBe(40);
      const batches = await Promise.all(
        claimers.map((claimer, n) => claimer.claimBatch(send.id, { owner: `o${n}`, limit: 15, now: T0 })),
      );
      const indexes = batches.flat().map((recipient) => recipient.index);
      expect(new Set(indexes).size).toBe(indexes.length);
      expect(indexes.length).toBe(40);
    });

    it('leaves in-flight messages alone when told to skip them', async () => {
      await activeSubscriber(store, 'a@example.org');
      const { send } = await store.createSend({ articleId: 'tag:k', email: {}, frozenAt: T0 });
      await store.claimBatch(send.id, { owner: 'run-1', limit: 5, now: T0 });
      expect(await store.recoverInFlight(send.id, 'run-2', 'skip', T0)).toBe(1);
      expect(await store.claimBatch(send.id, { owner: 'run-2', limit: 5, now: T0 })).toEqual([]);
      expect((await store.countStates(send.id)).attempting).toBe(1);
    });

    it('imports a state folder of the file-based Kurier once, losing nothing', async () => {
      const dir = fixture.stateDir;
      await writeFile(
        path.join(dir, 'suppressed.jsonl'),
        [
          '# added by hand',
          'Hand@Example.org',
          JSON.stringify({
            email: 'bounce@example.org',
            reason: 'bounced',
            at: '2026-11-01T00:00:00Z',
            detail: '550 5.1.1',
          }),
          JSON.stringify({ email: 'spam@example.org', reason: 'complained' }),
          '',
        ].join('\n'),
      );
      const sendDir = path.join(dir, 'sends', '0123456789abcdef');
      await mkdir(sendDir, { recursive: true });
      const recipients = [
        'r0@example.org',
        'r1@example.org',
        'r2@example.org',
        'r3@example.org',
        'r4@example.org',
      ];
      await writeFile(
        path.join(sendDir, 'send.json'),
        JSON.stringify({
          version: 1,
          articleId: 'tag:kurier.example,2026:bochum',
          slug: 'bochum',
          title: 'Bochum',
          frozenAt: '2026-11-20T08:00:00.000Z',
          total: recipients.length,
          subscribers: 'subscribers.csv',
          list: { rows: 5, invalid: 0, duplicates: 0, inactive: 0, suppressed: 0 },
        }),
      );
      await writeFile(
        path.join(sendDir, 'recipients.jsonl'),
        recipients
          .map((email, index) =>
            JSON.stringify(
              index === 1 ? { email, name: 'Eins', fields: { city: 'Essen' } } : { email, name: '' },
            ),
          )
          .join('\n')
          .concat('\n'),
      );
      const t = Date.parse('2026-11-20T08:01:00Z');
      await writeFile(
        path.join(sendDir, 'journal.jsonl'),
        [
          { i: 0, s: 'attempting', t },
          { i: 0, s: 'sent', t: t + 1, r: '250 queued as A' },
          { i: 1, s: 'attempting', t },
          { i: 1, s: 'rejected', t: t + 2, c: 550, r: '550 5.1.1 unknown' },
          { i: 2, s: 'attempting', t },
          { i: 2, s: 'deferred', t: t + 3, c: 451, r: '451 later' },
          { i: 3, s: 'attempting', t: t + 4 },
        ]
          .map((record) => JSON.stringify(record))
          .join('\n')
          // A line torn by a crash: never counted.
          .concat('\n{"i":4,"s":"sen'),
      );
      const summary = await store.migrateLegacyState(dir, T0);
      expect(summary).toEqual({ migrated: true, suppressed: 3, sends: 1, recipients: 5 });
      expect(await store.isSuppressed('hand@example.org')).toBe(true);
      expect(await store.isSuppressed('bounce@example.org')).toBe(true);
      const send = await store.readSend('tag:kurier.example,2026:bochum');
      expect(send).toMatchObject({ total: 5, frozenAt: new Date('2026-11-20T08:00:00.000Z') });
      const rows = await store.readRecipients(send?.id ?? 0, 0, 10);
      expect(rows.map((row) => [row.email, row.state])).toEqual([
        ['r0@example.org', 'sent'],
        ['r1@example.org', 'rejected'],
        ['r2@example.org', 'deferred'],
        ['r3@example.org', 'attempting'],
        ['r4@example.org', 'pending'],
      ]);
      expect(rows[1]).toMatchObject({
        name: 'Eins',
        fields: { city: 'Essen' },
        code: 550,
        response: '550 5.1.1 unknown',
        updatedAt: new Date(t + 2),
      });
      expect(rows[0]).toMatchObject({ code: null, response: '250 queued as A' });
      // The attempt of the old run has an unknown outcome for every new run.
      expect(await store.recoverInFlight(send?.id ?? 0, 'new-run', 'skip', T0)).toBe(1);
      expect(
        (await store.claimBatch(send?.id ?? 0, { owner: 'new-run', limit: 10, now: T0 })).map((r) => r.index),
      ).toEqual([2, 4]);
      // Once only, also from another process.
      expect((await store.migrateLegacyState(dir, minutes(1))).migrated).toBe(false);
      expect((await (await fixture.open()).migrateLegacyState(dir, minutes(2))).migrated).toBe(false);
      expect((await store.listSends()).length).toBe(1);
      expect((await store.counts()).suppressed).toBe(3);
    });

    // PostgreSQL only: on SQLite, BEGIN IMMEDIATE orders two processes, and two connections of one
    // process (better-sqlite3 is synchronous) would wait for each other until the busy timeout.
    if (backend.name === 'postgres') {
      it('imports an old state folder once when two processes start at the same moment', async () => {
        const dir = path.join(fixture.stateDir, 'old-state');
        await mkdir(dir, { recursive: true });
        await writeFile(path.join(dir, 'suppressed.jsonl'), 'a@example.org\nb@example.org\n');
        const other = await fixture.open();
        const [first, second] = await Promise.all([
          store.migrateLegacyState(dir, T0),
          other.migrateLegacyState(dir, T0),
        ]);
        expect([first.migrated, second.migrated].sort()).toEqual([false, true]);
        expect((await store.counts()).suppressed).toBe(2);
      });
    }

    it('stops at a damaged legacy line, naming it, with nothing imported', async () => {
      const id = await activeSubscriber(store, 'b@example.org');
      await writeFile(path.join(fixture.stateDir, 'suppressed.jsonl'), 'a@example.org\n{"email": 3}\n');
      // Intentions committed together with the failing one are not rolled back with it.
      const [legacy, unsubscribed, suppressed] = await Promise.allSettled([
        store.migrateLegacyState(fixture.stateDir, T0),
        store.unsubscribe(id, 'one-click', T0),
        store.suppress('c@example.org', 'bounced', 'test', T0),
      ]);
      expect(legacy).toMatchObject({ status: 'rejected', reason: { code: 'STORE_INVALID', line: 2 } });
      expect(unsubscribed).toEqual({ status: 'fulfilled', value: 'unsubscribed' });
      expect(suppressed.status).toBe('fulfilled');
      expect(await store.isSuppressed('a@example.org')).toBe(false);
      const other = await fixture.open();
      expect(await other.isSuppressed('b@example.org')).toBe(true);
      expect(await other.isSuppressed('c@example.org')).toBe(true);
    });

    it('applies each migration once when several processes start at once', async () => {
      // better-sqlite3 blocks its thread while it waits for a lock, so SQLite's concurrent starts are
      // separate processes (the server tests); here, on one thread, they start one after the other.
      const others =
        backend.name === 'postgres'
          ? await Promise.all([fixture.open(), fixture.open(), fixture.open()])
          : [await fixture.open(), await fixture.open()];
      for (const other of others) expect(await other.counts()).toMatchObject({ active: 0 });
    });
  });
}
