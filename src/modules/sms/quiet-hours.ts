// Quiet hours: no SMS between two local times of the organization's timezone. A window may cross
// midnight (21:00–08:00). Pure functions of (instant, settings); the sender defers, never drops.

export interface QuietHours {
  /** Local "HH:MM" when quiet hours begin (inclusive) and end (exclusive); both null = none. */
  start: string | null;
  end: string | null;
  /** IANA timezone the times are read in. */
  timezone: string;
}

const HHMM = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

export const isHhMm = (v: string) => HHMM.test(v);

/** Whether Intl knows this IANA timezone name. */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

const minutesOf = (hhmm: string) => {
  const m = HHMM.exec(hhmm);
  if (!m) throw new Error(`not a HH:MM time: ${hhmm}`);
  return Number(m[1]) * 60 + Number(m[2]);
};

const formatters = new Map<string, Intl.DateTimeFormat>();
function formatter(tz: string) {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    formatters.set(tz, f);
  }
  return f;
}

interface Local {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** The wall-clock reading of an instant in a timezone. */
function localParts(at: Date, tz: string): Local {
  const p: Record<string, number> = {};
  for (const part of formatter(tz).formatToParts(at)) if (part.type !== 'literal') p[part.type] = Number(part.value);
  return { year: p.year, month: p.month, day: p.day, hour: p.hour, minute: p.minute, second: p.second };
}

/** How far the timezone's wall clock is ahead of UTC at this instant, in ms. */
function offsetAt(at: Date, tz: string) {
  const l = localParts(at, tz);
  return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute, l.second) - Math.floor(at.getTime() / 1000) * 1000;
}

/**
 * The first instant at or after a local wall-clock time (year, month, day, minutes) in tz. A time
 * that does not exist that day (skipped by a DST change) resolves to the first instant after the gap.
 */
function instantOf(year: number, month: number, day: number, minutes: number, tz: string): Date {
  const wall = Date.UTC(year, month - 1, day, Math.floor(minutes / 60), minutes % 60);
  let guess = wall - offsetAt(new Date(wall), tz);
  guess = wall - offsetAt(new Date(guess), tz);
  const reading = (t: number) => {
    const l = localParts(new Date(t), tz);
    return Date.UTC(l.year, l.month - 1, l.day, l.hour, l.minute);
  };
  const reads = reading(guess);
  if (reads >= wall) return new Date(guess);
  // In a DST gap the wall time is never read: the first minute whose reading is past it is where the gap ends.
  let lo = guess;
  let hi = guess + (wall - reads);
  while (hi - lo > 60_000) {
    const mid = lo + Math.max(60_000, Math.floor((hi - lo) / 120_000) * 60_000);
    if (reading(mid) >= wall) hi = mid;
    else lo = mid;
  }
  return new Date(hi);
}

/** True when the minute of the day falls inside [start, end), a window that may cross midnight. */
function inWindow(minute: number, start: number, end: number) {
  return start < end ? minute >= start && minute < end : minute >= start || minute < end;
}

/**
 * Null when a message may go out at `at`; otherwise the instant quiet hours end (the next local
 * `end` time after `at`). A window with start = end is no window.
 */
export function quietUntil(at: Date, q: QuietHours): Date | null {
  if (!q.start || !q.end) return null;
  const start = minutesOf(q.start);
  const end = minutesOf(q.end);
  if (start === end) return null;
  const l = localParts(at, q.timezone);
  const minute = l.hour * 60 + l.minute;
  if (!inWindow(minute, start, end)) return null;
  // Quiet now: the window ends today at `end`, or tomorrow when it crosses midnight and we are before midnight.
  const tomorrow = start > end && minute >= start;
  const day = new Date(Date.UTC(l.year, l.month - 1, l.day + (tomorrow ? 1 : 0)));
  const until = instantOf(day.getUTCFullYear(), day.getUTCMonth() + 1, day.getUTCDate(), end, q.timezone);
  return until.getTime() > at.getTime() ? until : new Date(at.getTime() + 60_000);
}
