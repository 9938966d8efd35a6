import { and, eq, inArray, notInArray, sql, type SQL } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { conflictOr404, notFound } from '../../http/errors.js';
import { campaignRefusal, LOCKED_STATUSES, type Audience } from '../../lib/campaigns.js';
import { writableFields } from '../../lib/fields.js';
import { keysetPage } from '../../lib/pagination.js';
import { cancelQueuedJob, rescheduleQueuedJob } from '../../jobs/queue.js';
import { recordAudit } from '../audit/service.js';
import { audienceSegmentFilter, requireAudienceSegment } from '../segments/index.js';
import { requireSender } from '../senders/identity.js';
import { arr, query, queryOne } from '../../db/sql.js';
import { campaignJobKey, emailAudience } from './campaign-channel.js';
import type { CampaignInput, CampaignListQuery, CampaignStats } from './campaign-schemas.js';

const { emailCampaigns: campaigns, emailMessages: messages } = schema;
type Row = typeof campaigns.$inferSelect;

const emptyStats = (): CampaignStats => ({ recipients: 0, sent: 0, delivered: 0, opened: 0, clicked: 0, bounced: 0, complained: 0, unsubscribed: 0, failed: 0 });
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export const toCampaignDto = (c: Row, stats: CampaignStats = emptyStats()) => ({
  id: c.id,
  name: c.name,
  subject: c.subject,
  preheader: c.preheader,
  fromName: c.fromName,
  fromEmail: c.fromEmail,
  replyTo: c.replyTo,
  html: c.html,
  text: c.text,
  audience: c.audience,
  status: c.status,
  scheduledAt: iso(c.scheduledAt),
  startedAt: iso(c.startedAt),
  sentAt: iso(c.sentAt),
  cancelledAt: iso(c.cancelledAt),
  failedAt: iso(c.failedAt),
  error: c.error,
  stats,
  createdAt: c.createdAt.toISOString(),
  updatedAt: c.updatedAt.toISOString(),
});

/**
 * Stats from the counters the message triggers keep (0016_scale.sql: per status, and per hour of each
 * message timestamp): a few rows per campaign, whatever its size.
 */
export async function campaignStats(tx: Tx, organizationId: string, campaignIds: string[]): Promise<Map<string, CampaignStats>> {
  const out = new Map<string, CampaignStats>();
  if (!campaignIds.length) return out;
  const ids = arr(campaignIds);
  const statuses = await query<{ campaign_id: string; recipients: number; failed: number }>(
    tx,
    sql`select campaign_id, sum(n)::int as recipients, coalesce(sum(n) filter (where status = 'failed'), 0)::int as failed
      from email_campaign_status_counts where organization_id = ${organizationId} and campaign_id = any(${ids}::uuid[]) group by campaign_id`,
  );
  const funnel = await query<{ campaign_id: string } & Record<string, number>>(
    tx,
    sql`select campaign_id, sum(sent)::int as sent, sum(delivered)::int as delivered, sum(opened)::int as opened, sum(clicked)::int as clicked,
        sum(bounced)::int as bounced, sum(complained)::int as complained, sum(unsubscribed)::int as unsubscribed
      from email_campaign_hourly where organization_id = ${organizationId} and campaign_id = any(${ids}::uuid[]) group by campaign_id`,
  );
  for (const r of statuses) out.set(r.campaign_id, { ...emptyStats(), recipients: r.recipients, failed: r.failed });
  for (const { campaign_id, ...f } of funnel) {
    const s = out.get(campaign_id) ?? emptyStats();
    out.set(campaign_id, { ...s, ...Object.fromEntries(Object.entries(f).map(([k, v]) => [k, Number(v)])) });
  }
  return out;
}

export async function listCampaigns(tx: Tx, ctx: TenantContext, q: CampaignListQuery) {
  const filters: (SQL | undefined)[] = [eq(campaigns.organizationId, ctx.organizationId)];
  if (q.status) filters.push(eq(campaigns.status, q.status));
  const { rows, nextCursor } = await keysetPage(tx, campaigns, q, filters);
  const stats = await campaignStats(tx, ctx.organizationId, rows.map((r) => r.id));
  return { data: rows.map((r) => toCampaignDto(r, stats.get(r.id))), nextCursor };
}

export async function findCampaign(tx: Tx, organizationId: string, id: string) {
  const [row] = await tx.select().from(campaigns).where(and(eq(campaigns.organizationId, organizationId), eq(campaigns.id, id)));
  return row;
}

