import { eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { notFound } from '../../http/errors.js';
import { IdParams, orgErrors, type App } from '../../http/types.js';
import { keysetPage, pageOf, pageQuery } from '../../lib/pagination.js';
import { findCampaign } from './campaign-service.js';
import { arr, rowsOf } from '../../db/sql.js';

// Campaign analytics, derived every time from message and event rows (no stored counters).

const rate = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10_000) / 10_000 : 0);

export async function campaignAnalytics(tx: Tx, ctx: TenantContext, id: string) {
  const org = ctx.organizationId;
  const campaign = await findCampaign(tx, org, id);
  if (!campaign) throw notFound();
  const [m] = rowsOf<Record<string, number>>(
    await tx.execute(sql`select count(*)::int as recipients, count(sent_at)::int as sent, count(delivered_at)::int as delivered,
        count(opened_at)::int as opened, count(clicked_at)::int as clicked, count(bounced_at)::int as bounced,
        count(complained_at)::int as complained, count(unsubscribed_at)::int as unsubscribed,
        count(*) filter (where status = 'failed')::int as failed, count(*) filter (where status in ('queued', 'sending'))::int as pending,
        count(*) filter (where status = 'cancelled')::int as cancelled
      from email_messages where organization_id = ${org} and campaign_id = ${id}`),
  );
  const [e] = rowsOf<Record<string, number>>(
    await tx.execute(sql`select count(*) filter (where e.type = 'open')::int as opens, count(*) filter (where e.type = 'click')::int as clicks
      from email_events e join email_messages m on m.organization_id = e.organization_id and m.id = e.message_id
      where e.organization_id = ${org} and m.campaign_id = ${id}`),
  );
  const links = rowsOf<{ url: string; clicks: number; unique_clicks: number }>(
    await tx.execute(sql`select e.url, count(*)::int as clicks, count(distinct e.message_id)::int as unique_clicks
      from email_events e join email_messages m on m.organization_id = e.organization_id and m.id = e.message_id
      where e.organization_id = ${org} and m.campaign_id = ${id} and e.type = 'click' and e.url is not null
      group by e.url order by clicks desc limit 200`),
  );
  // Every tracked link of the campaign, in the order of the email, with its clicks (0 when none yet).
  const tracked: string[] = campaign.trackedLinks ?? [];
  const clicked = new Map(links.map((l) => [l.url, l]));
  const perLink = [
    ...tracked.map((url) => clicked.get(url) ?? { url, clicks: 0, unique_clicks: 0 }),
    ...links.filter((l) => !tracked.includes(l.url)),
  ];
  const base = m.delivered || m.sent;
  return {
    campaignId: id,
    status: campaign.status,
    recipients: m.recipients,
    sent: m.sent,
    delivered: m.delivered,
    failed: m.failed,
    pending: m.pending,
    cancelled: m.cancelled,
    opens: { unique: m.opened, total: Math.max(e.opens, m.opened) },
    clicks: { unique: m.clicked, total: Math.max(e.clicks, m.clicked) },
    bounced: m.bounced,
    complained: m.complained,
    unsubscribed: m.unsubscribed,
    rates: {
      delivery: rate(m.delivered, m.sent),
      open: rate(m.opened, base),
      click: rate(m.clicked, base),
      clickToOpen: rate(m.clicked, m.opened),
      bounce: rate(m.bounced, m.sent),
      complaint: rate(m.complained, base),
      unsubscribe: rate(m.unsubscribed, base),
    },
    links: perLink.map((l) => ({ url: l.url, clicks: l.clicks, uniqueClicks: l.unique_clicks })),
  };
}

export const MessagesQuery = z.strictObject({ ...pageQuery, status: z.string().max(20).optional() });

