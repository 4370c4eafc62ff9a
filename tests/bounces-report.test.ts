// The bounce part of `kurier status` (pure), and the schedule that runs bounces inside `kurier server`.

import { describe, expect, it } from 'vitest';
import { renderBounceStatus } from '../src/bounces/report.ts';
import { startBounceSchedule } from '../src/bounces/store-run.ts';
import type { SendBounceCounts } from '../src/store/bounce-records.ts';

function send(sent: number, bounced: number, complained: number): SendBounceCounts {
  return {
    sendId: 1,
    articleId: 'tag:kurier.example,2026:bochum',
    sent,
    bounced,
    complained,
    softBounced: 2,
    unsubscribed: 1,
    refused: 0,
  };
}

describe('bounce status', () => {
  it('says nothing without sends or runs', () => {
    expect(renderBounceStatus([], undefined)).toEqual([]);
  });

  it('flags complaints at the 0.3 % limit and the 0.1 % aim, and bounces above 2 %', () => {
    expect(renderBounceStatus([send(1000, 21, 3)], undefined)).toMatchInlineSnapshot(`
      [
        "Bounces and complaints (kurier bounces):",
        "  tag:kurier.example,2026:bochum: 1,000 sent; 21 bounced (2.10 %), 3 complaints (0.30 %), 2 soft bounces, 1 unsubscribed by mail, 0 refused as sender",
        "    ! complaints at 0.30 %: at or above the 0.3 % Gmail and Yahoo allow; mail may be refused or sent to spam",
        "    ! bounces at 2.10 %: above 2 %; the list holds dead addresses (an old import?)",
        "  No bounces run has recorded anything yet.",
      ]
    `);
    const warnings = (sent: number, bounced: number, complained: number) =>
      renderBounceStatus([send(sent, bounced, complained)], undefined).filter((line) => line.includes('!'));
    expect(warnings(1000, 20, 2)).toEqual([
      '    ! complaints at 0.20 %: under the 0.3 % limit, above the 0.1 % to aim for',
    ]);
    expect(warnings(1001, 20, 0)).toEqual([]);
    expect(warnings(0, 0, 0)).toEqual([]);
  });

  it('names whom the latest run suppressed, and an address since forgotten without it', () => {
    const lines = renderBounceStatus([], {
      run: 'r',
      at: new Date('2026-11-26T10:00:00Z'),
      messages: 4,
      suppressed: [
        { address: 'anna@example.org', status: 'bounced' },
        { address: undefined, status: 'complained' },
      ],
    });
    expect(lines.at(-1)).toBe(
      '  Latest bounces run (2026-11-26T10:00:00.000Z, 4 messages): suppressed anna@example.org (bounced), (an address since forgotten) (complained).',
    );
  });
});

describe('bounce schedule', () => {
  it('runs at once and again after each run, never two at a time, on after a failure; stop waits for the run', async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    const errors: unknown[] = [];
    let release: () => void = () => {};
    const schedule = startBounceSchedule(
      async () => {
        runs++;
        running++;
        most = Math.max(most, running);
        if (runs === 2) {
          running--;
          throw new Error('mailbox unreachable');
        }
        if (runs === 4) await new Promise<void>((resolve) => (release = resolve));
        running--;
      },
      5,
      (error) => errors.push(error),
    );
    while (runs < 4) await new Promise((resolve) => setTimeout(resolve, 5));
    let stopped = false;
    const stopping = schedule.stop().then(() => (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(stopped).toBe(false);
    release();
    await stopping;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(runs).toBe(4);
    expect(most).toBe(1);
    expect(errors.map((error) => (error as Error).message)).toEqual(['mailbox unreachable']);
  });
});
