import { and, eq, sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import { query, queryOne } from '../../db/sql.js';
import type { TenantContext } from '../../http/access.js';
import { notFound } from '../../http/errors.js';
import { keysetPage } from '../../lib/pagination.js';
import { recordAudit } from '../audit/service.js';
import { compileCondition } from './compile.js';
import type { Condition, SegmentIn } from './schemas.js';

const { segments } = schema;
type Row = typeof segments.$inferSelect;
const toDto = (r: Row) => ({ id: r.id, name: r.name, condition: r.condition, createdAt: r.createdAt.toISOString(), updatedAt: r.updatedAt.toISOString() });
const SAMPLE = 10;

export async function listSegments(tx: Tx, ctx: TenantContext, q: { limit: number; cursor?: string }) {
  const { rows, nextCursor } = await keysetPage(tx, segments, q, [eq(segments.organizationId, ctx.organizationId)]);
  return { data: rows.map(toDto), nextCursor };
}

export async function getSegment(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.select().from(segments).where(and(eq(segments.organizationId, ctx.organizationId), eq(segments.id, id)));
  if (!row) throw notFound();
  return toDto(row);
}

export async function createSegment(tx: Tx, ctx: TenantContext, input: SegmentIn) {
  const [row] = await tx.insert(segments).values({ organizationId: ctx.organizationId, name: input.name, condition: input.condition }).returning();
  await recordAudit(tx, ctx, { action: 'segment.created', resourceType: 'segment', resourceId: row.id, changes: { name: row.name } });
  return toDto(row);
}

export async function updateSegment(tx: Tx, ctx: TenantContext, id: string, input: SegmentIn) {
  const [row] = await tx
    .update(segments)
    .set({ name: input.name, condition: input.condition, updatedAt: sql`now()` })
    .where(and(eq(segments.organizationId, ctx.organizationId), eq(segments.id, id)))
    .returning();
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'segment.updated', resourceType: 'segment', resourceId: id, changes: { name: row.name } });
  return toDto(row);
}

export async function deleteSegment(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.delete(segments).where(and(eq(segments.organizationId, ctx.organizationId), eq(segments.id, id))).returning({ id: segments.id, name: segments.name });
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'segment.deleted', resourceType: 'segment', resourceId: id, changes: { name: row.name } });
}

/** How many of the organization's customers match, and the newest few: computed in SQL, never loaded whole. */
export async function previewSegment(tx: Tx, ctx: TenantContext, condition: Condition) {
  const org = ctx.organizationId;
  // Not wrapped in coalesce: at the top of WHERE a NULL already excludes the row, and an event condition left
  // bare (not exists …) can become an anti- or semi-join instead of a subplan run per customer.
  const where = sql`c.organization_id = ${org} and ${compileCondition(org, condition)}`;
  const counted = await queryOne<{ n: number }>(tx, sql`select count(*)::int as n from customers c where ${where}`);
  const sample = await query<{ id: string; email: string | null; phone: string | null; firstName: string | null; lastName: string | null }>(
    tx,
    sql`select c.id, c.email, c.phone, c.first_name as "firstName", c.last_name as "lastName" from customers c where ${where}
      order by c.created_at desc, c.id desc limit ${SAMPLE}`,
  );
  return { count: counted?.n ?? 0, sample };
}

/** A saved segment's live count and sample. */
export async function segmentMembers(tx: Tx, ctx: TenantContext, id: string) {
  const seg = await getSegment(tx, ctx, id);
  return previewSegment(tx, ctx, seg.condition as Condition);
}
