import { sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { CALL_STATUSES, CAMPAIGN_STATUSES, EMAIL_MESSAGE_STATUSES, SMS_MESSAGE_STATUSES, type DashboardStats } from './schemas.js';

const { customers, emailCampaigns, smsCampaigns, emailMessages, smsMessages, calls } = schema;

type Source = 'email_campaigns' | 'sms_campaigns' | 'email_messages' | 'sms_messages' | 'calls';

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
 * Two queries, both naming the caller's organization (and RLS-scoped besides): the customer
 * counts as FILTER aggregates, and every status breakdown as one UNION ALL of GROUP BYs.
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

  return {
    customers: { total: c.total, emailOptIn: c.emailOptIn, smsOptIn: c.smsOptIn },
    emailCampaigns: breakdown(CAMPAIGN_STATUSES, of('email_campaigns')) as DashboardStats['emailCampaigns'],
    smsCampaigns: breakdown(CAMPAIGN_STATUSES, of('sms_campaigns')) as DashboardStats['smsCampaigns'],
    messages: {
      email: breakdown(EMAIL_MESSAGE_STATUSES, of('email_messages')) as DashboardStats['messages']['email'],
      sms: breakdown(SMS_MESSAGE_STATUSES, of('sms_messages')) as DashboardStats['messages']['sms'],
    },
    calls: breakdown(CALL_STATUSES, of('calls')),
  };
}
