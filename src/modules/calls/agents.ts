import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import { roleAtLeast, type TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { decodeCursor, encodeCursor } from '../../lib/pagination.js';
import { recordAudit } from '../audit/service.js';

const { callAgents, memberships } = schema;
type Row = typeof callAgents.$inferSelect;
const toAgentDto = (r: Row) => ({ userId: r.userId, phoneNumber: r.phoneNumber, updatedAt: r.updatedAt.toISOString() });

/** Agents' phones, newest first; keyset over (created_at, user_id) since an agent's key is its user. */
export async function listAgents(tx: Tx, ctx: TenantContext, q: { limit: number; cursor?: string }) {
  const a = callAgents;
  const cursor = q.cursor ? decodeCursor(q.cursor) : null;
  const ts = cursor && sql`${cursor.ts}::timestamptz`;
  const rows = await tx
    .select({ row: a, cursor: sql<string>`${a.createdAt}::text` })
    .from(a)
    .where(and(eq(a.organizationId, ctx.organizationId), cursor ? or(lt(a.createdAt, ts!), and(eq(a.createdAt, ts!), lt(a.userId, cursor.id))) : undefined))
    .orderBy(desc(a.createdAt), desc(a.userId))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return { data: page.map((r) => toAgentDto(r.row)), nextCursor: rows.length > q.limit && last ? encodeCursor(last.cursor, last.row.userId) : null };
}

/** The user must be a member (else 404); members set their own phone, admins anyone's. */
async function agentOf(tx: Tx, ctx: TenantContext, userId: string) {
  const [m] = await tx.select({ id: memberships.id }).from(memberships).where(and(eq(memberships.organizationId, ctx.organizationId), eq(memberships.userId, userId)));
  if (!m) throw notFound();
  const self = ctx.actor.type === 'user' && ctx.actor.id === userId;
  if (!self && !roleAtLeast(ctx.role, 'admin')) throw new AppError('forbidden', "Forbidden - Only admins change another member's phone");
}

export async function setAgentPhone(tx: Tx, ctx: TenantContext, userId: string, phoneNumber: string) {
  await agentOf(tx, ctx, userId);
  const [row] = await tx
    .insert(callAgents)
    .values({ organizationId: ctx.organizationId, userId, phoneNumber })
    .onConflictDoUpdate({ target: [callAgents.organizationId, callAgents.userId], set: { phoneNumber, updatedAt: sql`now()` } })
    .returning();
  await recordAudit(tx, ctx, { action: 'call_agent.phone_set', resourceType: 'user', resourceId: userId, changes: { phoneNumber } });
  return toAgentDto(row);
}

export async function removeAgentPhone(tx: Tx, ctx: TenantContext, userId: string) {
  await agentOf(tx, ctx, userId);
  const rows = await tx.delete(callAgents).where(and(eq(callAgents.organizationId, ctx.organizationId), eq(callAgents.userId, userId))).returning();
  if (!rows.length) throw notFound();
  await recordAudit(tx, ctx, { action: 'call_agent.phone_removed', resourceType: 'user', resourceId: userId, changes: { phoneNumber: rows[0].phoneNumber } });
}

/** Phones of these agents (for dial nodes and outbound calls). */
export async function agentPhones(tx: Tx, organizationId: string, userIds: string[]): Promise<Record<string, string>> {
  if (!userIds.length) return {};
  const rows = await tx
    .select({ userId: callAgents.userId, phone: callAgents.phoneNumber })
    .from(callAgents)
    .where(and(eq(callAgents.organizationId, organizationId), sql`${callAgents.userId} = any(${sql.param(userIds)}::uuid[])`));
  return Object.fromEntries(rows.map((r) => [r.userId, r.phone]));
}
