import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../../db/index.js';
import { query, queryOne } from '../../db/sql.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import type { CountsQuery, EventListQuery, FunnelIn, TimelineQuery } from './schemas.js';

/** Buckets one counts request may answer (a year of days, a month of hours). */
const MAX_BUCKETS = 1000;
const INTERVAL_MS = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 } as const;

const invalid = (path: string, message: string) => new AppError('validation_failed', 'Validation failed', [{ in: 'querystring', path, message }]);

/** Keyset cursor over (occurred_at, id), newest first; the time as PostgreSQL's text so microseconds survive. */
const encodeCursor = (ts: string, id: string) => Buffer.from(JSON.stringify([ts, id])).toString('base64url');
const CursorShape = z.tuple([z.string().regex(/^\d{4}-\d{2}-\d{2}[ T][0-9:.+-]{8,24}$/), z.uuid()]);
function decodeCursor(cursor: string) {
  try {
    return CursorShape.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
  } catch {
    throw invalid('cursor', 'Invalid cursor');
  }
}

type EventRow = { id: string; type: 'track' | 'identify'; name: string; customer_id: string | null; properties: Record<string, unknown>; message_id: string; source: 'api' | 'internal'; at: string; received_at: string; cursor: string };
const toEventDto = (r: EventRow) => ({
  id: r.id,
  type: r.type,
  name: r.name,
  customerId: r.customer_id,
  properties: r.properties,
  messageId: r.message_id,
  source: r.source,
  timestamp: new Date(r.at).toISOString(),
  receivedAt: new Date(r.received_at).toISOString(),
});

function range(q: { from?: string; to?: string }, column: SQL = sql`occurred_at`): SQL[] {
  if (q.from && q.to && new Date(q.from) >= new Date(q.to)) throw invalid('to', 'to must be after from');
  const out: SQL[] = [];
  if (q.from) out.push(sql`${column} >= ${q.from}::timestamptz`);
  if (q.to) out.push(sql`${column} < ${q.to}::timestamptz`);
  return out;
}

const propertyFilters = (where: Record<string, string> | undefined, alias: SQL = sql`analytics_events`) =>
  Object.entries(where ?? {}).map(([k, v]) => sql`${alias}.properties ->> ${k} = ${v}`);

/** Events newest first, filtered by customer, name and time; keyset paged. */
export async function listEvents(tx: Tx, ctx: TenantContext, q: EventListQuery) {
  const where: SQL[] = [sql`organization_id = ${ctx.organizationId}`, ...range(q)];
  if (q.customerId) where.push(sql`customer_id = ${q.customerId}`);
  if (q.event) where.push(sql`name = ${q.event}`);
  if (q.cursor) {
    const [ts, id] = decodeCursor(q.cursor);
    where.push(sql`(occurred_at, id) < (${ts}::timestamptz, ${id}::uuid)`);
  }
  const rows = await query<EventRow>(
    tx,
    sql`select id, type, name, customer_id, properties, message_id, source, occurred_at as at, received_at, occurred_at::text as cursor
      from analytics_events where ${sql.join(where, sql` and `)} order by occurred_at desc, id desc limit ${q.limit + 1}`,
  );
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return { data: page.map(toEventDto), nextCursor: rows.length > q.limit && last ? encodeCursor(last.cursor, last.id) : null };
}

/** One customer's timeline: every event about them, ours and the organization's, newest first. */
export async function customerTimeline(tx: Tx, ctx: TenantContext, customerId: string, q: TimelineQuery) {
  const found = await queryOne(tx, sql`select 1 from customers where organization_id = ${ctx.organizationId} and id = ${customerId}`);
  if (!found) throw notFound();
  return listEvents(tx, ctx, { ...q, customerId });
}

