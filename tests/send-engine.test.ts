// The delivery engine against a real SMTP server on 127.0.0.1: retries, rejections, dropped connections, halts, resume.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DeliverySummary, deliver } from '../src/send/deliver.ts';
import { readSendEnv } from '../src/send/env.ts';
import type { IndexedRecipient, Recipient } from '../src/send/message.ts';
import type { RetryPolicy } from '../src/send/plan.ts';
import { type Clock, systemClock, TokenBucket } from '../src/send/rate.ts';
import { DEFERRED, REJECTED, SENT, STATES, type StateRecord } from '../src/send/states.ts';
import { createSmtpTransport, type Transport } from '../src/send/transport.ts';
import { startSmtpServer, type TestSmtpServer } from './support/smtp.ts';

const FAST_RETRY: RetryPolicy = { attempts: 4, baseDelayMs: 5, maxDelayMs: 20 };

function reader(index: number): Recipient {
  return { email: `reader${index}@example.com`, name: `Reader ${index}`, fields: {} };
}

async function* listOf(count: number): AsyncGenerator<IndexedRecipient> {
  for (let index = 0; index < count; index += 1) yield { index, recipient: reader(index) };
}

function render(recipient: Recipient): Buffer {
  return Buffer.from(
    [
      'From: Kurier <newsletter@kurier.example>',
      `To: ${recipient.email}`,
      'Subject: Test',
      `Message-ID: <${recipient.email.replace('@', '.')}@kurier.example>`,
      '',
      'Hello.',
      '',
    ].join('\r\n'),
  );
}

let dir: string;
/** What the engine recorded, in order: the store's group commit sees the same. */
let records: StateRecord[] = [];
let server: TestSmtpServer | undefined;
let transport: Transport | undefined;

beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'kurier-engine-'));
  records = [];
});

/** The recorded states replayed onto one byte per recipient: the last record of each wins. */
function replayStates(total: number): { states: Uint8Array; records: number } {
  const states = new Uint8Array(total);
  for (const record of records) states[record.i] = STATES.indexOf(record.s);
  return { states, records: records.length };
}

function countStates(states: Uint8Array): Record<(typeof STATES)[number], number> {
  const counts = Object.fromEntries(STATES.map((state) => [state, 0])) as Record<
    (typeof STATES)[number],
    number
  >;
  for (const state of states) {
    const name = STATES[state];
    if (name !== undefined) counts[name] += 1;
  }
  return counts;
}

