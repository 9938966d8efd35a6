import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError } from '../../http/errors.js';
import { recordAudit } from '../audit/service.js';
import { Email, Phone } from './schemas.js';

const MAX_REPORTED_REJECTIONS = 1000;
const BATCH = 2000;

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

interface ImportRow {
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

function toRow(record: Record<string, string>, line: number): ImportRow {
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
        const r = Email.safeParse(value);
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

export interface ImportResult {
  created: number;
  updated: number;
  rejected: { row: number; error: string }[];
  rejectedCount: number;
}

/**
 * Parses the CSV as it streams in (bounded by maxBytes), then writes every valid row in one
 * transaction: a broken upload changes nothing. Re-importing updates customers by email
 * (case-insensitively); empty cells keep the stored value.
 */
export async function importCustomers(
  runInTenant: <T>(fn: (tx: Tx, ctx: TenantContext) => Promise<T>) => Promise<T>,
  input: Readable,
  maxBytes: number,
): Promise<ImportResult> {
  const rejected: ImportResult['rejected'] = [];
  let rejectedCount = 0;
  const byEmail = new Map<string, ImportRow>();
  const withoutEmail: ImportRow[] = [];
  let duplicates = 0;

  let bytes = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > maxBytes) cb(new AppError('payload_too_large', `CSV larger than ${maxBytes} bytes`));
      else cb(null, chunk);
    },
  });
  const parser = parse({
    columns: (header: string[]) => header.map((h) => h.trim()),
    bom: true,
    skip_empty_lines: true,
    relax_column_count: true,
    info: true,
    max_record_size: 64 * 1024,
  });

  let sawHeader = false;
  const consume = async () => {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      sawHeader = true;
      try {
        const row = toRow(record, info.lines);
        if (!row.email) withoutEmail.push(row);
        else {
          const key = row.email.toLowerCase();
          const prev = byEmail.get(key);
          if (prev) duplicates++;
          byEmail.set(key, prev ? merge(prev, row) : row);
        }
      } catch (err) {
        rejectedCount++;
        if (rejected.length < MAX_REPORTED_REJECTIONS) rejected.push({ row: info.lines, error: (err as Error).message });
      }
    }
  };
  try {
    await Promise.all([pipeline(input, limiter, parser), consume()]);
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('bad_request', `Could not parse CSV: ${(err as Error).message}`);
  }
  if (!sawHeader && byEmail.size === 0) {
    // An empty file or a header alone imports nothing; that is not an error.
  }

  const rows = [...byEmail.values(), ...withoutEmail];
  const totals = await runInTenant(async (tx, ctx) => {
    let created = 0;
    let updated = duplicates;
    for (let i = 0; i < rows.length; i += BATCH) {
      const r = await writeBatch(tx, ctx.organizationId, rows.slice(i, i + BATCH));
      created += r.created;
      updated += r.updated;
    }
    await recordAudit(tx, ctx, { action: 'customers.imported', resourceType: 'customer', changes: { created, updated, rejected: rejectedCount } });
    return { created, updated };
  });
  rejected.sort((a, b) => a.row - b.row);
  return { ...totals, rejected, rejectedCount };
}

async function writeBatch(tx: Tx, organizationId: string, rows: ImportRow[]) {
  const result = await tx.execute(sql`
    WITH input AS (
      SELECT * FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS t(
        line int, email text, phone text, first_name text, last_name text,
        email_opt_in boolean, sms_opt_in boolean, tags text[], attributes jsonb)
    ),
    upd AS (
      UPDATE customers c SET
        phone = coalesce(i.phone, c.phone),
        first_name = coalesce(i.first_name, c.first_name),
        last_name = coalesce(i.last_name, c.last_name),
        email_opt_in = coalesce(i.email_opt_in, c.email_opt_in),
        sms_opt_in = coalesce(i.sms_opt_in, c.sms_opt_in),
        tags = coalesce(i.tags, c.tags),
        attributes = c.attributes || coalesce(i.attributes, '{}'::jsonb),
        updated_at = now()
      FROM input i
      WHERE c.organization_id = ${organizationId}::uuid AND i.email IS NOT NULL AND lower(c.email) = lower(i.email)
      RETURNING i.line
    ),
    ins AS (
      INSERT INTO customers (organization_id, email, phone, first_name, last_name, email_opt_in, sms_opt_in, tags, attributes)
      SELECT ${organizationId}::uuid, i.email, i.phone, i.first_name, i.last_name,
             coalesce(i.email_opt_in, false), coalesce(i.sms_opt_in, false), coalesce(i.tags, '{}'), coalesce(i.attributes, '{}'::jsonb)
      FROM input i
      WHERE i.line NOT IN (SELECT line FROM upd)
      RETURNING 1
    )
    SELECT (SELECT count(*) FROM upd)::int AS updated, (SELECT count(*) FROM ins)::int AS created`);
  const row = (result as unknown as { rows: { updated: number; created: number }[] }).rows[0];
  return { created: Number(row.created), updated: Number(row.updated) };
}
