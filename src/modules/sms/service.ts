import { and, eq, inArray, notInArray, sql, type SQL } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, conflictOr404, notFound } from '../../http/errors.js';
import { writableFields } from '../../lib/fields.js';
import { keysetPage } from '../../lib/pagination.js';
import { recordAudit } from '../audit/service.js';
import { campaignRefusal, LOCKED_STATUSES } from '../../lib/campaigns.js';
import type { SmsCampaignInput, SmsCampaignListQuery } from './schemas.js';
import { segmentInfo } from './segments.js';

const { smsCampaigns, smsMessages, customers } = schema;
type Row = typeof smsCampaigns.$inferSelect;
type Stats = { recipients: number; sent: number; delivered: number; failed: number; optedOut: number };

const pick = ({ segments, encoding }: { segments: number; encoding: 'GSM-7' | 'UCS-2' }) => ({ segments, encoding });
const NO_STATS: Stats = { recipients: 0, sent: 0, delivered: 0, failed: 0, optedOut: 0 };

export const toSmsCampaignDto = (c: Row, stats: Stats = NO_STATS) => ({
  id: c.id,
  name: c.name,
  body: c.body,
  audience: c.audience,
  status: c.status,
  scheduledAt: c.scheduledAt?.toISOString() ?? null,
  sentAt: c.sentAt?.toISOString() ?? null,
  stats,
  ...pick(segmentInfo(c.body)),
  createdAt: c.createdAt.toISOString(),
  updatedAt: c.updatedAt.toISOString(),
});

/** Stats of the given campaigns, counted from their message rows in one query. */
async function statsFor(tx: Tx, ctx: TenantContext, campaignIds: string[]): Promise<Map<string, Stats>> {
  if (!campaignIds.length) return new Map();
  const m = smsMessages;
  const n = (cond: SQL) => sql<number>`count(*) filter (where ${cond})::int`;
  const rows = await tx
    .select({
      campaignId: m.campaignId,
      recipients: sql<number>`count(*)::int`,
      sent: n(sql`${m.status} in ('sent', 'delivered', 'undelivered')`),
      delivered: n(sql`${m.status} = 'delivered'`),
      failed: n(sql`${m.status} in ('failed', 'undelivered')`),
      optedOut: n(sql`${customers.smsOptIn} = false`),
    })
    .from(m)
    .leftJoin(customers, and(eq(customers.organizationId, m.organizationId), eq(customers.id, m.customerId)))
    .where(and(eq(m.organizationId, ctx.organizationId), inArray(m.campaignId, campaignIds)))
    .groupBy(m.campaignId);
  return new Map(rows.map(({ campaignId, ...s }) => [campaignId!, s]));
}

async function withStats(tx: Tx, ctx: TenantContext, row: Row) {
  return toSmsCampaignDto(row, (await statsFor(tx, ctx, [row.id])).get(row.id));
}

export async function listSmsCampaigns(tx: Tx, ctx: TenantContext, q: SmsCampaignListQuery) {
  const c = smsCampaigns;
  const filters: (SQL | undefined)[] = [eq(c.organizationId, ctx.organizationId)];
  if (q.status) filters.push(eq(c.status, q.status));
  const { rows, nextCursor } = await keysetPage(tx, c, q, filters);
  const stats = await statsFor(tx, ctx, rows.map((r) => r.id));
  return { data: rows.map((r) => toSmsCampaignDto(r, stats.get(r.id))), nextCursor };
}

const byKey = (ctx: TenantContext, id: string) => and(eq(smsCampaigns.organizationId, ctx.organizationId), eq(smsCampaigns.id, id));

export async function getSmsCampaign(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.select().from(smsCampaigns).where(byKey(ctx, id));
  if (!row) throw notFound();
  return withStats(tx, ctx, row);
}

/** Column values for an input; `replace` resets omitted fields (PUT), otherwise only given fields change (PATCH). */
function columns(input: SmsCampaignInput, replace: boolean): Partial<typeof smsCampaigns.$inferInsert> {
  const { scheduledAt, ...rest } = writableFields(input, { name: '', body: '', audience: {}, status: 'draft', scheduledAt: null }, replace);
  return { ...rest, ...(scheduledAt !== undefined && { scheduledAt: scheduledAt === null ? null : new Date(scheduledAt as string) }) } as Partial<typeof smsCampaigns.$inferInsert>;
}

export async function createSmsCampaign(tx: Tx, ctx: TenantContext, input: SmsCampaignInput) {
  const [row] = await tx
    .insert(smsCampaigns)
    .values({ ...columns(input, true), name: input.name!, organizationId: ctx.organizationId })
    .returning();
  await recordAudit(tx, ctx, { action: 'sms_campaign.created', resourceType: 'sms_campaign', resourceId: row.id, changes: { ...input } });
  return toSmsCampaignDto(row);
}

/**
 * The change itself is one statement that refuses locked campaigns in its WHERE. When it matches
 * nothing, a read tells the two reasons apart: the row exists (so it was locked) → 409, else 404.
 * The read only explains a refusal already made atomically; it never decides a write.
 */
const refusal = (tx: Tx, ctx: TenantContext, id: string, verb: string) =>
  conflictOr404(tx.select({ status: smsCampaigns.status }).from(smsCampaigns).where(byKey(ctx, id)).then((r) => r[0]), (c) => campaignRefusal(c.status, verb));

const editable = () => notInArray(smsCampaigns.status, [...LOCKED_STATUSES]);

export async function updateSmsCampaign(tx: Tx, ctx: TenantContext, id: string, input: SmsCampaignInput, mode: 'replace' | 'patch') {
  const [row] = await tx
    .update(smsCampaigns)
    .set({ ...columns(input, mode === 'replace'), updatedAt: sql`now()` })
    .where(and(byKey(ctx, id), editable()))
    .returning();
  if (!row) return refusal(tx, ctx, id, 'edited');
  // PATCH can move a campaign to scheduled without a time; throwing rolls the update back.
  if (row.status === 'scheduled' && !row.scheduledAt) {
    throw new AppError('validation_failed', 'Validation failed', [{ in: 'body', path: 'scheduledAt', message: 'A scheduled campaign needs scheduledAt' }]);
  }
  await recordAudit(tx, ctx, { action: 'sms_campaign.updated', resourceType: 'sms_campaign', resourceId: id, changes: { ...input } });
  return withStats(tx, ctx, row);
}

export async function deleteSmsCampaign(tx: Tx, ctx: TenantContext, id: string) {
  const rows = await tx
    .delete(smsCampaigns)
    .where(and(byKey(ctx, id), editable()))
    .returning({ id: smsCampaigns.id, name: smsCampaigns.name, status: smsCampaigns.status });
  if (!rows.length) return refusal(tx, ctx, id, 'deleted');
  await recordAudit(tx, ctx, { action: 'sms_campaign.deleted', resourceType: 'sms_campaign', resourceId: id, changes: { name: rows[0].name, status: rows[0].status } });
}
