import { sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Tx } from '../../db/index.js';
import { query, queryOne } from '../../db/sql.js';
import type { TenantContext } from '../../http/access.js';
import { notFound } from '../../http/errors.js';
import type { CampaignStatus } from '../../db/schema.js';

// Campaign analytics, derived every time from the message rows (no stored counters).

export async function smsCampaignAnalytics(tx: Tx, ctx: TenantContext, config: Config, id: string) {
  const org = ctx.organizationId;
  const c = await queryOne<{ status: CampaignStatus; invalid_numbers: number }>(
    tx,
    sql`select status, invalid_numbers from sms_campaigns where organization_id = ${org} and id = ${id}`,
  );
  if (!c) throw notFound();
  const m = (await queryOne<Record<string, number>>(
    tx,
    sql`select count(*)::int as recipients,
        count(*) filter (where m.status in ('queued', 'sending'))::int as queued,
        count(*) filter (where m.status in ('sent', 'delivered', 'undelivered'))::int as sent,
        count(*) filter (where m.status = 'delivered')::int as delivered,
        count(*) filter (where m.status = 'undelivered')::int as undelivered,
        count(*) filter (where m.status = 'failed')::int as failed,
        count(*) filter (where m.status = 'cancelled')::int as cancelled,
        count(*) filter (where cu.sms_opt_in = false)::int as opted_out,
        coalesce(sum(m.segments) filter (where m.status in ('sent', 'delivered', 'undelivered')), 0)::int as segments
      from sms_messages m
      left join customers cu on cu.organization_id = m.organization_id and cu.id = m.customer_id
      where m.organization_id = ${org} and m.campaign_id = ${id}`,
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
