import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../../db/index.js';
import { arr, query } from '../../db/sql.js';
import type { TenantContext } from '../../http/access.js';
import { customerRoom, type Plans } from '../billing/limits.js';
import { applyTraits, resolveCustomers, type Who } from './identity.js';
import { EventIn, FUTURE_TOLERANCE_MS, type EventBatch } from './schemas.js';

interface Item {
  index: number;
  e: EventIn;
  at: Date;
  messageId: string;
  who: Who;
}
type Rejection = { index: number; error: string; details?: unknown };

const Email = z.email().max(254);

/**
 * One batch (POST /api/analytics/events): every event is validated on its own; the good ones are
 * resolved to customers, then deduplicated on messageId (analytics_event_ids) and stored by one
 * statement, all in the request's tenant transaction (a batch of track events about known customers:
 * resolution, deduplication and storage in a single statement). Bad events come back by index.
 */
export async function ingestEvents(tx: Tx, ctx: TenantContext, body: EventBatch, plans: Plans) {
  const org = ctx.organizationId;
  const now = Date.now();
  const rejected: Rejection[] = [];
  const items: Item[] = [];
  const inBatch = new Set<string>();
  let duplicates = 0;
  body.batch.forEach((raw, index) => {
    const parsed = EventIn.safeParse(raw);
    if (!parsed.success) {
      rejected.push({ index, error: 'validation_failed', details: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) });
      return;
    }
    const e = parsed.data;
    const at = e.timestamp ? new Date(e.timestamp) : new Date(now);
    if (at.getTime() > now + FUTURE_TOLERANCE_MS) {
      rejected.push({ index, error: 'timestamp_in_future', details: [{ path: 'timestamp', message: 'More than a day ahead of the server clock' }] });
      return;
    }
    const messageId = e.messageId ?? randomUUID();
    if (inBatch.has(messageId)) {
      duplicates++;
      return;
    }
    inBatch.add(messageId);
    const traitEmail = e.type === 'identify' && Email.safeParse(e.traits?.email).success ? String(e.traits!.email) : undefined;
    const email = (e.email ?? traitEmail)?.toLowerCase();
    items.push({ index, e, at, messageId, who: { userId: e.userId, email, anonymousId: e.anonymousId } });
  });
  if (!items.length) return { accepted: 0, duplicates, rejected };

  // The common case in one statement: track events naming known customers by one identifier each.
  if (items.every(singleKeyTrack)) {
    const stored = await insertKnownTracks(tx, org, items);
    if (stored !== null) return { accepted: stored, duplicates: duplicates + items.length - stored, rejected };
  }

  // Unknown people become customers only while the plan has room; events about the others are refused by index.
  const customerOf = await resolveCustomers(tx, org, items.map((i) => i.who), () => customerRoom(tx, org, plans));
  const ready: Ready[] = [];
  items.forEach((item, k) => {
    const r = customerOf(k);
    if ('customerId' in r) ready.push({ ...item, customerId: r.customerId });
    else if (r.error === 'plan_limit') rejected.push({ index: item.index, error: 'plan_limit', details: [{ path: 'userId', message: "The organization's plan has no room for another customer" }] });
    else rejected.push({ index: item.index, error: 'customer_conflict', details: [{ path: 'userId', message: 'The customer changed meanwhile; send the event again' }] });
  });
  // Traits of a replayed identify are applied again: the same values, so no harm.
  for (const item of ready) if (item.e.type === 'identify' && item.e.traits) await applyTraits(tx, org, item.customerId, item.e.traits);
  const accepted = ready.length ? await insertEvents(tx, org, 'api', ready) : 0;
  rejected.sort((a, b) => a.index - b.index);
  return { accepted, duplicates: duplicates + ready.length - accepted, rejected };
}

type Ready = Item & { customerId: string };