/** Per-recipient messages with status and timeline (message timestamps and events, oldest first). */
export async function campaignMessages(tx: Tx, ctx: TenantContext, id: string, q: z.infer<typeof MessagesQuery>) {
  const org = ctx.organizationId;
  if (!(await findCampaign(tx, org, id))) throw notFound();
  const m = schema.emailMessages;
  const { rows: page, nextCursor } = await keysetPage(tx, m, q, [eq(m.organizationId, org), eq(m.campaignId, id), q.status ? eq(m.status, q.status) : undefined], 'oldest');
  const events = page.length
    ? rowsOf<any>(
        await tx.execute(sql`select message_id, type, url, occurred_at, payload->>'error' as error from email_events
          where organization_id = ${org} and message_id = any(${arr(page.map((r) => r.id))}::uuid[]) order by occurred_at, created_at`),
      )
    : [];
  const iso = (v: Date | string | null) => (v ? new Date(v).toISOString() : null);
  const eventsOf = new Map<string, any[]>();
  for (const ev of events) {
    const list = eventsOf.get(ev.message_id);
    if (list) list.push(ev);
    else eventsOf.set(ev.message_id, [ev]);
  }
  return {
    data: page.map((r) => ({
      id: r.id,
      customerId: r.customerId,
      email: r.toEmail,
      status: r.status,
      attempts: r.attempts,
      error: r.error,
      sentAt: iso(r.sentAt),
      deliveredAt: iso(r.deliveredAt),
      openedAt: iso(r.openedAt),
      clickedAt: iso(r.clickedAt),
      bouncedAt: iso(r.bouncedAt),
      complainedAt: iso(r.complainedAt),
      unsubscribedAt: iso(r.unsubscribedAt),
      timeline: [
        { type: 'queued', at: iso(r.createdAt)!, url: null, error: null },
        ...(r.sentAt ? [{ type: 'sent', at: iso(r.sentAt)!, url: null, error: null }] : []),
        ...(eventsOf.get(r.id) ?? []).map((ev) => ({ type: ev.type, at: iso(ev.occurred_at)!, url: ev.url, error: ev.error })),
      ].sort((x, y) => x.at.localeCompare(y.at)),
    })),
    nextCursor,
  };
}

const Count2 = z.object({ unique: z.number(), total: z.number() });
const Analytics = z.object({
  campaignId: z.uuid(),
  status: z.string(),
  recipients: z.number(),
  sent: z.number(),
  delivered: z.number(),
  failed: z.number(),
  pending: z.number(),
  cancelled: z.number(),
  opens: Count2,
  clicks: Count2,
  bounced: z.number(),
  complained: z.number(),
  unsubscribed: z.number(),
  rates: z.record(z.string(), z.number()),
  links: z.array(z.object({ url: z.string(), clicks: z.number(), uniqueClicks: z.number() })),
});
const At = z.string().nullable();
const MessageOut = z.object({
  id: z.uuid(),
  customerId: z.string().nullable(),
  email: z.string(),
  status: z.string(),
  attempts: z.number(),
  error: z.string().nullable(),
  sentAt: At,
  deliveredAt: At,
  openedAt: At,
  clickedAt: At,
  bouncedAt: At,
  complainedAt: At,
  unsubscribedAt: At,
  timeline: z.array(z.object({ type: z.string(), at: z.string(), url: z.string().nullable(), error: z.string().nullable() })),
});

export function registerAnalyticsRoutes(app: App) {
  app.get('/api/email/campaigns/:id/analytics', {
    config: { access: 'org' },
    schema: { tags: ['email'], operationId: 'getEmailCampaignAnalytics', summary: 'Campaign analytics: counts, unique/total opens and clicks, rates, clicks per link', params: IdParams, response: { 200: Analytics, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => campaignAnalytics(tx, ctx, req.params.id)),
  });
  app.get('/api/email/campaigns/:id/messages', {
    config: { access: 'org' },
    schema: { tags: ['email'], operationId: 'listEmailCampaignMessages', summary: 'Per-recipient messages with status and timeline', params: IdParams, querystring: MessagesQuery, response: { 200: pageOf(MessageOut), ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => campaignMessages(tx, ctx, req.params.id, req.query)),
  });
}
