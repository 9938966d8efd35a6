import { sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Tx } from '../../db/index.js';
import { query, queryOne } from '../../db/sql.js';
import type { TenantContext } from '../../http/access.js';
import { notFound } from '../../http/errors.js';
import type { CampaignStatus } from '../../db/schema.js';
import { optedOutCount } from './service.js';

// Campaign analytics from the per-status counters the message triggers keep (0016_scale.sql).

export async function smsCampaignAnalytics(tx: Tx, ctx: TenantContext, config: Config, id: string) {
  const org = ctx.organizationId;
  const c = await queryOne<{ status: CampaignStatus; invalid_numbers: number }>(
    tx,
    sql`select status, invalid_numbers from sms_campaigns where organization_id = ${org} and id = ${id}`,
  );
  if (!c) throw notFound();
  const m = (await queryOne<Record<string, number>>(
    tx,
    sql`select coalesce(sum(n), 0)::int as recipients,
        coalesce(sum(n) filter (where status in ('queued', 'sending')), 0)::int as queued,
        coalesce(sum(n) filter (where status in ('sent', 'delivered', 'undelivered')), 0)::int as sent,
        coalesce(sum(n) filter (where status = 'delivered'), 0)::int as delivered,
        coalesce(sum(n) filter (where status = 'undelivered'), 0)::int as undelivered,
        coalesce(sum(n) filter (where status = 'failed'), 0)::int as failed,
        coalesce(sum(n) filter (where status = 'cancelled'), 0)::int as cancelled,
        coalesce(sum(segments) filter (where status in ('sent', 'delivered', 'undelivered')), 0)::int as segments,
        (${optedOutCount(org, sql`${id}::uuid`)}) as opted_out
      from sms_campaign_status_counts where organization_id = ${org} and campaign_id = ${id}`,
  ))!;
  const codes = await query<{ code: number; count: number }>(
    tx,
    sql`select error_code as code, count(*)::int as count from sms_messages
      where organization_id = ${org} and campaign_id = ${id} and error_code is not null and status in ('failed', 'undelivered')
      group by error_code order by count(*) desc, error_code limit 50`,
  );
  const perSegment = config.sms.costPerSegment;
  return {
    campaignId: id,
    status: c.status,
    recipients: m.recipients,
    queued: m.queued,
    sent: m.sent,
    delivered: m.delivered,
    undelivered: m.undelivered,
    failed: m.failed,
    cancelled: m.cancelled,
    optedOut: m.opted_out,
    invalidNumbers: Number(c.invalid_numbers),
    segments: m.segments,
    // Rounded to a hundredth of a cent: an estimate, not an invoice.
    cost: { estimate: Math.round(m.segments * perSegment * 10_000) / 10_000, perSegment, currency: config.sms.currency },
    errorCodes: codes.map((r) => ({ code: Number(r.code), count: Number(r.count) })),
  };
}
