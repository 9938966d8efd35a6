// isoTime writes exactly what Date.prototype.toISOString writes, for every instant, including the edges of
// its fast range (1970, leap days, the last millisecond of 9999) and the ones it hands to toISOString.
import { describe, expect, it } from 'vitest';
import { isoTime } from '../src/lib/iso-time.js';

describe('isoTime', () => {
  it('matches toISOString on 200,000 random instants from 1970 to 9999 and on the edges', () => {
    const edges = [0, 1, 999, 86_399_999, 86_400_000, Date.UTC(2000, 1, 29, 23, 59, 59, 999), Date.UTC(2100, 1, 28, 12), Date.UTC(2024, 1, 29), Date.UTC(1999, 11, 31, 23, 59, 59, 999), Date.UTC(9999, 11, 31, 23, 59, 59, 999)];
    let seed = 42;
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31);
    const instants = [...edges, ...Array.from({ length: 200_000 }, () => Math.floor(random() * 253_402_300_800_000))];
    const wrong = instants.filter((t) => isoTime(new Date(t)) !== new Date(t).toISOString()).slice(0, 5);
    expect(wrong.map((t) => [isoTime(new Date(t)), new Date(t).toISOString()])).toEqual([]);
  });

  it('hands instants outside its range to toISOString: before 1970, from year 10000, and an invalid date still throws', () => {
    for (const t of [-1, Date.UTC(1969, 11, 31, 23, 59, 59, 999), Date.UTC(1900, 0, 1), Date.UTC(10_000, 0, 1), -62_198_755_200_000]) {
      expect(isoTime(new Date(t))).toBe(new Date(t).toISOString());
    }
    expect(() => isoTime(new Date(Number.NaN))).toThrow(RangeError);
  });
});