/** An event's count per hour, day or week (UTC), optionally of distinct customers and filtered on properties. */
export async function countEvents(tx: Tx, ctx: TenantContext, q: CountsQuery) {
  const from = new Date(q.from);
  const to = new Date(q.to);
  if (from >= to) throw invalid('to', 'to must be after from');
  if ((to.getTime() - from.getTime()) / INTERVAL_MS[q.interval] > MAX_BUCKETS) throw invalid('interval', `At most ${MAX_BUCKETS} buckets: a longer interval or a shorter range`);
  const measure = q.unique ? sql`count(distinct customer_id)` : sql`count(*)`;
  const rows = await query<{ bucket: string | null; n: number }>(
    tx,
    sql`select date_trunc(${q.interval}, occurred_at, 'UTC') as bucket, ${measure}::int as n from analytics_events
      where organization_id = ${ctx.organizationId} and name = ${q.event} and ${sql.join([...range(q), ...propertyFilters(q.where)], sql` and `)}
      group by grouping sets ((1), ())`,
  );
  const counts = new Map(rows.filter((r) => r.bucket !== null).map((r) => [new Date(r.bucket!).toISOString(), r.n]));
  const total = rows.find((r) => r.bucket === null)?.n ?? 0;
  const buckets: { start: string; count: number }[] = [];
  for (let t = truncate(from, q.interval); t < to; t = new Date(t.getTime() + INTERVAL_MS[q.interval])) {
    buckets.push({ start: t.toISOString(), count: counts.get(t.toISOString()) ?? 0 });
  }
  return { event: q.event, interval: q.interval, unique: q.unique, total, buckets };
}

/** The UTC start of the bucket holding t, as date_trunc computes it (weeks start on Monday). */
function truncate(t: Date, interval: keyof typeof INTERVAL_MS): Date {
  const d = new Date(t);
  d.setUTCMinutes(0, 0, 0);
  if (interval === 'hour') return d;
  d.setUTCHours(0);
  if (interval === 'week') d.setUTCDate(d.getUTCDate() - ((d.getUTCDay() + 6) % 7));
  return d;
}

/**
 * An ordered funnel: customers who did step 1 in the range, then step 2 after it, … each later step
 * within `windowHours` of their first step 1. One statement, a CTE per step.
 */
export async function funnel(tx: Tx, ctx: TenantContext, input: FunnelIn) {
  const org = ctx.organizationId;
  if (new Date(input.from) >= new Date(input.to)) throw new AppError('validation_failed', 'Validation failed', [{ in: 'body', path: 'to', message: 'to must be after from' }]);
  const window = `${input.windowHours} hours`;
  const ctes: SQL[] = input.steps.map((step, i) => {
    const e = sql`e`;
    if (i === 0) {
      return sql`s0 as (select e.customer_id, min(e.occurred_at) as t0, min(e.occurred_at) as t from analytics_events e
        where e.organization_id = ${org} and e.customer_id is not null and e.name = ${step.event}
          and ${sql.join([...range(input, sql`e.occurred_at`), ...propertyFilters(step.where, e)], sql` and `)}
        group by e.customer_id)`;
    }
    const prev = sql.identifier(`s${i - 1}`);
    return sql`${sql.identifier(`s${i}`)} as (select p.customer_id, p.t0, min(e.occurred_at) as t from ${prev} p
      join analytics_events e on e.organization_id = ${org} and e.customer_id = p.customer_id and e.name = ${step.event}
        and e.occurred_at > p.t and e.occurred_at <= p.t0 + ${window}::interval ${sql.join(propertyFilters(step.where, e).map((f) => sql` and ${f}`), sql``)}
      group by p.customer_id, p.t0)`;
  });
  const counts = input.steps.map((_, i) => sql`(select count(*) from ${sql.identifier(`s${i}`)})::int as ${sql.identifier(`n${i}`)}`);
  const row = await queryOne<Record<string, number>>(tx, sql`with ${sql.join(ctes, sql`, `)} select ${sql.join(counts, sql`, `)}`);
  return { steps: input.steps.map((s, i) => ({ event: s.event, customers: row?.[`n${i}`] ?? 0 })) };
}
