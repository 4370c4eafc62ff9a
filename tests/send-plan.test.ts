// The pure decisions of a send: what an SMTP reply means, retry delays, ids and tokens, resume plans, progress.

import { describe, expect, it } from 'vitest';
import {
  messageIdOf,
  unsubscribeMailtoOf,
  unsubscribeTokenOf,
  unsubscribeUrlOf,
} from '../src/send/message.ts';
import { planResume, planRetryDelay, shouldSend } from '../src/send/plan.ts';
import { createProgressReporter, formatDuration, renderProgress } from '../src/send/progress.ts';
import { ATTEMPTING, DEFERRED, PENDING, REJECTED, SENT } from '../src/send/states.ts';
import { classifySmtpFailure, parseEnhancedStatus } from '../src/send/transport.ts';

describe('classifySmtpFailure', () => {
  const classify = (
    responseCode: number | undefined,
    response: string,
    extra: { code?: string; command?: string } = {},
  ) => {
    const outcome = classifySmtpFailure({ responseCode, response, message: response, ...extra });
    return outcome.kind === 'halt'
      ? `halt:${outcome.reason}`
      : outcome.kind === 'rejected'
        ? `rejected${outcome.hardBounce ? ':hard' : ''}`
        : outcome.kind === 'deferred'
          ? `deferred${outcome.connection ? ':connection' : ''}`
          : outcome.kind;
  };

  it.each([
    [550, '550 5.1.1 <x@example.com>: Recipient address rejected: User unknown', 'rejected:hard', {}],
    [550, '550-5.1.1 The email account that you tried to reach does not exist.', 'rejected:hard', {}],
    [553, '553 5.1.3 Bad recipient address syntax', 'rejected:hard', {}],
    [550, '550 5.7.1 Message rejected as spam', 'rejected', {}],
    [554, '554 Transaction failed', 'rejected', {}],
    [451, '451 4.7.1 Greylisted, please try again', 'deferred', {}],
    [452, '452 4.2.2 Mailbox full', 'deferred', {}],
    [503, '503 5.5.1 Bad sequence of commands', 'deferred:connection', {}],
    [undefined, 'Connection closed unexpectedly', 'deferred:connection', { code: 'ECONNECTION' }],
    [undefined, 'Greeting never received', 'deferred:connection', { code: 'ETIMEDOUT' }],
    [535, '535 5.7.8 Authentication credentials invalid', 'halt:auth', { code: 'EAUTH' }],
    [530, '530 5.7.0 Authentication required', 'halt:auth', {}],
    [421, '421 4.7.0 Try again later, closing connection', 'halt:unavailable', {}],
    [454, '454 Throttling failure: Maximum sending rate exceeded.', 'halt:throttled', {}],
    [454, '454 Throttling failure: Daily message quota exceeded.', 'halt:quota', {}],
    [550, '550 5.4.5 Daily user sending limit exceeded.', 'halt:quota', {}],
    [553, '553 5.7.1 Sender address rejected: not owned by user', 'halt:sender', { command: 'MAIL FROM' }],
    [undefined, 'Invalid recipient "a\\nb"', 'rejected', { code: 'EENVELOPE' }],
  ] as const)('%s %s → %s', (code, response, expected, extra) => {
    expect(classify(code, response, extra)).toBe(expected);
  });

  it('reads the enhanced status code of single- and multi-line replies', () => {
    expect(parseEnhancedStatus('550-5.1.10 RESOLVER.ADR.RecipientNotFound')).toBe('5.1.10');
    expect(parseEnhancedStatus('550 Requested action not taken')).toBeUndefined();
  });
});

describe('planRetryDelay', () => {
  const policy = { attempts: 5, baseDelayMs: 1000, maxDelayMs: 8000 };

  it('doubles per failed attempt up to the cap, half of it random', () => {
    expect([1, 2, 3, 4, 5].map((failed) => planRetryDelay(failed, policy, 0))).toEqual([
      500, 1000, 2000, 4000, 4000,
    ]);
    expect([1, 2, 3, 4, 5].map((failed) => planRetryDelay(failed, policy, 0.999999))).toEqual([
      1000, 2000, 4000, 8000, 8000,
    ]);
  });
});

