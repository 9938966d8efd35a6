import { and, eq, sql } from 'drizzle-orm';
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
    .values({ organizationId: ctx.organizationId, name: input.name, kind: input.kind, range: input.range, scheduleEvery: input.schedule?.every ?? null, scheduleRecipients: input.schedule?.recipients ?? [] })
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
  campaign_performance: ['channel', 'campaignId', 'campaign', 'sent', 'delivered', 'opened', 'clicked', 'bounced', 'unsubscribed'],
  customer_growth: ['day', 'newCustomers', 'newEmailOptIn', 'newSmsOptIn', 'unsubscribed', 'totalCustomers'],
  messages_by_channel: ['day', 'email', 'sms', 'total'],
};

/**
 * A report's rows over [from, to] (UTC days), computed from the organization's counters in its own
 * transaction: RLS scopes every table, and every statement also names the organization.
 */
export async function runReport(tx: Tx, ctx: Pick<TenantContext, 'organizationId'>, id: string, override?: { from?: string; to?: string }): Promise<ReportResults> {
  const report = await getReport(tx, ctx, id);
  const { from, to } = override?.from && override.to ? { from: override.from, to: override.to } : resolveRange(report.range);
  const kind = ReportKind.parse(report.kind);
  const org = ctx.organizationId;
  // Half-open instants: [from 00:00 UTC, the day after `to` 00:00 UTC).
  const start = sql`(${from}::date)::timestamp at time zone 'UTC'`;
  const end = sql`((${to}::date + 1))::timestamp at time zone 'UTC'`;
  const days = sql`select d::date as day from generate_series(${from}::date, ${to}::date, interval '1 day') d`;
  let rows: Record<string, string | number | null>[];
  if (kind === 'campaign_performance') {
    rows = await query(
      tx,
      sql`select 'email' as channel, c.id as "campaignId", c.name as campaign, sum(h.sent)::int as sent, sum(h.delivered)::int as delivered,
            sum(h.opened)::int as opened, sum(h.clicked)::int as clicked, sum(h.bounced)::int as bounced, sum(h.unsubscribed)::int as unsubscribed
          from email_campaign_hourly h join email_campaigns c on c.organization_id = h.organization_id and c.id = h.campaign_id
          where h.organization_id = ${org} and h.hour >= ${start} and h.hour < ${end}
          group by c.id, c.name
        union all
        select 'sms', c.id, c.name, sum(h.sent)::int, sum(h.delivered)::int, null, null, null, null
          from sms_campaign_hourly h join sms_campaigns c on c.organization_id = h.organization_id and c.id = h.campaign_id
          where h.organization_id = ${org} and h.hour >= ${start} and h.hour < ${end}
          group by c.id, c.name
        order by sent desc, campaign, "campaignId"`,
    );
  } else if (kind === 'customer_growth') {
    rows = await query(
      tx,
      sql`with days as (${days}),
        born as (select (created_at at time zone 'UTC')::date as day, count(*)::int as n,
                   (count(*) filter (where email_opt_in))::int as e, (count(*) filter (where sms_opt_in))::int as s
                 from customers where organization_id = ${org} and created_at >= ${start} and created_at < ${end} group by 1),
        unsub as (select (unsubscribed_at at time zone 'UTC')::date as day, count(*)::int as n
                  from customers where organization_id = ${org} and unsubscribed_at >= ${start} and unsubscribed_at < ${end} group by 1),
        base as (select count(*)::int as n from customers where organization_id = ${org} and created_at < ${start})
        select to_char(days.day, 'YYYY-MM-DD') as day, coalesce(born.n, 0) as "newCustomers", coalesce(born.e, 0) as "newEmailOptIn",
               coalesce(born.s, 0) as "newSmsOptIn", coalesce(unsub.n, 0) as unsubscribed,
               ((select n from base) + sum(coalesce(born.n, 0)) over (order by days.day))::int as "totalCustomers"
          from days left join born on born.day = days.day left join unsub on unsub.day = days.day
         order by days.day`,
    );
  } else {
    rows = await query(
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
  return { kind, from, to, columns: COLUMNS[kind], rows };
}

/** The CSV file name of a report run: its name made safe for a header, and the range. */
export function csvFileName(name: string, r: { from: string; to: string }) {
  const base = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 80) || 'report';
  return `${base}-${r.from}-${r.to}.csv`;
}
