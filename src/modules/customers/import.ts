import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { setImmediate } from 'node:timers/promises';
import { CsvError, parse } from 'csv-parse';
import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, sqlStateOf } from '../../http/errors.js';
import { recordAudit } from '../audit/service.js';
import { customersOverPlan, readAccount, type Plans } from '../billing/limits.js';
import { Batch, toRow, type ImportRow } from './import-rows.js';
import { attributesProblem } from './schemas.js';
import { rowsOf } from '../../db/sql.js';

const MAX_REPORTED_REJECTIONS = 1000;
/** Rows per write transaction: on PGlite about 100 ms of a shared connection and event loop. */
const BATCH = 500;
/** Largest piece of the upload handed to the parser at once. */
const SLICE = 64 * 1024;

export interface ImportResult {
  created: number;
  updated: number;
  rejected: { row: number; error: string }[];
  rejectedCount: number;
}

type Rejection = ImportResult['rejected'][number];
type RunInTenant = <T>(fn: (tx: Tx, ctx: TenantContext) => Promise<T>) => Promise<T>;

/**
 * Streams the CSV (bounded by maxBytes) through the parser and writes it in batches of BATCH rows,
 * each in its own short tenant transaction, yielding to the event loop between batches: on the
 * embedded database (one connection, same thread) other requests run between two batches instead
 * of waiting for the whole file, and memory holds one batch, not the file.
 * Per row, never half-written: a row is imported completely or reported rejected with its line.
 * Re-importing updates customers by email (case-insensitively; empty cells keep the stored value),
 * so running an interrupted import again is safe.
 */
export async function importCustomers(runInTenant: RunInTenant, input: Readable, maxBytes: number, plans: Plans): Promise<ImportResult> {
  const rejected: Rejection[] = [];
  let rejectedCount = 0;
  const reject = (row: number, error: string) => {
    rejectedCount++;
    if (rejected.length < MAX_REPORTED_REJECTIONS) rejected.push({ row, error });
  };
  let created = 0;
  let updated = 0;
  let batch = new Batch();
  const flush = async () => {
    if (batch.size === 0) return;
    const full = batch;
    batch = new Batch();
    updated += full.duplicates;
    const r = await writeRows(runInTenant, full.rows(), plans);
    created += r.created;
    updated += r.updated;
    for (const x of r.rejected) reject(x.row, x.error);
    // Let requests that arrived while this batch was written run before the next one.
    await setImmediate();
  };

  let bytes = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      bytes += chunk.length;
      if (bytes > maxBytes) return cb(new AppError('payload_too_large', `CSV larger than ${maxBytes} bytes`));
      // Slices keep the parser's backpressure effective when a whole upload arrives as one buffer.
      for (let i = 0; i < chunk.length; i += SLICE) this.push(chunk.subarray(i, i + SLICE));
      cb();
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

  const consume = async () => {
    for await (const { record, info } of parser as AsyncIterable<{ record: Record<string, string>; info: { lines: number } }>) {
      try {
        const problem = batch.add(toRow(record, info.lines));
        if (problem) reject(info.lines, problem);
      } catch (err) {
        reject(info.lines, (err as Error).message);
      }
      if (batch.size >= BATCH) await flush();
    }
  };
  let failure: AppError | undefined;
  try {
    // Not pipeline(input, …): on an error it would destroy the request, and with it the socket the
    // 413 must go out on. The route answers with Connection: close instead.
    input.on('error', (err) => limiter.destroy(err));
    input.pipe(limiter);
    await Promise.all([pipeline(limiter, parser), consume()]);
    await flush();
  } catch (err) {
    if (err instanceof AppError) failure = err;
    else if (err instanceof CsvError) failure = new AppError('bad_request', `Could not parse CSV: ${err.message}`);
    else throw err;
  }

  const written = created + updated > 0;
  if (written || !failure) {
    await runInTenant((tx, ctx) =>
      recordAudit(tx, ctx, { action: 'customers.imported', resourceType: 'customer', changes: { created, updated, rejected: rejectedCount, ...(failure && { stoppedBy: failure.code }) } }),
    );
  }
  if (failure) {
    // The rows before the failure are in (each one whole); say so, so the client knows re-running is the fix.
    if (!written) throw failure;
    throw new AppError(failure.code, `${failure.message}; the ${created + updated} rows before it were imported, re-running the import is safe`, { created, updated, rejectedCount });
  }
  rejected.sort((a, b) => a.row - b.row);
  return { created, updated, rejected, rejectedCount };
}

/** SQLSTATE classes 21 (cardinality), 22 (data exception), 23 (integrity constraint): this row's values, not the database. */
const isRowError = (err: unknown) => /^2[123]/.test(sqlStateOf(err) ?? '');

/**
 * Writes rows in one transaction. When the database refuses the batch because of a row's values,
 * the rows are written one by one instead, so that only the offending row is rejected.
 */
async function writeRows(runInTenant: RunInTenant, rows: ImportRow[], plans: Plans): Promise<{ created: number; updated: number; rejected: Rejection[] }> {
  try {
    return await runInTenant((tx, ctx) => writeBatch(tx, ctx.organizationId, rows, plans));
  } catch (err) {
    if (!isRowError(err)) throw err;
    if (rows.length === 1) return { created: 0, updated: 0, rejected: [{ row: rows[0].line, error: 'the database refused a value of this row' }] };
    const total = { created: 0, updated: 0, rejected: [] as Rejection[] };
    for (const row of rows) {
      const r = await writeRows(runInTenant, [row], plans);
      total.created += r.created;
      total.updated += r.updated;
      total.rejected.push(...r.rejected);
    }
    return total;
  }
}

