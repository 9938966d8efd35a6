import { and, eq, sql } from 'drizzle-orm';
import { z } from 'zod';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { notFound } from '../../http/errors.js';
import { IdParams, orgErrors, type App } from '../../http/types.js';
import { keysetPage, pageOf, pageQuery } from '../../lib/pagination.js';
import { findCampaign } from './campaign-service.js';
import { arr, rowsOf } from '../../db/sql.js';

// Campaign analytics from the counters kept by the message and event triggers (0016_scale.sql):
// per status, per hour (also the time series), per link. Nothing here reads the campaign's messages.

const rate = (n: number, d: number) => (d > 0 ? Math.round((n / d) * 10_000) / 10_000 : 0);

export async function campaignAnalytics(tx: Tx, ctx: TenantContext, id: string) {
  const org = ctx.organizationId;
  const campaign = await findCampaign(tx, org, id);
  if (!campaign) throw notFound();
  const [m] = rowsOf<Record<string, number>>(
    await tx.execute(sql`select coalesce(sum(n), 0)::int as recipients,
        coalesce(sum(n) filter (where status = 'failed'), 0)::int as failed,
        coalesce(sum(n) filter (where status in ('queued', 'sending')), 0)::int as pending,
        coalesce(sum(n) filter (where status = 'cancelled'), 0)::int as cancelled
      from email_campaign_status_counts where organization_id = ${org} and campaign_id = ${id}`),
  );
  type Bucket = { hour: string; sent: number; delivered: number; opened: number; clicked: number; bounced: number; complained: number; unsubscribed: number; opens: number; clicks: number };
  const series = rowsOf<Bucket>(
    await tx.execute(sql`select to_char(hour at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"') as hour, sent, delivered, opened, clicked, bounced, complained, unsubscribed, opens, clicks
      from email_campaign_hourly where organization_id = ${org} and campaign_id = ${id} order by hour`),
  );
  const sum = (k: keyof Omit<Bucket, 'hour'>) => series.reduce((n, r) => n + Number(r[k]), 0);
  Object.assign(m, Object.fromEntries((['sent', 'delivered', 'opened', 'clicked', 'bounced', 'complained', 'unsubscribed'] as const).map((k) => [k, sum(k)])));
  const e = { opens: sum('opens'), clicks: sum('clicks') };
  const links = rowsOf<{ url: string; clicks: number; unique_clicks: number }>(
    await tx.execute(sql`select url, clicks, unique_clicks from email_link_clicks
      where organization_id = ${org} and campaign_id = ${id} and clicks > 0 order by clicks desc, url limit 200`),
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
    series,
  };
}

export const MessagesQuery = z.strictObject({ ...pageQuery, status: z.string().max(20).optional() });

/** Per-recipient messages with status and timeline (message timestamps and events, oldest first). */
export async function campaignMessages(tx: Tx, ctx: TenantContext, id: string, q: z.infer<typeof MessagesQuery>) {
  const org = ctx.organizationId;
  if (!(await findCampaign(tx, org, id))) throw notFound();
  const m = schema.emailMessages;
  const { rows: page, nextCursor } = await keysetPage(tx, m, q, [eq(m.organizationId, org), eq(m.campaignId, id), q.status ? eq(m.status, q.status) : undefined], 'oldest');
  return { data: await withTimelines(tx, org, page), nextCursor };
}

/** The email a customer was sent, newest first, each with its campaign and timeline (the customer page's history). */
export async function customerMessages(tx: Tx, ctx: TenantContext, customerId: string, q: { limit: number; cursor?: string }) {
  const org = ctx.organizationId;
  const c = schema.customers;
  const [customer] = await tx.select({ id: c.id }).from(c).where(and(eq(c.organizationId, org), eq(c.id, customerId)));
  if (!customer) throw notFound();
  const m = schema.emailMessages;
  const { rows: page, nextCursor } = await keysetPage(tx, m, q, [eq(m.organizationId, org), eq(m.customerId, customerId)], 'newest');
  const ids = [...new Set(page.map((r) => r.campaignId))];
  const names = new Map(
    ids.length
      ? rowsOf<{ id: string; name: string }>(await tx.execute(sql`select id, name from email_campaigns where organization_id = ${org} and id = any(${arr(ids)}::uuid[])`)).map((r) => [r.id, r.name])
      : [],
  );
  const data = await withTimelines(tx, org, page);
  return { data: data.map((d, i) => ({ ...d, campaignId: page[i].campaignId, campaignName: names.get(page[i].campaignId) ?? null })), nextCursor };
}

async function withTimelines(tx: Tx, org: string, page: (typeof schema.emailMessages.$inferSelect)[]) {
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
  return page.map((r) => ({
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
  }));
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
  /** Per hour (UTC) of each message timestamp (sent, delivered, first open...) and of each open/click event, oldest first; hours with nothing are absent. */
  series: z.array(
    z.object({
      hour: z.string(),
      sent: z.number(),
      delivered: z.number(),
      opened: z.number(),
      clicked: z.number(),
      bounced: z.number(),
      complained: z.number(),
      unsubscribed: z.number(),
      opens: z.number(),
      clicks: z.number(),
    }),
  ),
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
  app.get('/api/customers/:id/email-messages', {
    config: { access: 'org' },
    schema: {
      tags: ['email'],
      operationId: 'listCustomerEmailMessages',
      summary: "The email a customer was sent, newest first, with each message's campaign, status and timeline",
      params: IdParams,
      querystring: z.strictObject(pageQuery),
      response: { 200: pageOf(MessageOut.extend({ campaignId: z.uuid(), campaignName: z.string().nullable() })), ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => customerMessages(tx, ctx, req.params.id, req.query)),
  });
}
