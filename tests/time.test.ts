// The wall clock of a time zone, read the fast way, is exactly what Intl's formatToParts says.

import { describe, expect, it } from 'vitest';
import { wallClock } from '../src/time.ts';

const formats = new Map<string, Intl.DateTimeFormat>();

function reference(date: Date, timeZone: string) {
  const format =
    formats.get(timeZone) ??
    new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
  formats.set(timeZone, format);
  // The parts, as Intl names them; the literals (separators) are left out.
  const parts = Object.fromEntries(
    format
      .formatToParts(date)
      .filter((part) => part.type !== 'literal')
      .map((part) => [part.type, Number(part.value)]),
  );
  return {
    year: parts.year,
    month: parts.month,
    day: parts.day,
    hour: parts.hour,
    minute: parts.minute,
    second: parts.second,
  };
}

describe('wallClock', () => {
  it('agrees with formatToParts across DST changes, odd offsets and far years', () => {
    const zones = [
      'Europe/Berlin',
      'America/New_York',
      'America/St_Johns',
      'Australia/Lord_Howe',
      'Asia/Kolkata',
      'Pacific/Chatham',
      'UTC',
    ];
    // Every 37 minutes and 13 seconds through 2025 and 2026: both DST changes of each zone, every hour.
    const start = Date.UTC(2025, 0, 1);
    const dates: Date[] = [];
    for (let time = start; time < Date.UTC(2027, 0, 1); time += 37 * 60_000 + 13_000)
      dates.push(new Date(time));
    dates.push(
      new Date(Date.UTC(1, 0, 1)),
      new Date(Date.UTC(1899, 11, 31, 23, 59, 59)),
      new Date(Date.UTC(9999, 11, 31)),
    );
    for (const timeZone of zones) {
      const differing = dates.filter(
        (date) => JSON.stringify(wallClock(date, timeZone)) !== JSON.stringify(reference(date, timeZone)),
      );
      expect(differing, timeZone).toEqual([]);
    }
  });
});
