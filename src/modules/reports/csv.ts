import { Readable } from 'node:stream';

/**
 * One CSV cell (RFC 4180), safe to open in a spreadsheet: a text cell starting with = + - @ tab or CR is
 * prefixed with a single quote so that it is never evaluated as a formula (a campaign named
 * `=HYPERLINK(...)` stays text). Numbers are written as numbers.
 */
export function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'number') return String(v);
  const s = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/** The rows as one CSV text (a mail attachment). */
export const csvText = (columns: string[], rows: Record<string, string | number | null>[]) =>
  [columns.map(csvCell).join(','), ...rows.map((r) => columns.map((c) => csvCell(r[c])).join(','))].map((l) => l + '\r\n').join('');

/** The rows as a CSV stream: the header, then one line per row (CRLF line ends). */
export function csvStream(columns: string[], rows: Record<string, string | number | null>[]): Readable {
  function* lines() {
    yield columns.map(csvCell).join(',') + '\r\n';
    for (const r of rows) yield columns.map((c) => csvCell(r[c])).join(',') + '\r\n';
  }
  return Readable.from(lines());
}
