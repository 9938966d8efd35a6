import { and, eq, inArray, sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, conflictOr404, notFound } from '../../http/errors.js';
import { campaignRefusal } from '../../lib/campaigns.js';
import { cancelQueuedJob, enqueueJob } from '../../jobs/queue.js';
import { recordAudit } from '../audit/service.js';
import { meterMessages, type Plans } from '../billing/limits.js';
import { campaignEvents } from '../webhooks/sources.js';
import { requireAudienceSegment } from '../segments/index.js';
import { countSmsAudience } from './audience.js';
import { getSmsCampaign } from './service.js';
import { loadSmsSettings } from './settings.js';

const { smsCampaigns: campaigns, smsMessages: messages } = schema;

export const SMS_CAMPAIGN_QUEUE = 'sms.campaign';
export const smsCampaignJobKey = (campaignId: string) => `sms-campaign:${campaignId}`;

/**
 * The number an organization's campaign goes out from: the preferred one (the campaign's, else the
 * settings' default) when it is still one of the organization's SMS-enabled numbers, else its oldest
 * SMS-enabled number; null when it has none.
 */
export async function fromNumberFor(tx: Tx, org: string, preferred: string | null): Promise<string | null> {
  const wanted = preferred ?? (await loadSmsSettings(tx, org)).defaultFromNumber;
  const row = await queryOne<{ number: string }>(
    tx,
    sql`select number from phone_numbers where organization_id = ${org} and sms_enabled
      order by (number = ${wanted ?? ''}) desc, created_at, id limit 1`,
  );
  return row?.number ?? null;
}

const refusal = (tx: Tx, ctx: TenantContext, id: string, verb: string) =>
  conflictOr404(
    tx.select({ status: campaigns.status }).from(campaigns).where(and(eq(campaigns.organizationId, ctx.organizationId), eq(campaigns.id, id))).then((r) => r[0]),
    (c) => campaignRefusal(c.status, verb),
  );

/**
 * draft → sending (or scheduled when scheduledAt is in the future) and a durable send job, in one
 * transaction. Only a draft can be sent, so a second send is a 409. The body must not be empty and
 * the organization must have an SMS-enabled number to send from (409 otherwise), and its audience
 * must fit in the month's remaining SMS allowance (402 plan_limit otherwise).
 */
export async function sendSmsCampaign(tx: Tx, ctx: TenantContext, id: string, plans: Plans) {
  const org = ctx.organizationId;
  const [current] = await tx.select().from(campaigns).where(and(eq(campaigns.organizationId, org), eq(campaigns.id, id)));
  if (!current) throw notFound();
  if (current.status !== 'draft') return refusal(tx, ctx, id, 'sent again');
  if (!current.body.trim()) {
    throw new AppError('validation_failed', 'The campaign has no message body', [{ in: 'body', path: 'body', message: 'Required before sending' }]);
  }
  const from = await fromNumberFor(tx, org, null);
  if (!from) throw new AppError('conflict', 'The organization has no SMS-enabled phone number to send from: add one under /api/phone-numbers');
  const [row] = await tx
    .update(campaigns)
    .set({
      status: sql`case when ${campaigns.scheduledAt} > now() then 'scheduled' else 'sending' end`,
      startedAt: sql`case when ${campaigns.scheduledAt} > now() then null else now() end`,
      fromNumber: from,
      updatedAt: sql`now()`,
    })
    .where(and(eq(campaigns.organizationId, org), eq(campaigns.id, id), eq(campaigns.status, 'draft')))
    .returning();
  if (!row) return refusal(tx, ctx, id, 'sent again');
  // The whole audience is accepted against this month's SMS allowance, or the send is refused (402).
  // A segment deleted since the campaign was saved is refused here (400, the whole send rolled back).
  await requireAudienceSegment(tx, org, row.audience?.segmentId);
  await meterMessages(tx, org, 'sms', await countSmsAudience(tx, org, row.audience ?? {}), plans);
  await enqueueJob(tx, org, SMS_CAMPAIGN_QUEUE, { campaignId: id }, { singletonKey: smsCampaignJobKey(id), runAt: row.status === 'scheduled' ? row.scheduledAt : null });
  if (row.status === 'sending') await campaignEvents('sms')(tx, org, { id, name: row.name, status: 'sending' });
  await recordAudit(tx, ctx, {
    action: row.status === 'scheduled' ? 'sms_campaign.scheduled' : 'sms_campaign.sent',
    resourceType: 'sms_campaign',
    resourceId: id,
    changes: { from, scheduledAt: row.scheduledAt?.toISOString() ?? null },
  });
  return getSmsCampaign(tx, ctx, id);
}

/** scheduled or sending → cancelled: messages not yet handed to Twilio are not sent. */
export async function cancelSmsCampaign(tx: Tx, ctx: TenantContext, id: string) {
  const org = ctx.organizationId;
  const [row] = await tx
    .update(campaigns)
    .set({ status: 'cancelled', cancelledAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(campaigns.organizationId, org), eq(campaigns.id, id), inArray(campaigns.status, ['scheduled', 'sending'])))
    .returning();
  if (!row) return refusal(tx, ctx, id, 'cancelled');
  await tx
    .update(messages)
    .set({ status: 'cancelled', updatedAt: sql`now()` })
    .where(and(eq(messages.organizationId, org), eq(messages.campaignId, id), eq(messages.status, 'queued')));
  await cancelQueuedJob(tx, org, smsCampaignJobKey(id));
  await recordAudit(tx, ctx, { action: 'sms_campaign.cancelled', resourceType: 'sms_campaign', resourceId: id });
  return getSmsCampaign(tx, ctx, id);
}
