// Dates as writers type them (2026-11-26, 2026-11-26T08:00, or with an offset) become exact instants.

import { wallClock } from '../time.ts';

const DATE_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/;

export const DATE_HINT = 'expected a date like 2026-11-26 or 2026-11-26T08:00:00+01:00';

/**
 * Date.UTC with every year taken as written: Date.UTC itself reads years 0–99 as 1900–1999, which made
 * "0026-11-26" the year 1926.
 */
function utc(year: number, month: number, day: number, hour: number, minute: number, second: number): number {
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year, month - 1, day);
  return date.getTime();
}

/** The offset of `timeZone` from UTC at `instant`, in minutes (Europe/Berlin in November: 60). */
function zoneOffsetMinutes(instant: number, timeZone: string): number {
  const clock = wallClock(new Date(instant), timeZone);
  const asUtc = utc(clock.year, clock.month, clock.day, clock.hour, clock.minute, clock.second);
  return Math.round((asUtc - instant) / 60_000);
}

/**
 * Parses a front-matter date. Without an offset the time is wall-clock time in `timeZone` (midnight for a bare
 * date), so "2026-11-26" means the 26th where the writer lives, not in UTC. Returns undefined when invalid.
 */
export function parseDate(text: string, timeZone: string): Date | undefined {
  const match = DATE_PATTERN.exec(text.trim());
  if (match === null) return undefined;
  const [, year, month, day, hour = '0', minute = '0', second = '0', offset] = match;
  const fields = [year, month, day, hour, minute, second].map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const [y, mo, d, h, mi, s] = fields;
  const wallClock = utc(y, mo, d, h, mi, s);
  const check = new Date(wallClock);
  if (check.getUTCMonth() !== mo - 1 || check.getUTCDate() !== d || h > 23 || mi > 59 || s > 59)
    return undefined;
  if (offset === 'Z') return new Date(wallClock);
  if (offset !== undefined) {
    const sign = offset.startsWith('-') ? -1 : 1;
    const offsetHours = Number(offset.slice(1, 3));
    const offsetMinutes = Number(offset.slice(4, 6));
    // RFC 3339 §5.6: time-numoffset = ("+" / "-") time-hour ":" time-minute, hours 00–23, minutes 00–59.
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    return new Date(wallClock - sign * (offsetHours * 60 + offsetMinutes) * 60_000);
  }
  // Two passes settle the offset around daylight-saving changes.
  const first = wallClock - zoneOffsetMinutes(wallClock, timeZone) * 60_000;
  return new Date(wallClock - zoneOffsetMinutes(first, timeZone) * 60_000);
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** "2026-11-26T09:30:00+01:00": the instant as wall-clock time in `timeZone`, as a writer would type it. */
export function formatLocalDate(date: Date, timeZone: string): string {
  const offset = zoneOffsetMinutes(date.getTime(), timeZone);
  const local = new Date(date.getTime() + offset * 60_000).toISOString().slice(0, 19);
  const sign = offset < 0 ? '-' : '+';
  const hours = String(Math.floor(Math.abs(offset) / 60)).padStart(2, '0');
  const minutes = String(Math.abs(offset) % 60).padStart(2, '0');
  return `${local}${sign}${hours}:${minutes}`;
}