/** A track event naming its customer by exactly one of userId, email, anonymousId: resolution is one lookup, never an attach or merge. */
const singleKeyTrack = (i: Item) => i.e.type === 'track' && [i.who.userId, i.who.email, i.who.anonymousId].filter(Boolean).length === 1;

const propertiesOf = (e: EventIn) => JSON.stringify((e.type === 'track' ? e.properties : e.traits) ?? {});

/**
 * The fast path of a batch: customers resolved, messageIds claimed and events stored by one statement
 * (one round trip instead of a lookup and then an insert). It stores only when every event's customer
 * exists (by the unique external_id, lower(email) or anonymous_id index); otherwise it stores nothing and
 * answers null, and the batch takes the full path (profiles created, identified, merged). Returns how many
 * were stored (the rest are replays).
 */
async function insertKnownTracks(tx: Tx, org: string, items: Item[]): Promise<number | null> {
  const [row] = await query<{ n: number; known: boolean }>(
    tx,
    // The batch as one JSON parameter: serialized natively, where one array per column has the driver escape
    // every element (the properties' JSON most of all).
    sql`with x as (
        select * from json_to_recordset(${JSON.stringify(items.map((r) => ({ t: r.at.toISOString(), u: r.who.userId ?? null, em: r.who.email ?? null, an: r.who.anonymousId ?? null, n: r.e.type === 'track' ? r.e.event : 'identify', p: (r.e.type === 'track' ? r.e.properties : r.e.traits) ?? {}, m: r.messageId })))}::json)
          as x(t timestamptz, u text, em text, an text, n text, p jsonb, m text)),
      r as (select x.*, case
          when x.u is not null then (select id from customers where organization_id = ${org} and external_id is not null and external_id = x.u)
          when x.em is not null then (select id from customers where organization_id = ${org} and lower(email) = x.em)
          else (select id from customers where organization_id = ${org} and anonymous_id is not null and anonymous_id = x.an) end as c from x),
      known as (select bool_and(c is not null) as ok from r),
      k as (insert into analytics_event_ids (organization_id, message_id, occurred_at) select ${org}, r.m, r.t from r where (select ok from known)
        on conflict do nothing returning message_id),
      e as (insert into analytics_events (organization_id, occurred_at, customer_id, type, name, properties, message_id, source)
        select ${org}, r.t, r.c, 'track', r.n, r.p, r.m, 'api' from r join k on k.message_id = r.m returning 1)
    select (select count(*) from e)::int as n, (select ok from known) as known`,
  );
  return row?.known ? row.n : null;
}

/**
 * The batch in one statement: the messageIds are claimed in analytics_event_ids (a replay claims
 * nothing) and the events whose id was claimed go in as one multi-row insert, one array parameter per
 * column. Returns how many were stored.
 */
async function insertEvents(tx: Tx, org: string, source: 'api' | 'internal', rows: Ready[]): Promise<number> {
  const [row] = await query<{ n: number }>(
    tx,
    sql`with x as (
        select * from unnest(${arr(rows.map((r) => r.at.toISOString()))}::timestamptz[], ${arr(rows.map((r) => r.customerId))}::uuid[],
          ${arr(rows.map((r) => r.e.type))}::text[], ${arr(rows.map((r) => (r.e.type === 'track' ? r.e.event : 'identify')))}::text[],
          ${arr(rows.map((r) => propertiesOf(r.e)))}::text[],
          ${arr(rows.map((r) => r.messageId))}::text[]) as x(t, c, ty, n, p, m)),
      k as (insert into analytics_event_ids (organization_id, message_id, occurred_at) select ${org}, x.m, x.t from x
        on conflict do nothing returning message_id),
      e as (insert into analytics_events (organization_id, occurred_at, customer_id, type, name, properties, message_id, source)
        select ${org}, x.t, x.c, x.ty, x.n, x.p::jsonb, x.m, ${source} from x join k on k.message_id = x.m returning 1)
    select count(*)::int as n from e`,
  );
  return row?.n ?? 0;
}
