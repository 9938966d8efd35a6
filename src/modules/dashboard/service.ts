import { sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { CAMPAIGN_STATUSES } from '../../lib/campaigns.js';
import { CALL_STATUSES } from '../calls/schemas.js';
import { EMAIL_MESSAGE_STATUSES } from '../email/campaign-schemas.js';
import { SMS_MESSAGE_STATUSES } from '../sms/schemas.js';
import type { DashboardStats } from './schemas.js';
import { rowsOf } from '../../db/sql.js';

const { emailCampaigns, smsCampaigns, calls } = schema;

type Source = 'email_campaigns' | 'sms_campaigns' | 'email_messages' | 'sms_messages' | 'calls';

const share = (n: number, of: number) => (of > 0 ? Math.min(1, Math.round((n / of) * 10_000) / 10_000) : 0);

/** Every known status at 0, then the counted ones; a status this code does not know still shows (and sums to total). */
function breakdown(known: readonly string[], rows: { status: string; n: number }[]) {
  const byStatus: Record<string, number> = Object.fromEntries(known.map((s) => [s, 0]));
  let total = 0;
  for (const r of rows) {
    byStatus[r.status] = (byStatus[r.status] ?? 0) + r.n;
    total += r.n;
  }
  return { total, byStatus };
}

/**
 * Maintained aggregates only (0016_scale.sql): the customer counters, the email and SMS per-status
 * counters summed over the organization's campaigns, and the hourly funnels for the rates. Campaign and
 * call statuses are counted live (one row per campaign or call; the list index bounds them per org).
 * SMS messages without a campaign (none are written today) are counted live from the queue index.
 */
export async function getDashboardStats(tx: Tx, ctx: TenantContext): Promise<DashboardStats> {
  const org = ctx.organizationId;
  const [c = { total: 0, emailOptIn: 0, smsOptIn: 0 }] = rowsOf<{ total: number; emailOptIn: number; smsOptIn: number }>(
    await tx.execute(sql`select total, email_opt_in as "emailOptIn", sms_opt_in as "smsOptIn" from customer_counts where organization_id = ${org}`),
  );

  const part = (source: Source, table: typeof emailCampaigns | typeof smsCampaigns | typeof calls) =>
    sql`select ${source}::text as source, ${table.status} as status, count(*)::int as n from ${table} where ${table.organizationId} = ${org} group by ${table.status}`;
  const { rows } = (await tx.execute(
    sql.join(
      [
        part('email_campaigns', emailCampaigns),
        part('sms_campaigns', smsCampaigns),
        sql`select 'email_messages'::text as source, status, sum(n)::int as n from email_campaign_status_counts where organization_id = ${org} group by status`,
        sql`select 'sms_messages'::text as source, status, sum(n)::int as n from (
              select status, n from sms_campaign_status_counts where organization_id = ${org}
              union all select status, count(*)::int from sms_messages where organization_id = ${org} and campaign_id is null group by status) s group by status`,
        part('calls', calls),
      ],
      sql` union all `,
    ),
  )) as unknown as { rows: { source: Source; status: string; n: number }[] };
  const of = (s: Source) => rows.filter((r) => r.source === s && Number(r.n) !== 0).map((r) => ({ status: r.status, n: Number(r.n) }));

  const [e] = rowsOf<Record<string, number>>(
    await tx.execute(sql`select coalesce(sum(sent), 0)::int as sent, coalesce(sum(delivered), 0)::int as delivered, coalesce(sum(opened), 0)::int as opened,
        coalesce(sum(clicked), 0)::int as clicked, coalesce(sum(bounced), 0)::int as bounced, coalesce(sum(unsubscribed), 0)::int as unsubscribed
      from email_campaign_hourly where organization_id = ${org}`),
  );
  const [s] = rowsOf<Record<string, number>>(
    await tx.execute(sql`select coalesce(sum(sent), 0)::int as sent, coalesce(sum(delivered), 0)::int as delivered from (
        select sent, delivered from sms_campaign_hourly where organization_id = ${org}
        union all select count(sent_at)::int, count(delivered_at)::int from sms_messages where organization_id = ${org} and campaign_id is null) x`),
  );
  const reached = e.delivered || e.sent;

  return {
    rates: {
      emailOptIn: share(c.emailOptIn, c.total),
      smsOptIn: share(c.smsOptIn, c.total),
      emailDelivery: share(e.delivered, e.sent),
      emailOpen: share(e.opened, reached),
      emailClick: share(e.clicked, reached),
      emailBounce: share(e.bounced, e.sent),
      emailUnsubscribe: share(e.unsubscribed, e.sent),
      smsDelivery: share(s.delivered, s.sent),
    },
    customers: { total: c.total, emailOptIn: c.emailOptIn, smsOptIn: c.smsOptIn },
    emailCampaigns: breakdown(CAMPAIGN_STATUSES, of('email_campaigns')),
    smsCampaigns: breakdown(CAMPAIGN_STATUSES, of('sms_campaigns')),
    messages: {
      email: breakdown(EMAIL_MESSAGE_STATUSES, of('email_messages')),
      sms: breakdown(SMS_MESSAGE_STATUSES, of('sms_messages')),
    },
    calls: breakdown(CALL_STATUSES, of('calls')),
  };
}
