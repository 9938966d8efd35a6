import { and, asc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { keysetPage } from '../../lib/pagination.js';
import { PHONE_KEY } from '../../lib/phone.js';
import { recordAudit } from '../audit/service.js';
import type { CallListQuery, CallPatch, LogCall } from './schemas.js';
import { FINAL_STATUSES } from './schemas.js';

const { calls, callSteps, customers, memberships } = schema;
export type CallRow = typeof calls.$inferSelect;

const iso = (d: Date | null) => d?.toISOString() ?? null;

export const toCallDto = (c: CallRow) => ({
  id: c.id,
  direction: c.direction,
  from: c.fromNumber,
  to: c.toNumber,
  status: c.status,
  customerId: c.customerId,
  agentUserId: c.agentUserId,
  agentNumber: c.agentNumber,
  ivrFlowId: c.ivrFlowId,
  ivrFlowVersion: c.ivrFlowVersion,
  providerCallId: c.providerCallId,
  durationSeconds: c.durationSeconds,
  notes: c.notes,
  disposition: c.disposition,
  recordingUrl: c.recordingUrl,
  recordingDurationSeconds: c.recordingDurationSeconds,
  transcription: c.transcription,
  errorCode: c.errorCode,
  startedAt: iso(c.startedAt),
  answeredAt: iso(c.answeredAt),
  endedAt: iso(c.endedAt),
  createdAt: c.createdAt.toISOString(),
  updatedAt: c.updatedAt.toISOString(),
});

const bodyIssue = (path: string, message: string) => new AppError('validation_failed', 'Validation failed', [{ in: 'body', path, message }]);

/**
 * The organization's customer with this phone number (E.164), the most recent when several share it.
 * Stored numbers are compared in their E.164 spelling (PHONE_KEY), so "+1 (415) 555-0123" matches +14155550123.
 */
export async function customerByPhone(tx: Tx, organizationId: string, e164: string): Promise<string | null> {
  const [row] = await tx
    .select({ id: customers.id })
    .from(customers)
    .where(and(eq(customers.organizationId, organizationId), sql`${PHONE_KEY} = ${e164}`))
    .orderBy(sql`${customers.createdAt} desc`)
    .limit(1);
  return row?.id ?? null;
}

export async function assertMember(tx: Tx, organizationId: string, userId: string, path: string) {
  const [m] = await tx.select({ id: memberships.id }).from(memberships).where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)));
  if (!m) throw bodyIssue(path, 'No member of the organization has this user id');
}

export async function assertCustomer(tx: Tx, organizationId: string, customerId: string, path: string) {
  const [c] = await tx.select({ id: customers.id }).from(customers).where(and(eq(customers.organizationId, organizationId), eq(customers.id, customerId)));
  if (!c) throw bodyIssue(path, 'No customer of the organization has this id');
}

/** A date alone is midnight UTC; a date-time keeps its offset. */
const startOf = (v: string) => sql`${/^\d{4}-\d{2}-\d{2}$/.test(v) ? `${v}T00:00:00Z` : v}::timestamptz`;

export async function listCalls(tx: Tx, ctx: TenantContext, q: CallListQuery) {
  const started = sql`coalesce(${calls.startedAt}, ${calls.createdAt})`;
  const filters: (SQL | undefined)[] = [
    eq(calls.organizationId, ctx.organizationId),
    q.direction ? eq(calls.direction, q.direction) : undefined,
    q.status ? eq(calls.status, q.status) : undefined,
    q.agentUserId ? eq(calls.agentUserId, q.agentUserId) : undefined,
    q.customerId ? eq(calls.customerId, q.customerId) : undefined,
    q.from ? gte(started, startOf(q.from)) : undefined,
    q.to ? lt(started, startOf(q.to)) : undefined,
  ];
  const { rows, nextCursor } = await keysetPage(tx, calls, q, filters);
  return { data: rows.map(toCallDto), nextCursor };
}

const byKey = (organizationId: string, id: string) => and(eq(calls.organizationId, organizationId), eq(calls.id, id));

export async function getCall(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.select().from(calls).where(byKey(ctx.organizationId, id));
  if (!row) throw notFound();
  const steps = await tx.select().from(callSteps).where(and(eq(callSteps.organizationId, ctx.organizationId), eq(callSteps.callId, id))).orderBy(asc(callSteps.seq));
  return {
    ...toCallDto(row),
    steps: steps.map((s) => ({ seq: s.seq, nodeId: s.nodeId, kind: s.kind, digits: s.digits, detail: s.detail, at: s.createdAt.toISOString() })),
  };
}

/** A call an agent logs by hand (taken on another phone): linked to the customer by the other party's number. */
export async function logCall(tx: Tx, ctx: TenantContext, input: LogCall) {
  const agentUserId = input.agentUserId ?? (ctx.actor.type === 'user' ? ctx.actor.id : null);
  if (input.agentUserId) await assertMember(tx, ctx.organizationId, input.agentUserId, 'agentUserId');
  if (input.customerId) await assertCustomer(tx, ctx.organizationId, input.customerId, 'customerId');
  const customerId = input.customerId ?? (await customerByPhone(tx, ctx.organizationId, input.direction === 'inbound' ? input.from : input.to));
  const startedAt = input.startedAt ? new Date(input.startedAt) : new Date();
  const final = FINAL_STATUSES.includes(input.status);
  const [row] = await tx
    .insert(calls)
    .values({
      organizationId: ctx.organizationId,
      direction: input.direction,
      fromNumber: input.from,
      toNumber: input.to,
      status: input.status,
      customerId,
      agentUserId,
      durationSeconds: input.durationSeconds ?? null,
      notes: input.notes ?? null,
      disposition: input.disposition ?? null,
      startedAt,
      endedAt: final && input.durationSeconds !== undefined ? new Date(startedAt.getTime() + input.durationSeconds * 1000) : null,
    })
    .returning();
  await recordAudit(tx, ctx, { action: 'call.logged', resourceType: 'call', resourceId: row.id, changes: { direction: row.direction, status: row.status, customerId } });
  return toCallDto(row);
}

export async function updateCall(tx: Tx, ctx: TenantContext, id: string, input: CallPatch) {
  if (input.agentUserId) await assertMember(tx, ctx.organizationId, input.agentUserId, 'agentUserId');
  if (input.customerId) await assertCustomer(tx, ctx.organizationId, input.customerId, 'customerId');
  const set: Partial<typeof calls.$inferInsert> = {};
  for (const k of ['notes', 'disposition', 'agentUserId', 'customerId'] as const) if (input[k] !== undefined) set[k] = input[k];
  const [row] = await tx.update(calls).set({ ...set, updatedAt: sql`now()` }).where(byKey(ctx.organizationId, id)).returning();
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'call.updated', resourceType: 'call', resourceId: id, changes: { ...input } });
  return getCall(tx, ctx, id);
}
