import { and, eq, inArray, sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { keysetPage } from '../../lib/pagination.js';
import { recordAudit } from '../audit/service.js';
import { agentsOf, checkFlowGraph, type FlowDefinition } from './flow.js';
import { boundNumbers } from './numbers.js';
import type { IvrFlowInput, IvrFlowListQuery } from './schemas.js';

const { ivrFlows, ivrFlowVersions, memberships } = schema;
type Row = typeof ivrFlows.$inferSelect;
type Numbers = { id: string; number: string }[];

export const toIvrFlowDto = (f: Row, phoneNumbers: Numbers = []) => ({
  id: f.id,
  name: f.name,
  active: f.active,
  version: f.currentVersion,
  definition: f.definition,
  phoneNumbers,
  createdAt: f.createdAt.toISOString(),
  updatedAt: f.updatedAt.toISOString(),
});

const byKey = (ctx: TenantContext, id: string) => and(eq(ivrFlows.organizationId, ctx.organizationId), eq(ivrFlows.id, id));

/** The same JSON whatever the key order (jsonb stores keys in its own order). */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v);
}

/** The graph rules, and every agent a dial node names is a member of the organization: 400 with each offending path. */
async function validateFlow(tx: Tx, ctx: TenantContext, flow: FlowDefinition) {
  const issues = checkFlowGraph(flow);
  const agents = agentsOf(flow);
  if (agents.length) {
    const found = await tx
      .select({ userId: memberships.userId })
      .from(memberships)
      .where(and(eq(memberships.organizationId, ctx.organizationId), inArray(memberships.userId, agents)));
    const members = new Set(found.map((m) => m.userId));
    for (const [id, node] of Object.entries(flow.nodes)) {
      if (node.kind === 'dial' && node.agentUserId && !members.has(node.agentUserId)) {
        issues.push({ path: `nodes.${id}.agentUserId`, message: 'No member of the organization has this user id' });
      }
    }
  }
  if (issues.length) {
    throw new AppError('validation_failed', 'Validation failed', issues.map((i) => ({ in: 'body', path: `definition.${i.path}`, message: i.message })));
  }
}

export async function listIvrFlows(tx: Tx, ctx: TenantContext, q: IvrFlowListQuery) {
  const filters = [eq(ivrFlows.organizationId, ctx.organizationId), q.active ? eq(ivrFlows.active, q.active === 'true') : undefined];
  const { rows, nextCursor } = await keysetPage(tx, ivrFlows, q, filters);
  const numbers = await boundNumbers(tx, ctx.organizationId, rows.map((r) => r.id));
  return { data: rows.map((r) => toIvrFlowDto(r, numbers.get(r.id))), nextCursor };
}

async function withNumbers(tx: Tx, ctx: TenantContext, row: Row) {
  return toIvrFlowDto(row, (await boundNumbers(tx, ctx.organizationId, [row.id])).get(row.id));
}

export async function getIvrFlow(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.select().from(ivrFlows).where(byKey(ctx, id));
  if (!row) throw notFound();
  return withNumbers(tx, ctx, row);
}

export async function createIvrFlow(tx: Tx, ctx: TenantContext, input: Required<Pick<IvrFlowInput, 'name' | 'definition'>> & IvrFlowInput) {
  await validateFlow(tx, ctx, input.definition);
  const [row] = await tx
    .insert(ivrFlows)
    .values({ organizationId: ctx.organizationId, name: input.name, definition: input.definition, active: input.active ?? true, currentVersion: 1 })
    .returning();
  await tx.insert(ivrFlowVersions).values({ organizationId: ctx.organizationId, flowId: row.id, version: 1, definition: input.definition });
  await recordAudit(tx, ctx, { action: 'ivr_flow.created', resourceType: 'ivr_flow', resourceId: row.id, changes: { name: row.name, version: 1, active: row.active } });
  return toIvrFlowDto(row);
}

/**
 * Edits a flow. A definition that differs from the current one becomes a new version (the old ones
 * stay, for the calls still on them); the row is locked first so two edits cannot take one number.
 */
export async function updateIvrFlow(tx: Tx, ctx: TenantContext, id: string, input: IvrFlowInput, mode: 'replace' | 'patch') {
  const [current] = await tx.select().from(ivrFlows).where(byKey(ctx, id)).for('update');
  if (!current) throw notFound();
  const changes: Partial<typeof ivrFlows.$inferInsert> = {};
  if (input.name !== undefined) changes.name = input.name;
  if (input.active !== undefined || mode === 'replace') changes.active = input.active ?? true;
  if (input.definition && canonical(input.definition) !== canonical(current.definition)) {
    await validateFlow(tx, ctx, input.definition);
    changes.definition = input.definition;
    changes.currentVersion = current.currentVersion + 1;
    await tx.insert(ivrFlowVersions).values({ organizationId: ctx.organizationId, flowId: id, version: changes.currentVersion, definition: input.definition });
  }
  const [row] = await tx.update(ivrFlows).set({ ...changes, updatedAt: sql`now()` }).where(byKey(ctx, id)).returning();
  const { definition: _, ...audited } = changes;
  await recordAudit(tx, ctx, { action: 'ivr_flow.updated', resourceType: 'ivr_flow', resourceId: id, changes: { ...audited, ...(changes.definition && { version: changes.currentVersion }) } });
  return withNumbers(tx, ctx, row);
}

/**
 * A flow a number still answers with cannot be deleted (409): unbind the number first. One statement
 * refuses it atomically; a follow-up read only tells "bound" (409, naming the numbers) from "not ours" (404).
 */
export async function deleteIvrFlow(tx: Tx, ctx: TenantContext, id: string) {
  const p = schema.phoneNumbers;
  const unbound = sql`not exists (select 1 from ${p} where ${p.organizationId} = ${ctx.organizationId} and ${p.ivrFlowId} = ${id})`;
  const [row] = await tx.delete(ivrFlows).where(and(byKey(ctx, id), unbound)).returning({ name: ivrFlows.name, version: ivrFlows.currentVersion });
  if (!row) {
    const [exists] = await tx.select({ id: ivrFlows.id }).from(ivrFlows).where(byKey(ctx, id));
    const bound = exists ? ((await boundNumbers(tx, ctx.organizationId, [id])).get(id) ?? []) : [];
    if (exists) throw new AppError('conflict', 'The flow answers phone numbers: bind them to another flow (or none) first', { phoneNumbers: bound });
    throw notFound();
  }
  await recordAudit(tx, ctx, { action: 'ivr_flow.deleted', resourceType: 'ivr_flow', resourceId: id, changes: { name: row.name, version: row.version } });
}

/** Every saved version of a flow, newest first (each edit commits after the one before it). */
export async function listIvrFlowVersions(tx: Tx, ctx: TenantContext, id: string, q: { limit: number; cursor?: string }) {
  const [flow] = await tx.select({ current: ivrFlows.currentVersion }).from(ivrFlows).where(byKey(ctx, id));
  if (!flow) throw notFound();
  const v = ivrFlowVersions;
  const { rows, nextCursor } = await keysetPage(tx, v, q, [eq(v.organizationId, ctx.organizationId), eq(v.flowId, id)]);
  return {
    data: rows.map((r) => ({ version: r.version, current: r.version === flow.current, definition: r.definition, createdAt: r.createdAt.toISOString() })),
    nextCursor,
  };
}
