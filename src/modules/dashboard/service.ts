import { sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { CAMPAIGN_STATUSES } from '../../lib/campaigns.js';
import { CALL_STATUSES } from '../calls/schemas.js';
import { EMAIL_MESSAGE_STATUSES } from '../email/campaign-schemas.js';
import { SMS_MESSAGE_STATUSES } from '../sms/schemas.js';
import type { DashboardStats } from './schemas.js';

const { customers, emailCampaigns, smsCampaigns, emailMessages, smsMessages, calls } = schema;

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
 * Four queries, all naming the caller's organization (and RLS-scoped besides): the customer
 * counts as FILTER aggregates, every status breakdown as one UNION ALL of GROUP BYs, and the
 * email and SMS funnel counts behind the rates.
 */
export async function getDashboardStats(tx: Tx, ctx: TenantContext): Promise<DashboardStats> {
  const org = ctx.organizationId;
  const [c] = await tx
    .select({
      total: sql<number>`count(*)::int`,
      emailOptIn: sql<number>`count(*) filter (where ${customers.emailOptIn})::int`,
      smsOptIn: sql<number>`count(*) filter (where ${customers.smsOptIn})::int`,
    })
    .from(customers)
    .where(sql`${customers.organizationId} = ${org}`);

  const part = (source: Source, table: typeof emailCampaigns | typeof smsCampaigns | typeof emailMessages | typeof smsMessages | typeof calls) =>
    sql`select ${source}::text as source, ${table.status} as status, count(*)::int as n from ${table} where ${table.organizationId} = ${org} group by ${table.status}`;
  const { rows } = (await tx.execute(
    sql.join(
      [
        part('email_campaigns', emailCampaigns),
        part('sms_campaigns', smsCampaigns),
        part('email_messages', emailMessages),
        part('sms_messages', smsMessages),
        part('calls', calls),
      ],
      sql` union all `,
    ),
  )) as unknown as { rows: { source: Source; status: string; n: number }[] };
  const of = (s: Source) => rows.filter((r) => r.source === s).map((r) => ({ status: r.status, n: Number(r.n) }));

  const [e] = await tx
    .select({
      sent: sql<number>`count(${emailMessages.sentAt})::int`,
      delivered: sql<number>`count(${emailMessages.deliveredAt})::int`,
      opened: sql<number>`count(${emailMessages.openedAt})::int`,
      clicked: sql<number>`count(${emailMessages.clickedAt})::int`,
      bounced: sql<number>`count(${emailMessages.bouncedAt})::int`,
      unsubscribed: sql<number>`count(${emailMessages.unsubscribedAt})::int`,
    })
    .from(emailMessages)
    .where(sql`${emailMessages.organizationId} = ${org}`);
  const [s] = await tx
    .select({
      sent: sql<number>`count(${smsMessages.sentAt})::int`,
      delivered: sql<number>`count(${smsMessages.deliveredAt})::int`,
    })
    .from(smsMessages)
    .where(sql`${smsMessages.organizationId} = ${org}`);
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