afterEach(async () => {
  await transport?.close();
  await server?.close();
  transport = undefined;
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

interface RunOptions {
  readonly count: number;
  readonly states?: Uint8Array;
  readonly signal?: AbortSignal;
  readonly suppressed?: Set<string>;
  readonly connections?: number;
  readonly bounces?: string[];
}

async function run(options: RunOptions): Promise<{ summary: DeliverySummary; states: Uint8Array }> {
  if (server === undefined || transport === undefined) throw new Error('start the server first');
  const journal = {
    append: async (record: StateRecord) => {
      records.push(record);
    },
  };
  const states = options.states ?? new Uint8Array(options.count);
  const summary = await deliver({
    recipients: listOf(options.count),
    states,
    unknown: 'resend',
    render,
    envelopeFrom: () => 'bounces@kurier.example',
    transport,
    journal,
    suppressed: options.suppressed ?? new Set(),
    onHardBounce: async (recipient) => {
      options.bounces?.push(recipient.email);
    },
    connections: options.connections ?? 3,
    rate: undefined,
    retry: FAST_RETRY,
    clock: systemClock,
    random: () => 0.5,
    wallTime: () => Date.parse('2026-11-26T08:00:00Z'),
    signal: options.signal ?? new AbortController().signal,
    planned: options.count,
  });
  return { summary, states };
}

async function start(options: Parameters<typeof startSmtpServer>[0] = {}, connections = 3): Promise<void> {
  server = await startSmtpServer(options);
  const { smtp } = await readSendEnv('/', { SMTP_URL: server.url });
  if (smtp === undefined) throw new Error('no SMTP_URL');
  transport = createSmtpTransport({ server: smtp, name: 'kurier.example', connections });
}

function recipientsReceived(): string[] {
  return (server?.received ?? []).flatMap((message) => message.to);
}

describe('deliver', () => {
  it('keeps at most --connections sessions and reuses them from message to message', async () => {
    await start({ delayMs: 2 }, 3);
    const { summary } = await run({ count: 40, connections: 3 });
    expect(summary).toMatchObject({ sent: 40, deferred: 0 });
    expect(server?.sessions.mostOpen).toBeLessThanOrEqual(3);
    expect(server?.sessions.opened).toBeLessThanOrEqual(3);
  });

  it('replaces a session the server closed while idle: the next message goes out, not deferred', async () => {
    await start({ idleTimeoutMs: 1_000 }, 1);
    const message = (index: number) => ({
      index,
      envelope: { from: 'bounces@kurier.example', to: reader(index).email },
      raw: render(reader(index)),
    });
    expect(await transport?.send(message(0))).toMatchObject({ kind: 'sent' });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(server?.sessions.open).toBe(0);
    expect(await transport?.send(message(1))).toMatchObject({ kind: 'sent' });
    expect(server?.sessions.opened).toBe(2);
    expect(recipientsReceived()).toEqual([reader(0).email, reader(1).email]);
  });

  it('sends every reader exactly one copy and journals each as sent', async () => {
    await start();
    const { summary } = await run({ count: 25 });
    expect(summary).toMatchObject({ sent: 25, rejected: 0, deferred: 0, notAttempted: 0, halt: undefined });
    const received = recipientsReceived();
    expect(received).toHaveLength(25);
    expect(new Set(received).size).toBe(25);
    const replay = replayStates(25);
    expect(countStates(replay.states).sent).toBe(25);
    // "attempting" before and "sent" after each message.
    expect(replay.records).toBe(50);
  });

  it('retries 451 on every 5th reader with backoff until all are delivered', async () => {
    await start({
      rcpt: (address, attempt) => {
        const index = Number(/\d+/.exec(address)?.[0]);
        return index % 5 === 4 && attempt <= 2
          ? { code: 451, message: '4.7.1 Greylisted, try again' }
          : undefined;
      },
    });
    const { summary } = await run({ count: 20 });
    expect(summary).toMatchObject({ sent: 20, deferred: 0, rejected: 0 });
    expect(new Set(recipientsReceived()).size).toBe(20);
    expect(recipientsReceived()).toHaveLength(20);
    expect(server?.attempts.get('reader4@example.com')).toBe(3);
    expect(server?.attempts.get('reader3@example.com')).toBe(1);
  });

  it('keeps a reader deferred once the retries of this run are used up', async () => {
    await start({
      rcpt: (address) =>
        address === 'reader2@example.com' ? { code: 452, message: '4.2.2 Mailbox full' } : undefined,
    });
    const { summary, states } = await run({ count: 5 });
    expect(summary).toMatchObject({ sent: 4, deferred: 1 });
    expect(states[2]).toBe(DEFERRED);
    expect(server?.attempts.get('reader2@example.com')).toBe(FAST_RETRY.attempts);
  });

  it('records 550 as rejected, suppresses a 5.1.1 hard bounce, delivers the rest', async () => {
    await start({
      rcpt: (address) =>
        address === 'reader3@example.com'
          ? { code: 550, message: '5.1.1 User unknown' }
          : address === 'reader7@example.com'
            ? { code: 554, message: '5.7.1 Rejected by policy' }
            : undefined,
    });
    const suppressed = new Set<string>();
    const bounces: string[] = [];
    const { summary, states } = await run({ count: 10, suppressed, bounces });
    expect(summary).toMatchObject({ sent: 8, rejected: 2, hardBounces: 1 });
    expect(summary.rejections.map((r) => r.email).sort()).toEqual([
      'reader3@example.com',
      'reader7@example.com',
    ]);
    expect(states[3]).toBe(REJECTED);
    expect(states[7]).toBe(REJECTED);
    expect([...suppressed]).toEqual(['reader3@example.com']);
    expect(bounces).toEqual(['reader3@example.com']);
    // A rejection is final: never retried.
    expect(server?.attempts.get('reader7@example.com')).toBe(1);
  });

  it('resends the message of a connection the server dropped halfway, and loses nobody', async () => {
    await start({ data: (count) => (count === 6 ? 'drop' : undefined) });
    const { summary } = await run({ count: 12 });
    expect(summary).toMatchObject({ sent: 12, deferred: 0, halt: undefined });
    expect(new Set(recipientsReceived()).size).toBe(12);
    expect(recipientsReceived()).toHaveLength(12);
  });

  it('stops the run when the whole sender is refused (421) and resumes it later', async () => {
    // From reader5 on, the server turns every message away (as a provider does once a sender is over its limit).
    let refusing = false;
    let limited = true;
    await start(
      {
        rcpt: (address) => {
          if (limited && address === 'reader5@example.com') refusing = true;
          return refusing ? { code: 421, message: '4.7.0 Too many messages, closing connection' } : undefined;
        },
      },
      1,
    );
    const first = await run({ count: 10, connections: 1 });
    expect(first.summary.halt).toEqual({
      reason: 'unavailable',
      response: '421 4.7.0 Too many messages, closing connection',
    });
    expect(first.summary.sent).toBe(5);
    expect(first.summary.notAttempted + first.summary.deferred).toBe(5);
    refusing = false;
    limited = false;
    const replay = replayStates(10);
    const second = await run({ count: 10, states: replay.states, connections: 1 });
    expect(second.summary).toMatchObject({ sent: 5, halt: undefined });
    expect(recipientsReceived().sort()).toEqual(
      Array.from({ length: 10 }, (_, index) => `reader${index}@example.com`).sort(),
    );
  });

  it('halts when the server is gone; a later run sends the rest and never resends a confirmed copy', async () => {
    await start({ delayMs: 20 });
    const controller = new AbortController();
    const pending = run({ count: 40, signal: controller.signal });
    while ((server?.received.length ?? 0) < 8) await new Promise((resolve) => setTimeout(resolve, 5));
    const firstServer = server;
    await firstServer?.close();
    const first = await pending;
    expect(first.summary.halt?.reason).toBe('connection');
    const journaled = replayStates(40);
    const confirmed = new Set(
      [...journaled.states.entries()]
        .filter(([, state]) => state === SENT)
        .map(([index]) => reader(index).email),
    );
    const delivered = new Set(firstServer?.received.flatMap((m) => m.to));
    await transport?.close();
    await start();
    const replay = replayStates(40);
    const second = await run({ count: 40, states: replay.states });
    expect(second.summary.halt).toBeUndefined();
    const all = [...delivered, ...recipientsReceived()];
    expect(new Set(all).size).toBe(40);
    // Nobody whose delivery was confirmed is sent again; a copy the server kept while its reply was lost
    // with the connection is sent again (at least once, with the same Message-ID).
    expect(recipientsReceived().filter((email) => confirmed.has(email))).toEqual([]);
    expect(confirmed.size).toBeGreaterThanOrEqual(8 - 3);
  });

  it('stops cleanly on abort: what is in flight finishes, the rest is sent by the next run', async () => {
    await start({ delayMs: 10 });
    const controller = new AbortController();
    const pending = run({ count: 30, signal: controller.signal });
    while ((server?.received.length ?? 0) < 5) await new Promise((resolve) => setTimeout(resolve, 2));
    controller.abort();
    const first = await pending;
    expect(first.summary.interrupted).toBe(true);
    const replay = replayStates(30);
    const counts = countStates(replay.states);
    // Nothing left in doubt: every message that left got its outcome recorded.
    expect(counts.attempting).toBe(0);
    expect(counts.sent).toBe(server?.received.length);
    const second = await run({ count: 30, states: replay.states });
    expect(second.summary.sent).toBe(30 - counts.sent);
    expect(recipientsReceived()).toHaveLength(30);
    expect(new Set(recipientsReceived()).size).toBe(30);
  });

  it('skips a reader who joined the suppression list after the list was frozen', async () => {
    await start();
    const { summary, states } = await run({ count: 4, suppressed: new Set(['reader1@example.com']) });
    expect(summary).toMatchObject({ sent: 3, skipped: 1 });
    expect(states[1]).toBe(5);
    expect(recipientsReceived()).not.toContain('reader1@example.com');
  });

  it('does not resend readers the journal has as sent', async () => {
    await start();
    const states = new Uint8Array(6);
    states[0] = SENT;
    states[1] = REJECTED;
    const { summary } = await run({ count: 6, states });
    expect(summary.sent).toBe(4);
    expect(recipientsReceived().sort()).toEqual([
      'reader2@example.com',
      'reader3@example.com',
      'reader4@example.com',
      'reader5@example.com',
    ]);
  });
});

describe('deliver with --rate', () => {
  it('spaces the messages by the rate on the injected clock', async () => {
    let now = 0;
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    };
    const sentAt: number[] = [];
    const transport: Transport = {
      description: 'clocked',
      verify: async () => ({ maxMessageBytes: undefined }),
      send: async () => {
        sentAt.push(now);
        return { kind: 'sent', response: '250 OK' };
      },
      close: async () => {},
    };
    const summary = await deliver({
      recipients: listOf(30),
      states: new Uint8Array(30),
      unknown: 'resend',
      render,
      envelopeFrom: () => 'bounces@kurier.example',
      transport,
      journal: undefined,
      suppressed: new Set(),
      connections: 5,
      rate: 10,
      retry: FAST_RETRY,
      clock,
      random: () => 0,
      wallTime: () => 0,
      signal: new AbortController().signal,
      planned: 30,
    });
    expect(summary.sent).toBe(30);
    // 30 messages at 10/s: the first goes at once, the last after 2.9 s.
    expect(sentAt.at(-1)).toBe(2900);
    expect(sentAt.filter((t) => t < 1000)).toHaveLength(10);
  });
});

describe('TokenBucket', () => {
  it('never lets more than rate + capacity messages into any one-second window', async () => {
    let now = 0;
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        // Timers fire late: model 0–3 ms of lateness.
        now += ms + (ms % 4);
      },
    };
    const bucket = new TokenBucket(14, 0);
    const times: number[] = [];
    for (let sent = 0; sent < 200; sent += 1) {
      await bucket.take(clock);
      times.push(now);
    }
    let worst = 0;
    for (const [index, start] of times.entries()) {
      const inWindow = times.slice(index).filter((time) => time < start + 1000).length;
      worst = Math.max(worst, inWindow);
    }
    expect(worst).toBeLessThanOrEqual(14 + bucket.capacity);
    // And it does not fall far below the rate either.
    expect(times.at(-1)).toBeLessThan((200 / 14) * 1000 * 1.1);
  });
});
