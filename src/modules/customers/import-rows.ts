/** CSV rows as customers: parsing one row, and the batch that folds rows for the same address together. */
import { EmailAddress } from '../../lib/schemas.js';
import { attributesProblem, Phone } from './schemas.js';

/** CSV header → customer field. Headers are matched case-insensitively, ignoring spaces, dashes and underscores. */
const HEADER_ALIASES: Record<string, ImportField> = {
  email: 'email', emailaddress: 'email',
  phone: 'phone', phonenumber: 'phone', mobile: 'phone',
  firstname: 'firstName', givenname: 'firstName',
  lastname: 'lastName', surname: 'lastName', familyname: 'lastName',
  emailoptin: 'emailOptIn', smsoptin: 'smsOptIn',
  tags: 'tags',
};
type ImportField = 'email' | 'phone' | 'firstName' | 'lastName' | 'emailOptIn' | 'smsOptIn' | 'tags';

/** One CSV row as a customer: null means an empty cell, which keeps the stored value on re-import. */
export interface ImportRow {
  line: number;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  email_opt_in: boolean | null;
  sms_opt_in: boolean | null;
  tags: string[] | null;
  attributes: Record<string, string> | null;
}

const TRUE = new Set(['true', 'yes', 'y', '1', 'subscribed', 'opted-in', 'on']);
const FALSE = new Set(['false', 'no', 'n', '0', 'unsubscribed', 'opted-out', 'off']);

function parseBool(v: string, field: string): boolean | null {
  if (v === '') return null;
  const s = v.toLowerCase();
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new Error(`${field} must be true or false, got "${v.slice(0, 40)}"`);
}

export function toRow(record: Record<string, string>, line: number): ImportRow {
  const row: ImportRow = { line, email: null, phone: null, first_name: null, last_name: null, email_opt_in: null, sms_opt_in: null, tags: null, attributes: null };
  for (const [header, raw] of Object.entries(record)) {
    const value = (raw ?? '').trim();
    if (value.includes('\u0000')) throw new Error(`${header.slice(0, 64)} contains a NUL character`);
    const field = HEADER_ALIASES[header.toLowerCase().replace(/[\s_-]/g, '')];
    if (!field) {
      // Unknown columns are kept as attributes (e.g. "city" → attributes.city).
      const key = header.replace(/^attributes\./i, '').trim().slice(0, 64);
      if (value !== '' && key) (row.attributes ??= {})[key] = value.slice(0, 1000);
      continue;
    }
    if (value === '') continue;
    switch (field) {
      case 'email': {
        const r = EmailAddress.safeParse(value);
        if (!r.success) throw new Error(`invalid email "${value.slice(0, 80)}"`);
        row.email = r.data;
        break;
      }
      case 'phone': {
        const r = Phone.safeParse(value);
        if (!r.success) throw new Error(`invalid phone number "${value.slice(0, 40)}"`);
        row.phone = r.data;
        break;
      }
      case 'firstName':
      case 'lastName':
        if (value.length > 200) throw new Error(`${field} is longer than 200 characters`);
        row[field === 'firstName' ? 'first_name' : 'last_name'] = value;
        break;
      case 'emailOptIn':
        row.email_opt_in = parseBool(value, 'emailOptIn');
        break;
      case 'smsOptIn':
        row.sms_opt_in = parseBool(value, 'smsOptIn');
        break;
      case 'tags': {
        const tags = [...new Set(value.split(/[;|,]/).map((t) => t.trim()).filter(Boolean))];
        if (tags.length > 50 || tags.some((t) => t.length > 64)) throw new Error('at most 50 tags of at most 64 characters');
        row.tags = tags;
        break;
      }
    }
  }
  if (!row.email && !row.phone) throw new Error('a customer needs an email or a phone number');
  // The JSON API's rule: without it one row of many columns stored ~90 KB of attributes.
  const problem = row.attributes && attributesProblem(row.attributes);
  if (problem) throw new Error(problem);
  return row;
}

/** Later rows for the same email win field by field, as a second import would. */
function merge(a: ImportRow, b: ImportRow): ImportRow {
  const out = { ...a, line: b.line };
  for (const k of ['email', 'phone', 'first_name', 'last_name', 'email_opt_in', 'sms_opt_in', 'tags'] as const) {
    if (b[k] !== null) (out as any)[k] = b[k];
  }
  if (b.attributes) out.attributes = { ...(a.attributes ?? {}), ...b.attributes };
  return out;
}

/** Rows waiting for the next write: one per email (merged), plus the rows identified by phone only. */
export class Batch {
  readonly byEmail = new Map<string, ImportRow>();
  readonly withoutEmail: ImportRow[] = [];
  /** Rows folded into an earlier row of this batch; they count as updates, as a second import would. */
  duplicates = 0;

  get size() {
    return this.byEmail.size + this.withoutEmail.length;
  }

  /** Adds a row; returns why it was refused (merging pushed its customer's attributes over the limit), or null. */
  add(row: ImportRow): string | null {
    if (!row.email) {
      this.withoutEmail.push(row);
      return null;
    }
    const key = row.email.toLowerCase();
    const prev = this.byEmail.get(key);
    if (!prev) {
      this.byEmail.set(key, row);
      return null;
    }
    const merged = merge(prev, row);
    const problem = merged.attributes && attributesProblem(merged.attributes);
    if (problem) return `${problem} (with this address's earlier rows)`;
    this.byEmail.set(key, merged);
    this.duplicates++;
    return null;
  }

  rows() {
    return [...this.byEmail.values(), ...this.withoutEmail];
  }
}

