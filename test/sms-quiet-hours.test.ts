import { describe, expect, it } from 'vitest';
import { isTimeZone, quietUntil } from '../src/modules/sms/quiet-hours.js';

const at = (iso: string) => new Date(iso);
const until = (iso: string, start: string | null, end: string | null, timezone: string) => quietUntil(at(iso), { start, end, timezone })?.toISOString() ?? null;

describe('quiet hours', () => {
  it('is never quiet without a window, or with start = end', () => {
    expect(until('2026-06-01T03:00:00Z', null, null, 'UTC')).toBeNull();
    expect(until('2026-06-01T03:00:00Z', '08:00', '08:00', 'UTC')).toBeNull();
  });

  it('a same-day window (12:00–14:00 UTC): start inclusive, end exclusive', () => {
    expect(until('2026-06-01T11:59:00Z', '12:00', '14:00', 'UTC')).toBeNull();
    expect(until('2026-06-01T12:00:00Z', '12:00', '14:00', 'UTC')).toBe('2026-06-01T14:00:00.000Z');
    expect(until('2026-06-01T13:59:59Z', '12:00', '14:00', 'UTC')).toBe('2026-06-01T14:00:00.000Z');
    expect(until('2026-06-01T14:00:00Z', '12:00', '14:00', 'UTC')).toBeNull();
  });

  it('a window crossing midnight (21:00–08:00 New York, EDT = UTC-4): before midnight → next morning, after → this morning', () => {
    // 22:30 local on June 1 → 08:00 local June 2 = 12:00 UTC.
    expect(until('2026-06-02T02:30:00Z', '21:00', '08:00', 'America/New_York')).toBe('2026-06-02T12:00:00.000Z');
    // 05:00 local June 2 → 08:00 local June 2.
    expect(until('2026-06-02T09:00:00Z', '21:00', '08:00', 'America/New_York')).toBe('2026-06-02T12:00:00.000Z');
    // 20:59 and 08:00 local are allowed.
    expect(until('2026-06-02T00:59:00Z', '21:00', '08:00', 'America/New_York')).toBeNull();
    expect(until('2026-06-02T12:00:00Z', '21:00', '08:00', 'America/New_York')).toBeNull();
  });

  it('reads the window in the organization timezone: the same instant is quiet in Tokyo and not in London', () => {
    // 13:00 UTC = 22:00 in Tokyo (UTC+9, no DST) and 14:00 in London (BST).
    expect(until('2026-06-01T13:00:00Z', '21:00', '08:00', 'Asia/Tokyo')).toBe('2026-06-01T23:00:00.000Z');
    expect(until('2026-06-01T13:00:00Z', '21:00', '08:00', 'Europe/London')).toBeNull();
    // Half-hour offsets: Kolkata is UTC+5:30; 23:00 local = 17:30 UTC → 08:00 local = 02:30 UTC next day.
    expect(until('2026-06-01T17:30:00Z', '21:00', '08:00', 'Asia/Kolkata')).toBe('2026-06-02T02:30:00.000Z');
  });

  it('follows DST changes: the end time is local on the day quiet hours end', () => {
    // US DST starts 2026-03-08 at 02:00. 23:00 EST on Mar 7 (04:00 UTC Mar 8) → 08:00 EDT Mar 8 = 12:00 UTC.
    expect(until('2026-03-08T04:00:00Z', '21:00', '08:00', 'America/New_York')).toBe('2026-03-08T12:00:00.000Z');
    // Europe: DST ends 2026-10-25. 23:00 CEST Oct 24 (21:00 UTC) → 08:00 CET Oct 25 = 07:00 UTC.
    expect(until('2026-10-24T21:00:00Z', '22:00', '08:00', 'Europe/Berlin')).toBe('2026-10-25T07:00:00.000Z');
    // An end time skipped by the change (02:30 on Mar 8 in New York does not exist): the first instant after the gap.
    expect(until('2026-03-08T05:30:00Z', '00:00', '02:30', 'America/New_York')).toBe('2026-03-08T07:00:00.000Z');
  });

  it('the deferral is always in the future and out of the window', () => {
    for (const tz of ['UTC', 'America/Los_Angeles', 'Australia/Lord_Howe', 'Pacific/Chatham', 'America/St_Johns']) {
      for (let h = 0; h < 48; h++) {
        const t = new Date(Date.UTC(2026, 2, 7, h, 17));
        const u = quietUntil(t, { start: '20:00', end: '09:15', timezone: tz });
        if (!u) continue;
        expect(u.getTime()).toBeGreaterThan(t.getTime());
        expect(quietUntil(u, { start: '20:00', end: '09:15', timezone: tz }), `${tz} ${t.toISOString()} → ${u.toISOString()}`).toBeNull();
        expect(u.getTime() - t.getTime()).toBeLessThanOrEqual(14 * 3600_000);
      }
    }
  });

  it('knows IANA timezones', () => {
    expect(isTimeZone('America/New_York')).toBe(true);
    expect(isTimeZone('Mars/Olympus_Mons')).toBe(false);
  });
});