describe('message ids and unsubscribe tokens', () => {
  it('gives each reader of an article the same Message-ID every time, on the publication domain', () => {
    const id = messageIdOf('tag:kurier.example,2026:a', 'anna@example.com', 'kurier.example');
    expect(id).toMatch(/^<[A-Za-z0-9_-]{32}@kurier\.example>$/);
    expect(messageIdOf('tag:kurier.example,2026:a', 'anna@example.com', 'kurier.example')).toBe(id);
    expect(messageIdOf('tag:kurier.example,2026:b', 'anna@example.com', 'kurier.example')).not.toBe(id);
    expect(messageIdOf('tag:kurier.example,2026:a', 'ben@example.com', 'kurier.example')).not.toBe(id);
  });

  it('signs the lowercased address, and says so when there is no secret', () => {
    const token = unsubscribeTokenOf('0123456789abcdef0123', 'anna@example.com');
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(unsubscribeTokenOf('another-secret-0123456', 'anna@example.com')).not.toBe(token);
    expect(unsubscribeTokenOf(undefined, 'anna@example.com')).toContain('NO-SECRET');
  });

  it('asks for the unsubscribe subject in the mailto: URL unless the setting has its own query', () => {
    expect(unsubscribeMailtoOf('abmelden@kurier.example')).toBe(
      'mailto:abmelden@kurier.example?subject=unsubscribe',
    );
    expect(unsubscribeMailtoOf('mailto:u@kurier.example?subject=stop')).toBe(
      'mailto:u@kurier.example?subject=stop',
    );
  });

  it('appends the token to the unsubscribe URL, keeping its query and fragment', () => {
    expect(unsubscribeUrlOf('https://kurier.example/abmelden', 'T')).toBe(
      'https://kurier.example/abmelden?token=T',
    );
    expect(unsubscribeUrlOf('https://kurier.example/u?list=1#form', 'T')).toBe(
      'https://kurier.example/u?list=1&token=T#form',
    );
  });
});

describe('planResume', () => {
  it('sends pending and deferred readers, and unknown ones unless told to skip them', () => {
    const states = Uint8Array.from([SENT, PENDING, ATTEMPTING, REJECTED, DEFERRED, PENDING]);
    const counts = { pending: 2, attempting: 1, sent: 1, rejected: 1, deferred: 1, skipped: 0 };
    expect(planResume(counts, 'resend')).toMatchObject({
      total: 6,
      toSend: 4,
      unknownResent: 1,
      unknownSkipped: 0,
    });
    expect(planResume(counts, 'skip')).toMatchObject({ toSend: 3, unknownResent: 0, unknownSkipped: 1 });
    expect([...states].map((state) => shouldSend(state, 'resend'))).toEqual([
      false,
      true,
      true,
      false,
      true,
      true,
    ]);
  });
});

describe('renderProgress', () => {
  it('shows count, share, rate and time left', () => {
    expect(renderProgress({ done: 4210, total: 10000, sent: 4200, failed: 10, elapsedMs: 5000 }, 10)).toBe(
      '[####......]  4,210/10,000  42%  842/s  ETA 0:07  10 failed',
    );
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });
});

describe('createProgressReporter', () => {
  const progress = (done: number, elapsedMs: number) => ({
    done,
    total: 100,
    sent: done,
    failed: 0,
    elapsedMs,
  });

  it('redraws the bar on a terminal at most ten times a second, and always at the end', () => {
    const status: string[] = [];
    let now = 0;
    const report = createProgressReporter(
      { out: () => {}, err: () => {}, status: (line) => status.push(line), isTTY: true },
      () => now,
    );
    for (let done = 1; done <= 100; done += 1) {
      now = done * 10;
      report(progress(done, now));
    }
    expect(status).toHaveLength(11);
    expect(status.at(-1)).toContain('100/100  100%');
  });

  it('writes a plain line per tenth of the way to a log', () => {
    const lines: string[] = [];
    let now = 0;
    const report = createProgressReporter(
      { out: (line) => lines.push(line), err: () => {}, status: () => {}, isTTY: false },
      () => now,
    );
    for (let done = 1; done < 100; done += 1) {
      now = 1000 + done * 100;
      report(progress(done, now));
    }
    expect(lines).toHaveLength(9);
    expect(lines[0]).toBe('10 of 100 done, 5/s, 0:02');
  });
});
