/**
 * `date.toISOString()` for the instants PostgreSQL stores in this product (years 1970–9999), written from the
 * time value: V8's own takes about four times as long (1.8 µs against 0.4 µs on the 2-core machine here), and a
 * 50-row customer page writes 100 of them — 6 % of the list endpoint's CPU in a profile. Anything else
 * (before 1970, an invalid date) falls back to toISOString itself, so the result is always the same string.
 */
const two = (n: number) => (n < 10 ? `0${n}` : `${n}`);
const three = (n: number) => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);
const DAY = 86_400_000;
const YEAR_10000 = 253_402_300_800_000;

export function isoTime(date: Date): string {
  const t = date.getTime();
  if (!(t >= 0 && t < YEAR_10000)) return date.toISOString();
  const days = Math.floor(t / DAY);
  let ms = t - days * DAY;
  // Days since 1970-01-01 to a civil date (H. Hinnant's days_from_civil, inverted), in whole numbers.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  const h = Math.floor(ms / 3_600_000);
  ms -= h * 3_600_000;
  const mi = Math.floor(ms / 60_000);
  ms -= mi * 60_000;
  const s = Math.floor(ms / 1000);
  ms -= s * 1000;
  return `${year}-${two(month)}-${two(day)}T${two(h)}:${two(mi)}:${two(s)}.${three(ms)}Z`;
}
