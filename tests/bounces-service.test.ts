// The pure decisions of a bounce run (which state changes a decision causes, where the message goes, what
// names it in the ledger) and the run's order of record-then-move, with a mailbox in memory.

import { describe, expect, it } from 'vitest';
import type { BouncedRecipient, Decision } from '../src/bounces/classify.ts';
import { planBounceActions, planFolder, planLedgerKey } from '../src/bounces/plan.ts';
import { type BounceMailbox, type MailboxMessage, runBounces } from '../src/bounces/service.ts';
import type { VerpMatch } from '../src/bounces/verp.ts';
import { readBounceFixture, readBounceManifest } from './support/bounce-fixtures.ts';
import { createTestLedger } from './support/test-ledger.ts';

const policy = { count: 3, withinDays: 30 };
const token: VerpMatch = { status: 'valid', token: 'x', ref: { sendId: 7, reader: 42, keyId: 1 } };
const origin = { originalMessageId: undefined, verp: undefined };

function recipient(address: string | undefined, severity: BouncedRecipient['severity']): BouncedRecipient {
  return { address, action: 'failed', status: undefined, diagnostic: '', reason: 'undefined', severity };
}

describe('planBounceActions', () => {
  it.each<[string, Decision, unknown[]]>([
    [
      'a hard bounce with a token suppresses the reader it names',
      { kind: 'bounce', recipients: [recipient('a@example.org', 'hard')], ...origin, verp: token },
      [{ kind: 'suppress', status: 'bounced', reader: { sendId: 7, reader: 42, address: 'a@example.org' } }],
    ],
    [
      'with a token, the worst result of the one message counts once',
      {
        kind: 'bounce',
        recipients: [recipient('a@example.org', 'soft'), recipient('alias@example.net', 'hard')],
        ...origin,
        verp: token,
      },
      [{ kind: 'suppress', status: 'bounced', reader: { sendId: 7, reader: 42, address: 'a@example.org' } }],
    ],
    [
      'without a token each named address is acted on',
      {
        kind: 'bounce',
        recipients: [
          recipient('a@example.org', 'hard'),
          recipient('b@example.org', 'soft'),
          recipient('c@example.org', 'refused'),
        ],
        ...origin,
      },
      [
        { kind: 'suppress', status: 'bounced', reader: { address: 'a@example.org' } },
        { kind: 'soft-bounce', policy, reader: { address: 'b@example.org' } },
        { kind: 'sender-refused', reason: 'undefined', reader: { address: 'c@example.org' } },
      ],
    ],
    [
      'a complaint suppresses as complained',
      { kind: 'complaint', feedbackType: 'abuse', recipients: ['a@example.org'], ...origin },
      [{ kind: 'suppress', status: 'complained', reader: { address: 'a@example.org' } }],
    ],
    [
      'an unsubscribe with a valid token names the reader, whoever sent it',
      { kind: 'unsubscribe', address: 'someone@example.org', verp: token },
      [{ kind: 'unsubscribe', reader: { sendId: 7, reader: 42, address: 'someone@example.org' } }],
    ],
    [
      'an unsubscribe without a token names its sender',
      { kind: 'unsubscribe', address: 'a@example.org', verp: undefined },
      [{ kind: 'unsubscribe', reader: { address: 'a@example.org' } }],
    ],
    ['an auto-reply changes nothing', { kind: 'auto-reply', why: 'x', ...origin, verp: token }, []],
    ['an unknown message changes nothing', { kind: 'unknown', why: 'x', ...origin }, []],
  ])('%s', (_case, decision, actions) => {
    expect(planBounceActions(decision, policy)).toEqual(actions);
  });
});

describe('planFolder', () => {
  it.each<[Decision, 'handled' | 'unclassified']>([
    [{ kind: 'bounce', recipients: [recipient('a@example.org', 'hard')], ...origin }, 'handled'],
    [{ kind: 'auto-reply', why: 'x', ...origin }, 'handled'],
    [{ kind: 'not-bounce', why: 'x', ...origin }, 'unclassified'],
    [{ kind: 'unknown', why: 'x', ...origin }, 'unclassified'],
    [{ kind: 'unsubscribe', address: undefined, verp: undefined }, 'unclassified'],
    [{ kind: 'complaint', feedbackType: 'abuse', recipients: [], ...origin }, 'unclassified'],
  ])('%j → %s', (decision, folder) => {
    expect(planFolder(decision, planBounceActions(decision, policy))).toBe(folder);
  });
});

describe('planLedgerKey', () => {
  it('names a message by its Message-ID, or by its bytes without one', () => {
    expect(planLedgerKey('<a@b>', Buffer.from('x'))).toBe('message-id:<a@b>');
    expect(planLedgerKey(undefined, Buffer.from('x'))).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(planLedgerKey(undefined, Buffer.from('x'))).not.toBe(planLedgerKey(undefined, Buffer.from('y')));
  });
});

/** A mailbox in memory whose move can fail, as if the run died between recording and moving. */
function memoryMailbox(messages: MailboxMessage[], failMoves: number) {
  const folders = { handled: [] as number[], unclassified: [] as number[] };
  let failures = failMoves;
  const mailbox: BounceMailbox = {
    async *batches(size) {
      const snapshot = [...messages];
      for (let start = 0; start < snapshot.length; start += size) yield snapshot.slice(start, start + size);
    },
    async move(uids, folder) {
      if (failures-- > 0) throw new Error('connection lost');
      folders[folder].push(...uids);
      for (const uid of uids)
        messages.splice(
          messages.findIndex((message) => message.uid === uid),
          1,
        );
    },
  };
  return { mailbox, folders };
}

describe('runBounces', () => {
  const manifest = readBounceManifest();
  const settings = { classify: manifest.settings, softBounces: policy, batchSize: 4 };
  const now = () => new Date('2026-11-24T12:00:00Z');

  it('records before it moves: a run that dies at the move is finished by the next, counting nothing twice', async () => {
    const messages = manifest.messages.map((entry, index) => ({
      uid: index + 1,
      raw: readBounceFixture(entry.file),
    }));
    const ledger = createTestLedger();
    const { mailbox, folders } = memoryMailbox(messages, 1);
    await expect(runBounces(mailbox, ledger, settings, now)).rejects.toThrow('connection lost');
    expect(ledger.entries).toHaveLength(4);
    expect(messages).toHaveLength(manifest.messages.length);

    const report = await runBounces(mailbox, ledger, settings, now);
    expect(report).toMatchObject({
      seen: manifest.messages.length,
      recorded: manifest.messages.length - 4,
      alreadyRecorded: 4,
    });
    expect(ledger.entries).toHaveLength(manifest.messages.length);
    expect(messages).toHaveLength(0);
    expect(folders.handled.length + folders.unclassified.length).toBe(manifest.messages.length);
  });
});
