import { and, eq, inArray, notInArray, sql, type SQL } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, conflictOr404, notFound } from '../../http/errors.js';
import { writableFields } from '../../lib/fields.js';
import { keysetPage } from '../../lib/pagination.js';
import { arr, query } from '../../db/sql.js';
import { recordAudit } from '../audit/service.js';
import { campaignRefusal, LOCKED_STATUSES } from '../../lib/campaigns.js';
import type { SmsCampaignInput, SmsCampaignListQuery } from './schemas.js';
import { requireAudienceSegment } from '../segments/index.js';
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

/**
 * Stats of the given campaigns from the per-status counters (0016_scale.sql); opted-out recipients
 * from the organization's opted-out customers that have a message in the campaign (an index probe each).
 */
async function statsFor(tx: Tx, ctx: TenantContext, campaignIds: string[]): Promise<Map<string, Stats>> {
  if (!campaignIds.length) return new Map();
  const org = ctx.organizationId;
  const rows = await query<{ campaign_id: string } & Stats>(
    tx,
    sql`select c.campaign_id, c.recipients, c.sent, c.delivered, c.failed, coalesce(o.opted_out, 0)::int as "optedOut"
      from (select campaign_id, sum(n)::int as recipients,
              coalesce(sum(n) filter (where status in ('sent', 'delivered', 'undelivered')), 0)::int as sent,
              coalesce(sum(n) filter (where status = 'delivered'), 0)::int as delivered,
              coalesce(sum(n) filter (where status in ('failed', 'undelivered')), 0)::int as failed
            from sms_campaign_status_counts where organization_id = ${org} and campaign_id = any(${arr(campaignIds)}::uuid[]) group by campaign_id) c
      left join lateral (${optedOutCount(org, sql`c.campaign_id`)}) o on true`,
  );
  return new Map(rows.map(({ campaign_id, ...s }) => [campaign_id, s]));
}

/** Recipients of a campaign whose customer has opted out of SMS since (or before) the send. */
export const optedOutCount = (org: string, campaignId: SQL) =>
  sql`select count(*)::int as opted_out from customers cu where cu.organization_id = ${org} and cu.sms_opt_in = false
      and exists (select 1 from sms_messages m where m.organization_id = ${org} and m.campaign_id = ${campaignId} and m.customer_id = cu.id)`;

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
  await requireAudienceSegment(tx, ctx.organizationId, input.audience?.segmentId);
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
  // After the keyed update, so another organization's campaign id stays a 404; throwing rolls the update back.
  await requireAudienceSegment(tx, ctx.organizationId, input.audience?.segmentId);
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
