import { and, arrayContains, eq, ilike, or, sql, type SQL } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { notFound } from '../../http/errors.js';
import { writableFields } from '../../lib/fields.js';
import { isoTime } from '../../lib/iso-time.js';
import { cursorPosition, keysetPage } from '../../lib/pagination.js';
import { arr } from '../../db/sql.js';
import { recordAudit } from '../audit/service.js';
import { assertWithinPlan, type Plans } from '../billing/limits.js';
import { suppressionFlags } from '../suppressions/service.js';
import { emitEvent } from '../webhooks/emit.js';
import type { CustomerInput, CustomerListQuery } from './schemas.js';

const { customers } = schema;
type Row = typeof customers.$inferSelect;

type Flags = { emailSuppressed: boolean; smsSuppressed: boolean };

export const toCustomerDto = (c: Row, flags: Flags) => ({
  id: c.id,
  externalId: c.externalId,
  anonymousId: c.anonymousId,
  email: c.email,
  phone: c.phone,
  firstName: c.firstName,
  lastName: c.lastName,
  emailOptIn: c.emailOptIn,
  smsOptIn: c.smsOptIn,
  emailStatus: c.emailStatus,
  emailSuppressed: flags.emailSuppressed,
  smsSuppressed: flags.smsSuppressed,
  tags: c.tags,
  attributes: c.attributes,
  // Two per row of a list page: isoTime writes the same string as toISOString in a quarter of the time.
  createdAt: isoTime(c.createdAt),
  updatedAt: isoTime(c.updatedAt),
});

/** One customer's DTO, saying whether its address and number are on the suppression list. */
const withFlags = async (tx: Tx, ctx: TenantContext, row: Row) => toCustomerDto(row, (await suppressionFlags(tx, ctx.organizationId, [row]))(row));

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

/**
 * The plain filters: what a search means, and the path every list without `q` or `tag` takes. Under
 * RLS neither `ILIKE` nor `@>` is leakproof, so this form cannot use the trigram or tags indexes.
 */
export function customerFilters(organizationId: string, q: CustomerListQuery): (SQL | undefined)[] {
  const filters: (SQL | undefined)[] = [eq(customers.organizationId, organizationId)];
  if (q.q) {
    const like = `%${escapeLike(q.q)}%`;
    filters.push(or(ilike(customers.email, like), ilike(customers.firstName, like), ilike(customers.lastName, like), ilike(customers.phone, like)));
  }
  if (q.tag) filters.push(arrayContains(customers.tags, [q.tag]));
  if (q.emailOptIn !== undefined) filters.push(eq(customers.emailOptIn, q.emailOptIn));
  if (q.smsOptIn !== undefined) filters.push(eq(customers.smsOptIn, q.smsOptIn));
  return filters;
}

/**
 * A search or tag filter: the reviewed SECURITY DEFINER function sb_customer_page (0016_scale.sql)
 * finds one page of ids with the trigram/tags indexes, for the organization of this transaction's
 * scope only; the rows are then read again here under RLS, with the same filters, in page order.
 */
async function searchedPage(tx: Tx, ctx: TenantContext, q: CustomerListQuery) {
  const after = cursorPosition(q.cursor);
  const { rows: found } = (await tx.execute(sql`select id from sb_customer_page(${q.q ?? null}::text, ${q.tag ? arr([q.tag]) : null}::text[],
      ${q.emailOptIn ?? null}::boolean, ${q.smsOptIn ?? null}::boolean, ${after?.ts ?? null}::timestamptz, ${after?.id ?? null}::uuid, ${q.limit + 1}::int)`)) as unknown as {
    rows: { id: string }[];
  };
  if (!found.length) return { rows: [] as Row[], nextCursor: null };
  const ids = found.map((r) => r.id);
  // The same keyset read as every list, narrowed to these ids: RLS and the filters apply again.
  return keysetPage(tx, customers, { limit: q.limit, cursor: q.cursor }, [...customerFilters(ctx.organizationId, q), sql`${customers.id} = any(${arr(ids)}::uuid[])`]);
}

export async function listCustomers(tx: Tx, ctx: TenantContext, q: CustomerListQuery) {
  const { rows, nextCursor } = q.q || q.tag ? await searchedPage(tx, ctx, q) : await keysetPage(tx, customers, q, customerFilters(ctx.organizationId, q));
  const flags = await suppressionFlags(tx, ctx.organizationId, rows);
  return { data: rows.map((r) => toCustomerDto(r, flags(r))), nextCursor };
}

export async function getCustomer(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.select().from(customers).where(and(eq(customers.organizationId, ctx.organizationId), eq(customers.id, id)));
  if (!row) throw notFound();
  return withFlags(tx, ctx, row);
}

const DEFAULTS = { email: null, phone: null, firstName: null, lastName: null, emailOptIn: false, smsOptIn: false, tags: [], attributes: {} };

/** Column values for an input; `replace` resets omitted fields (PUT), otherwise only given fields change (PATCH). */
const columns = (input: CustomerInput, replace: boolean) => writableFields(input, DEFAULTS, replace) as Partial<typeof customers.$inferInsert>;

/** 402 plan_limit when the organization's plan has no room for one more customer. */
export async function createCustomer(tx: Tx, ctx: TenantContext, input: CustomerInput, plans: Plans) {
  await assertWithinPlan(tx, ctx.organizationId, 'customers', 1, plans);
  const [row] = await tx
    .insert(customers)
    .values({ ...columns(input, true), organizationId: ctx.organizationId })
    .returning();
  await recordAudit(tx, ctx, { action: 'customer.created', resourceType: 'customer', resourceId: row.id, changes: { ...input } });
  const customer = await withFlags(tx, ctx, row);
  await emitEvent(tx, ctx, 'customer.created', { customer });
  return customer;
}

/** One statement keyed on (organization_id, id): another organization's id simply matches nothing. */
export async function updateCustomer(tx: Tx, ctx: TenantContext, id: string, input: CustomerInput, mode: 'replace' | 'patch') {
  const [row] = await tx
    .update(customers)
    .set({ ...columns(input, mode === 'replace'), updatedAt: sql`now()` })
    .where(and(eq(customers.organizationId, ctx.organizationId), eq(customers.id, id)))
    .returning();
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'customer.updated', resourceType: 'customer', resourceId: id, changes: { ...input } });
  const customer = await withFlags(tx, ctx, row);
  await emitEvent(tx, ctx, 'customer.updated', { customer });
  return customer;
}

export async function deleteCustomer(tx: Tx, ctx: TenantContext, id: string) {
  const rows = await tx
    .delete(customers)
    .where(and(eq(customers.organizationId, ctx.organizationId), eq(customers.id, id)))
    .returning({ id: customers.id, email: customers.email });
  if (!rows.length) throw notFound();
  await recordAudit(tx, ctx, { action: 'customer.deleted', resourceType: 'customer', resourceId: id, changes: { email: rows[0].email } });
  await emitEvent(tx, ctx, 'customer.deleted', { customer: rows[0] });
}
