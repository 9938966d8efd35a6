import { and, eq, inArray, sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import { roleAtLeast, type TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { keysetPage } from '../../lib/pagination.js';
import { recordAudit } from '../audit/service.js';

// An agent's phone belongs to their membership: it goes when they leave the organization.
const { callAgents, memberships } = schema;
type Row = typeof callAgents.$inferSelect;

/** Agents' phones, newest first. */
export async function listAgents(tx: Tx, ctx: TenantContext, q: { limit: number; cursor?: string }) {
  const { rows, nextCursor } = await keysetPage(tx, callAgents, q, [eq(callAgents.organizationId, ctx.organizationId)]);
  const users = rows.length
    ? await tx
        .select({ id: memberships.id, userId: memberships.userId })
        .from(memberships)
        .where(and(eq(memberships.organizationId, ctx.organizationId), inArray(memberships.id, rows.map((r) => r.membershipId))))
    : [];
  const userOf = new Map(users.map((m) => [m.id, m.userId]));
  return { data: rows.map((r) => toAgentDto(r, userOf.get(r.membershipId)!)), nextCursor };
}

const toAgentDto = (r: Row, userId: string) => ({ userId, phoneNumber: r.phoneNumber, updatedAt: r.updatedAt.toISOString() });

/** The user's membership (else 404); members change their own phone, admins anyone's. */
async function membershipOf(tx: Tx, ctx: TenantContext, userId: string) {
  const [m] = await tx.select({ id: memberships.id }).from(memberships).where(and(eq(memberships.organizationId, ctx.organizationId), eq(memberships.userId, userId)));
  if (!m) throw notFound();
  const self = ctx.actor.type === 'user' && ctx.actor.id === userId;
  if (!self && !roleAtLeast(ctx.role, 'admin')) throw new AppError('forbidden', "Forbidden - Only admins change another member's phone");
  return m.id;
}

export async function setAgentPhone(tx: Tx, ctx: TenantContext, userId: string, phoneNumber: string) {
  const membershipId = await membershipOf(tx, ctx, userId);
  const [row] = await tx
    .insert(callAgents)
    .values({ organizationId: ctx.organizationId, membershipId, phoneNumber })
    .onConflictDoUpdate({ target: [callAgents.organizationId, callAgents.membershipId], set: { phoneNumber, updatedAt: sql`now()` } })
    .returning();
  await recordAudit(tx, ctx, { action: 'call_agent.phone_set', resourceType: 'user', resourceId: userId, changes: { phoneNumber } });
  return toAgentDto(row, userId);
}

export async function removeAgentPhone(tx: Tx, ctx: TenantContext, userId: string) {
  const membershipId = await membershipOf(tx, ctx, userId);
  const rows = await tx.delete(callAgents).where(and(eq(callAgents.organizationId, ctx.organizationId), eq(callAgents.membershipId, membershipId))).returning();
  if (!rows.length) throw notFound();
  await recordAudit(tx, ctx, { action: 'call_agent.phone_removed', resourceType: 'user', resourceId: userId, changes: { phoneNumber: rows[0].phoneNumber } });
}

/** Phones of these agents, by user id (for dial nodes and outbound calls). */
export async function agentPhones(tx: Tx, organizationId: string, userIds: string[]): Promise<Record<string, string>> {
  if (!userIds.length) return {};
  const rows = await tx
    .select({ userId: memberships.userId, phone: callAgents.phoneNumber })
    .from(callAgents)
    .innerJoin(memberships, and(eq(memberships.organizationId, callAgents.organizationId), eq(memberships.id, callAgents.membershipId)))
    .where(and(eq(callAgents.organizationId, organizationId), inArray(memberships.userId, userIds)));
  return Object.fromEntries(rows.map((r) => [r.userId, r.phone]));
}
