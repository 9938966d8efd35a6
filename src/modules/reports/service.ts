import { and, eq, sql, type SQL } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import { enqueueJob, cancelQueuedJob } from '../../jobs/queue.js';
import { arr, query } from '../../db/sql.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { keysetPage } from '../../lib/pagination.js';
import { recordAudit } from '../audit/service.js';
import type { ReportIn, ReportPatch, ReportRange, ReportResults, ReportSchedule } from './schemas.js';
import { ReportKind } from './schemas.js';

const { reports } = schema;
type Row = typeof reports.$inferSelect;
type Kind = ReportIn['kind'];
const toDto = (r: Row) => ({
  id: r.id,
  name: r.name,
  kind: r.kind as Kind,
  range: r.range as ReportRange,
  attributionDays: r.attributionDays,
  schedule: r.scheduleEvery ? { every: r.scheduleEvery, recipients: r.scheduleRecipients } : null,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

export const REPORT_DELIVERY_QUEUE = 'report.deliver';
const deliveryKey = (id: string) => `report:${id}`;
export const INTERVAL_MS = { day: 86_400_000, week: 7 * 86_400_000 } as const;

/** Every recipient must be a member of the organization (read in its scope): anyone else is a 400. */
async function checkRecipients(tx: Tx, organizationId: string, schedule: ReportSchedule | null | undefined) {
  if (!schedule) return;
  const found = await query<{ userId: string }>(
    tx,
    sql`select user_id as "userId" from memberships where organization_id = ${organizationId} and user_id = any(${arr(schedule.recipients)}::uuid[])`,
  );
  const members = new Set(found.map((r) => r.userId));
  const strangers = schedule.recipients.filter((u) => !members.has(u));
  if (strangers.length) {
    throw new AppError('validation_failed', 'Every recipient must be a member of the organization', [{ path: ['schedule', 'recipients'], message: `Not members: ${strangers.join(', ')}` }]);
  }
}

/** (Re)plans a report's delivery job: the queued one goes; a schedule queues the next, one interval from now. */
async function planDelivery(tx: Tx, organizationId: string, id: string, every: 'day' | 'week' | null) {
  await cancelQueuedJob(tx, organizationId, deliveryKey(id));
  if (every) await enqueueJob(tx, organizationId, REPORT_DELIVERY_QUEUE, { reportId: id }, { singletonKey: deliveryKey(id), runAt: new Date(Date.now() + INTERVAL_MS[every]), maxAttempts: 5 });
}

export async function listReports(tx: Tx, ctx: TenantContext, q: { limit: number; cursor?: string }) {
  const { rows, nextCursor } = await keysetPage(tx, reports, q, [eq(reports.organizationId, ctx.organizationId)]);
  return { data: rows.map(toDto), nextCursor };
}

export async function getReport(tx: Tx, ctx: Pick<TenantContext, 'organizationId'>, id: string) {
  const [row] = await tx.select().from(reports).where(and(eq(reports.organizationId, ctx.organizationId), eq(reports.id, id)));
  if (!row) throw notFound();
  return toDto(row);
}

export async function createReport(tx: Tx, ctx: TenantContext, input: ReportIn) {
  await checkRecipients(tx, ctx.organizationId, input.schedule);
  const [row] = await tx
    .insert(reports)
    .values({ organizationId: ctx.organizationId, name: input.name, kind: input.kind, range: input.range, attributionDays: input.attributionDays ?? 7, scheduleEvery: input.schedule?.every ?? null, scheduleRecipients: input.schedule?.recipients ?? [] })
    .returning();
  await planDelivery(tx, ctx.organizationId, row.id, row.scheduleEvery);
  await recordAudit(tx, ctx, { action: 'report.created', resourceType: 'report', resourceId: row.id, changes: { name: row.name, kind: row.kind } });
  return toDto(row);
}

export async function updateReport(tx: Tx, ctx: TenantContext, id: string, patch: ReportPatch) {
  await checkRecipients(tx, ctx.organizationId, patch.schedule);
  const [row] = await tx
    .update(reports)
    .set({
      ...(patch.name !== undefined && { name: patch.name }),
      ...(patch.kind && { kind: patch.kind }),
      ...(patch.range && { range: patch.range }),
      ...(patch.attributionDays !== undefined && { attributionDays: patch.attributionDays }),
      ...(patch.schedule !== undefined && { scheduleEvery: patch.schedule?.every ?? null, scheduleRecipients: patch.schedule?.recipients ?? [] }),
      updatedAt: sql`now()`,
    })
    .where(and(eq(reports.organizationId, ctx.organizationId), eq(reports.id, id)))
    .returning();
  if (!row) throw notFound();
  if (patch.schedule !== undefined) await planDelivery(tx, ctx.organizationId, id, row.scheduleEvery);
  await recordAudit(tx, ctx, { action: 'report.updated', resourceType: 'report', resourceId: id, changes: patch });
  return toDto(row);
}

export async function deleteReport(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.delete(reports).where(and(eq(reports.organizationId, ctx.organizationId), eq(reports.id, id))).returning({ id: reports.id, name: reports.name });
  if (!row) throw notFound();
  await cancelQueuedJob(tx, ctx.organizationId, deliveryKey(id));
  await recordAudit(tx, ctx, { action: 'report.deleted', resourceType: 'report', resourceId: id, changes: { name: row.name } });
}

const isoDay = (d: Date) => d.toISOString().slice(0, 10);

/** A range as two calendar days (UTC, inclusive); {lastDays: n} ends today. */
export function resolveRange(range: ReportRange, now = new Date()): { from: string; to: string } {
  if ('from' in range) return { from: range.from, to: range.to };
  const to = isoDay(now);
  return { from: isoDay(new Date(Date.parse(`${to}T00:00:00Z`) - (range.lastDays - 1) * 86_400_000)), to };
}

const COLUMNS: Record<Kind, string[]> = {
  campaign_performance: ['channel', 'campaignId', 'campaign', 'sent', 'delivered', 'opened', 'clicked', 'bounced', 'unsubscribed', 'orders', 'revenue'],
  customer_growth: ['day', 'newCustomers', 'newEmailOptIn', 'newSmsOptIn', 'unsubscribed', 'totalCustomers'],
  messages_by_channel: ['day', 'email', 'sms', 'total'],
  conversations: ['day', 'created', 'resolved', 'csatAnswers', 'csatAverage', 'satisfied'],
};

/**
 * Event names the conversations kind reads from API clients (another help desk's conversations). The inbox
 * emits the same names for its customers' timelines, as `internal` events; the report counts the inbox from
 * its own table instead, where anonymous visitors' conversations are too.
 */
export const CONVERSATION_EVENTS = { created: 'Conversation Created', resolved: 'Conversation Resolved', csat: ['CSAT Submitted', 'CSAT Answered'] } as const;

type Rows = Record<string, string | number | null>[];
const dayNumber = (d: string) => Date.parse(`${d}T00:00:00Z`) / 86_400_000;
const dayOf = (n: number) => isoDay(new Date(n * 86_400_000));

/** The period just before [from, to]: as many days, ending the day before `from`. */
export function previousPeriod(from: string, to: string) {
  const span = dayNumber(to) - dayNumber(from) + 1;
  return { from: dayOf(dayNumber(from) - span), to: dayOf(dayNumber(from) - 1) };
}

/**
 * A report's rows over [from, to] (UTC days) and over the period just before (the same number of days),
 * computed from the organization's counters and events in its own transaction: RLS scopes every table,
 * and every statement also names the organization.
 */
export async function runReport(tx: Tx, ctx: Pick<TenantContext, 'organizationId'>, id: string, override?: { from?: string; to?: string }): Promise<ReportResults> {
  const report = await getReport(tx, ctx, id);
  const { from, to } = override?.from && override.to ? { from: override.from, to: override.to } : resolveRange(report.range);
  const kind = ReportKind.parse(report.kind);
  const prev = previousPeriod(from, to);
  const rows = await reportRows(tx, ctx.organizationId, kind, from, to, report.attributionDays);
  const prevRows = await reportRows(tx, ctx.organizationId, kind, prev.from, prev.to, report.attributionDays);
  return { kind, from, to, columns: COLUMNS[kind], rows, previous: { ...prev, rows: prevRows }, totals: totalsOf(kind, rows), previousTotals: totalsOf(kind, prevRows) };
}

/** Each numeric column's total: a sum, except the running total (its last value) and the CSAT average (weighted by answers). */
export function totalsOf(kind: Kind, rows: Rows): Record<string, number | null> {
  const out: Record<string, number | null> = {};
  const numeric = COLUMNS[kind].filter((c) => !['channel', 'campaignId', 'campaign', 'day'].includes(c));
  for (const c of numeric) {
    if (c === 'totalCustomers') out[c] = rows.length ? Number(rows[rows.length - 1][c]) : null;
    else if (c === 'csatAverage') {
      const answers = rows.reduce((n, r) => n + Number(r.csatAnswers ?? 0), 0);
      out[c] = answers ? Math.round((rows.reduce((n, r) => n + Number(r.csatAverage ?? 0) * Number(r.csatAnswers ?? 0), 0) / answers) * 100) / 100 : null;
    } else {
      const vals = rows.map((r) => r[c]).filter((v): v is number => typeof v === 'number');
      out[c] = vals.length ? Math.round(vals.reduce((a, b) => a + b, 0) * 100) / 100 : rows.length ? null : 0;
    }
  }
  return out;
}

async function reportRows(tx: Tx, org: string, kind: Kind, from: string, to: string, attributionDays: number): Promise<Rows> {
  // Half-open instants: [from 00:00 UTC, the day after `to` 00:00 UTC).
  const start = sql`(${from}::date)::timestamp at time zone 'UTC'`;
  const end = sql`((${to}::date + 1))::timestamp at time zone 'UTC'`;
  const days = sql`select d::date as day from generate_series(${from}::date, ${to}::date, interval '1 day') d`;
  if (kind === 'campaign_performance') {
    // Revenue: each order placed in the range by a known customer counts once, to the email campaign whose
    // link that customer clicked last before the order and at most attributionDays before it (last click).
    return query(
      tx,
      sql`with email as (
          select h.campaign_id, sum(h.sent)::int as sent, sum(h.delivered)::int as delivered, sum(h.opened)::int as opened,
                 sum(h.clicked)::int as clicked, sum(h.bounced)::int as bounced, sum(h.unsubscribed)::int as unsubscribed
            from email_campaign_hourly h where h.organization_id = ${org} and h.hour >= ${start} and h.hour < ${end} group by h.campaign_id),
        -- From the clicks (far fewer than orders): those in the range widened by the window, then each order of
        -- the clicking customer placed within the window after a click; per order the latest such click wins.
        clicks as (
          select e.occurred_at as at, m.customer_id, m.campaign_id
            from email_events e join email_messages m on m.organization_id = e.organization_id and m.id = e.message_id
           where e.organization_id = ${org} and e.type = 'click' and m.customer_id is not null and m.organization_id = ${org}
             and e.occurred_at >= ${start} - make_interval(days => ${attributionDays}::int) and e.occurred_at < ${end}),
        attributed_orders as (
          select distinct on (o.id) o.id, o.total, c.campaign_id
            from clicks c join orders o on o.organization_id = ${org} and o.customer_id = c.customer_id
             and o.ordered_at >= ${start} and o.ordered_at < ${end}
             and o.ordered_at >= c.at and o.ordered_at < c.at + make_interval(days => ${attributionDays}::int)
           order by o.id, c.at desc),
        attributed as (select campaign_id, count(*)::int as orders, sum(total) as revenue from attributed_orders group by campaign_id),
        ids as (select campaign_id from email union select campaign_id from attributed)
        select 'email' as channel, c.id as "campaignId", c.name as campaign, coalesce(e.sent, 0) as sent, coalesce(e.delivered, 0) as delivered,
               coalesce(e.opened, 0) as opened, coalesce(e.clicked, 0) as clicked, coalesce(e.bounced, 0) as bounced, coalesce(e.unsubscribed, 0) as unsubscribed,
               coalesce(a.orders, 0) as orders, coalesce(a.revenue, 0)::float8 as revenue
          from ids join email_campaigns c on c.organization_id = ${org} and c.id = ids.campaign_id
          left join email e on e.campaign_id = ids.campaign_id left join attributed a on a.campaign_id = ids.campaign_id
        union all
        select 'sms', c.id, c.name, sum(h.sent)::int, sum(h.delivered)::int, null, null, null, null, null, null
          from sms_campaign_hourly h join sms_campaigns c on c.organization_id = h.organization_id and c.id = h.campaign_id
          where h.organization_id = ${org} and h.hour >= ${start} and h.hour < ${end}
          group by c.id, c.name
        order by sent desc, campaign, "campaignId"`,
    );
  }
  if (kind === 'customer_growth') {
    return query(
      tx,
      sql`with days as (${days}),
        born as (select (created_at at time zone 'UTC')::date as day, count(*)::int as n,
                   (count(*) filter (where email_opt_in))::int as e, (count(*) filter (where sms_opt_in))::int as s
                 from customers where organization_id = ${org} and created_at >= ${start} and created_at < ${end} group by 1),
        unsub as (select (unsubscribed_at at time zone 'UTC')::date as day, count(*)::int as n
                  from customers where organization_id = ${org} and unsubscribed_at >= ${start} and unsubscribed_at < ${end} group by 1),
        -- Customers before the range: the organization's counter (kept by triggers) less those created since,
        -- so the cost follows the range, not the organization.
        base as (select (coalesce((select total from customer_counts where organization_id = ${org}), 0)
                         - (select count(*) from customers where organization_id = ${org} and created_at >= ${start}))::int as n)
        select to_char(days.day, 'YYYY-MM-DD') as day, coalesce(born.n, 0) as "newCustomers", coalesce(born.e, 0) as "newEmailOptIn",
               coalesce(born.s, 0) as "newSmsOptIn", coalesce(unsub.n, 0) as unsubscribed,
               ((select n from base) + sum(coalesce(born.n, 0)) over (order by days.day))::int as "totalCustomers"
          from days left join born on born.day = days.day left join unsub on unsub.day = days.day
         order by days.day`,
    );
  }
  if (kind === 'conversations') {
    // The inbox's own conversations from its table (anonymous visitors included; each on the day it was
    // created, last resolved and rated), plus the conversations other tools send as API events (the inbox's
    // events are `internal`, so nothing counts twice). An API CSAT answer is a `CSAT Submitted` / `CSAT
    // Answered` event (score, or csatScore, 1–5) or a `Conversation Resolved` event carrying csatScore; one
    // per conversation (its latest), so one sent twice counts once.
    const score = sql`coalesce(properties->>'score', properties->>'csatScore')`;
    const day = (col: SQL) => sql`(${col} at time zone 'UTC')::date`;
    return query(
      tx,
      sql`with days as (${days}),
        inbox as (
          select ${day(sql`created_at`)} as day, 1 as created, 0 as resolved, null::numeric as s
            from chat_conversations where organization_id = ${org} and created_at >= ${start} and created_at < ${end}
          union all
          select ${day(sql`resolved_at`)}, 0, 1, null from chat_conversations
           where organization_id = ${org} and resolved_at is not null and resolved_at >= ${start} and resolved_at < ${end}
          union all
          select ${day(sql`csat_answered_at`)}, 0, 0, csat_score from chat_conversations
           where organization_id = ${org} and csat_score is not null and csat_answered_at >= ${start} and csat_answered_at < ${end}),
        ev as (select ${day(sql`occurred_at`)} as day,
                  (count(*) filter (where name = ${CONVERSATION_EVENTS.created}))::int as created,
                  (count(*) filter (where name = ${CONVERSATION_EVENTS.resolved}))::int as resolved
                from analytics_events where organization_id = ${org} and source = 'api' and name in (${CONVERSATION_EVENTS.created}, ${CONVERSATION_EVENTS.resolved})
                 and occurred_at >= ${start} and occurred_at < ${end} group by 1),
        api_answers as (select distinct on (coalesce(properties->>'conversationId', id::text)) ${day(sql`occurred_at`)} as day, (${score})::numeric as s
                from analytics_events where organization_id = ${org} and source = 'api' and name in (${CONVERSATION_EVENTS.csat[0]}, ${CONVERSATION_EVENTS.csat[1]}, ${CONVERSATION_EVENTS.resolved})
                 and occurred_at >= ${start} and occurred_at < ${end} and ${score} ~ '^[1-5](\\.0+)?$'
                order by coalesce(properties->>'conversationId', id::text), occurred_at desc),
        volume as (select day, sum(created)::int as created, sum(resolved)::int as resolved
                   from (select day, created, resolved from inbox union all select day, created, resolved from ev) v group by day),
        csat as (select day, count(*)::int as n, round(avg(s), 2)::float8 as avg, (count(*) filter (where s >= 4))::int as satisfied
                 from (select day, s from inbox where s is not null union all select day, s from api_answers) a group by day)
        select to_char(days.day, 'YYYY-MM-DD') as day, coalesce(volume.created, 0) as created, coalesce(volume.resolved, 0) as resolved,
               coalesce(csat.n, 0) as "csatAnswers", csat.avg as "csatAverage", coalesce(csat.satisfied, 0) as satisfied
          from days left join volume on volume.day = days.day left join csat on csat.day = days.day
         order by days.day`,
    );
  }
  return query(
    tx,
    sql`with days as (${days}),
      e as (select (hour at time zone 'UTC')::date as day, sum(sent)::int as n from email_campaign_hourly
             where organization_id = ${org} and hour >= ${start} and hour < ${end} group by 1),
      s as (select (hour at time zone 'UTC')::date as day, sum(sent)::int as n from sms_campaign_hourly
             where organization_id = ${org} and hour >= ${start} and hour < ${end} group by 1)
      select to_char(days.day, 'YYYY-MM-DD') as day, coalesce(e.n, 0) as email, coalesce(s.n, 0) as sms, (coalesce(e.n, 0) + coalesce(s.n, 0)) as total
        from days left join e on e.day = days.day left join s on s.day = days.day
       order by days.day`,
  );
}

/** The CSV file name of a report run: its name made safe for a header, and the range. */
export function csvFileName(name: string, r: { from: string; to: string }) {
  const base = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'report';
  return `${base}-${r.from}-${r.to}.csv`;
}