export async function getCampaign(tx: Tx, ctx: TenantContext, id: string) {
  const row = await findCampaign(tx, ctx.organizationId, id);
  if (!row) throw notFound();
  return toCampaignDto(row, (await campaignStats(tx, ctx.organizationId, [id])).get(id));
}

const DEFAULTS = { name: undefined, subject: '', preheader: null, fromName: null, fromEmail: null, replyTo: null, html: '', text: null, audience: {}, scheduledAt: null };

function columns(input: CampaignInput, replace: boolean) {
  const { scheduledAt, ...rest } = writableFields(input, DEFAULTS, replace);
  return { ...rest, ...(scheduledAt !== undefined && { scheduledAt: scheduledAt === null ? null : new Date(scheduledAt as string) }) } as Partial<typeof campaigns.$inferInsert>;
}

export async function createCampaign(tx: Tx, ctx: TenantContext, input: CampaignInput, config: Config) {
  if (input.fromEmail) await requireSender(tx, ctx.organizationId, input.fromEmail, config);
  await requireAudienceSegment(tx, ctx.organizationId, input.audience?.segmentId);
  const [row] = await tx
    .insert(campaigns)
    .values({ ...columns(input, true), name: input.name!, organizationId: ctx.organizationId })
    .returning();
  await recordAudit(tx, ctx, { action: 'email_campaign.created', resourceType: 'email_campaign', resourceId: row.id, changes: { name: row.name } });
  return toCampaignDto(row);
}

/** 404 when the campaign is not this organization's, 409 when it exists but is sending or sent. */
const refused = (tx: Tx, ctx: TenantContext, id: string, verb: string) =>
  conflictOr404(findCampaign(tx, ctx.organizationId, id), (c) => campaignRefusal(c.status, verb));

/** One statement keyed on (organization_id, id) that also refuses a sending or sent campaign. */
export async function updateCampaign(tx: Tx, ctx: TenantContext, id: string, input: CampaignInput, mode: 'replace' | 'patch', config: Config) {
  const [row] = await tx
    .update(campaigns)
    .set({ ...columns(input, mode === 'replace'), updatedAt: sql`now()` })
    .where(and(eq(campaigns.organizationId, ctx.organizationId), eq(campaigns.id, id), notInArray(campaigns.status, [...LOCKED_STATUSES])))
    .returning();
  if (!row) return refused(tx, ctx, id, 'edited');
  // After the keyed update, so another organization's id stays a 404; throwing rolls the update back.
  if (input.fromEmail) await requireSender(tx, ctx.organizationId, input.fromEmail, config);
  await requireAudienceSegment(tx, ctx.organizationId, input.audience?.segmentId);
  if (row.status === 'scheduled') {
    // A scheduled send waits in the job table; it follows the campaign's new time.
    await rescheduleQueuedJob(tx, ctx.organizationId, campaignJobKey(id), row.scheduledAt);
  }
  await recordAudit(tx, ctx, { action: 'email_campaign.updated', resourceType: 'email_campaign', resourceId: id, changes: { fields: Object.keys(input) } });
  return toCampaignDto(row, (await campaignStats(tx, ctx.organizationId, [id])).get(id));
}

export async function deleteCampaign(tx: Tx, ctx: TenantContext, id: string) {
  const rows = await tx
    .delete(campaigns)
    .where(and(eq(campaigns.organizationId, ctx.organizationId), eq(campaigns.id, id), notInArray(campaigns.status, [...LOCKED_STATUSES])))
    .returning({ id: campaigns.id, name: campaigns.name });
  if (!rows.length) return refused(tx, ctx, id, 'deleted');
  await cancelQueuedJob(tx, ctx.organizationId, campaignJobKey(id));
  await recordAudit(tx, ctx, { action: 'email_campaign.deleted', resourceType: 'email_campaign', resourceId: id, changes: { name: rows[0].name } });
}

/**
 * How many customers a campaign with this audience would go to right now (the send's own condition).
 * A segment the organization does not have is a 400 (another organization's reads the same).
 */
export async function countEmailAudience(tx: Tx, ctx: TenantContext, audience: Audience) {
  await requireAudienceSegment(tx, ctx.organizationId, audience.segmentId);
  const segment = await audienceSegmentFilter(tx, ctx.organizationId, audience.segmentId);
  const row = await queryOne<{ n: string }>(tx, sql`select count(*)::text as n from customers c where ${emailAudience(ctx.organizationId, audience.tags ?? [], segment)}`);
  return { recipients: Number(row?.n ?? 0) };
}