const uuids = (ids: string[]) => sql`ARRAY(SELECT jsonb_array_elements_text(${JSON.stringify(ids)}::jsonb)::uuid)`;

/**
 * Writes one batch in three statements, each reaching rows through an index only. Under row-level
 * security a `lower(email) = …` condition cannot use the (organization_id, lower(email)) index (lower()
 * is not leakproof), so a join on it scans all of the organization's customers once per batch:
 * quadratic in the file. The unique index is reached as ON CONFLICT's arbiter instead, and the rest by id.
 */
async function writeBatch(tx: Tx, organizationId: string, rows: ImportRow[], plans: Plans) {
  // The billing row first, as a customer create takes it: the two never wait on each other in opposite orders.
  await readAccount(tx, organizationId, { lock: true });
  // 1. New addresses (and rows without one) are inserted whole; an existing address is locked and
  //    returned with its id through a no-op update (the row keeps its values until step 3).
  const upserted = rowsOf<{ id: string; inserted: boolean; k: string | null }>(
    await tx.execute(sql`
      INSERT INTO customers (organization_id, email, phone, first_name, last_name, email_opt_in, sms_opt_in, tags, attributes)
      SELECT ${organizationId}::uuid, i.email, i.phone, i.first_name, i.last_name,
             coalesce(i.email_opt_in, false), coalesce(i.sms_opt_in, false), coalesce(i.tags, '{}'), coalesce(i.attributes, '{}'::jsonb)
      FROM jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) AS i(
        line int, email text, phone text, first_name text, last_name text,
        email_opt_in boolean, sms_opt_in boolean, tags text[], attributes jsonb)
      ON CONFLICT (organization_id, lower(email)) DO UPDATE SET email = customers.email
      RETURNING id, (xmax = 0) AS inserted, lower(email) AS k`),
  );
  const byKey = new Map(rows.filter((r) => r.email).map((r) => [r.email!.toLowerCase(), r]));
  const withoutEmail = rows.filter((r) => !r.email);
  let created = 0;
  const existing: { id: string; row: ImportRow }[] = [];
  const inserted: { id: string; line: number }[] = [];
  for (const u of upserted) {
    if (u.inserted) {
      created++;
      // Rows without an address come back in the order they were inserted (the file's).
      inserted.push({ id: u.id, line: u.k ? byKey.get(u.k)!.line : withoutEmail.shift()!.line });
    } else existing.push({ id: u.id, row: byKey.get(u.k!)! });
  }

  // The plan's customer limit (the count is kept by the insert's own statement trigger): the new rows
  // beyond it, the file's last ones, are taken back in this transaction and reported rejected.
  const rejected: Rejection[] = [];
  const { over, plan, allowed } = await customersOverPlan(tx, organizationId, plans);
  if (over > 0) {
    const back = inserted.sort((a, b) => a.line - b.line).slice(-over);
    await tx.execute(sql`DELETE FROM customers WHERE organization_id = ${organizationId}::uuid AND id = ANY(${uuids(back.map((b) => b.id))})`);
    created -= back.length;
    for (const b of back) rejected.push({ row: b.line, error: `plan limit: the ${plan.label} plan allows ${allowed} customers` });
  }
  if (!existing.length) return { created, updated: 0, rejected };

  // 2. Attributes merge into the stored ones: the result must stay within the JSON API's limit.
  const withAttributes = existing.filter((e) => e.row.attributes);
  if (withAttributes.length) {
    const stored = new Map(
      rowsOf<{ id: string; attributes: Record<string, unknown> }>(
        await tx.execute(sql`SELECT id, attributes FROM customers WHERE organization_id = ${organizationId}::uuid AND id = ANY(${uuids(withAttributes.map((e) => e.id))})`),
      ).map((r) => [r.id, r.attributes]),
    );
    for (const e of withAttributes) {
      const problem = attributesProblem({ ...(stored.get(e.id) ?? {}), ...e.row.attributes });
      if (problem) rejected.push({ row: e.row.line, error: `${problem} (merged with the stored attributes)` });
    }
  }
  const refused = new Set(rejected.map((r) => r.row));
  const updates = existing.filter((e) => !refused.has(e.row.line)).map((e) => ({ ...e.row, id: e.id }));
  if (!updates.length) return { created, updated: 0, rejected };

  // 3. Existing customers: empty cells keep the stored value, attributes merge.
  const updated = rowsOf<{ n: number }>(
    await tx.execute(sql`
      WITH upd AS (
        UPDATE customers c SET
          phone = coalesce(i.phone, c.phone),
          first_name = coalesce(i.first_name, c.first_name),
          last_name = coalesce(i.last_name, c.last_name),
          email_opt_in = coalesce(i.email_opt_in, c.email_opt_in),
          sms_opt_in = coalesce(i.sms_opt_in, c.sms_opt_in),
          tags = coalesce(i.tags, c.tags),
          attributes = c.attributes || coalesce(i.attributes, '{}'::jsonb),
          updated_at = now()
        FROM jsonb_to_recordset(${JSON.stringify(updates)}::jsonb) AS i(
          id uuid, phone text, first_name text, last_name text, email_opt_in boolean, sms_opt_in boolean, tags text[], attributes jsonb)
        WHERE c.organization_id = ${organizationId}::uuid AND c.id = ANY(${uuids(updates.map((u) => u.id))}) AND c.id = i.id
        RETURNING 1)
      SELECT count(*)::int AS n FROM upd`),
  )[0].n;
  return { created, updated: Number(updated), rejected };
}
