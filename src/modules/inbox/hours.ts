import { DAYS, type BusinessHours } from './schemas.js';

const parts = new Map<string, Intl.DateTimeFormat>();
const formatter = (timeZone: string) => {
  let f = parts.get(timeZone);
  if (!f) parts.set(timeZone, (f = new Intl.DateTimeFormat('en-US', { timeZone, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' })));
  return f;
};

/**
 * Whether `at` falls within the inbox's business hours, read in the inbox's time zone (DST included:
 * the wall clock is what counts). No business hours set: always open. A day without intervals: closed.
 */
export function withinBusinessHours(hours: BusinessHours | null | undefined, at: Date = new Date()): boolean {
  if (!hours) return true;
  const p = Object.fromEntries(formatter(hours.timezone).formatToParts(at).map((x) => [x.type, x.value]));
  const day = DAYS[['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'].indexOf(p.weekday)];
  const now = `${p.hour}:${p.minute}`;
  return (hours.days[day] ?? []).some((i) => i.start <= now && now < i.end);
}
