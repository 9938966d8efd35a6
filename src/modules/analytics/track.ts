import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';

/**
 * Records one of our own channels' events (email delivered/opened/clicked, SMS delivered, call completed,
 * Shopify order placed) in the customer's event store, in the caller's tenant transaction, so one
 * timeline shows everything. `key` makes it idempotent (e.g. the provider's event id): the same key is
 * stored once. A message without a customer records nothing.
 */
export async function trackInternal(
  tx: Tx,
  organizationId: string,
  customerId: string | null | undefined,
  name: string,
  properties: Record<string, unknown>,
  opts: { key: string; at?: Date | null },
) {
  if (!customerId) return;
  const messageId = `sb:${name}:${opts.key}`;
  const at = (opts.at ?? new Date()).toISOString();
  await tx.execute(sql`with k as (
      insert into analytics_event_ids (organization_id, message_id, occurred_at) values (${organizationId}, ${messageId}, ${at}::timestamptz)
      on conflict do nothing returning message_id)
    insert into analytics_events (organization_id, occurred_at, customer_id, type, name, properties, message_id, source)
    select ${organizationId}, ${at}::timestamptz, ${customerId}, 'track', ${name}, ${JSON.stringify(properties)}::jsonb, k.message_id, 'internal' from k`);
}

/** Our email events that are customer events (the rest — processed, deferred, bounce… — stay message states). */
const EMAIL_EVENT_NAMES: Record<string, string> = { delivered: 'Email Delivered', open: 'Email Opened', click: 'Email Clicked' };

/**
 * Email delivered/opened/clicked (provider webhooks, our open pixel and click redirect) as events of the
 * message's customer, in one statement for a whole provider batch. Keyed on the provider's event id, else
 * the message and time, so a replayed webhook records nothing twice.
 */
export async function trackEmailEvents(
  tx: Tx,
  organizationId: string,
  events: { messageId: string; type: string; url?: string | null; at?: string | null; providerEventId?: string | null }[],
) {
  const now = new Date().toISOString();
  const rows = new Map<string, { m: string; name: string; at: string; url: string | null; k: string }>();
  for (const e of events) {
    const name = EMAIL_EVENT_NAMES[e.type];
    if (!name) continue;
    const at = e.at ?? now;
    const k = `sb:${name}:${e.providerEventId ?? `${e.messageId}:${at}`}`;
    rows.set(k, { m: e.messageId, name, at, url: e.url ?? null, k });
  }
  if (!rows.size) return;
  await tx.execute(sql`with r as (
      select x.*, m.customer_id, m.campaign_id from jsonb_to_recordset(${JSON.stringify([...rows.values()])}::jsonb) as x(m uuid, name text, at timestamptz, url text, k text)
      join email_messages m on m.organization_id = ${organizationId} and m.id = x.m where m.customer_id is not null),
    k as (insert into analytics_event_ids (organization_id, message_id, occurred_at) select ${organizationId}, r.k, r.at from r
      on conflict do nothing returning message_id)
    insert into analytics_events (organization_id, occurred_at, customer_id, type, name, properties, message_id, source)
    select ${organizationId}, r.at, r.customer_id, 'track', r.name,
      jsonb_strip_nulls(jsonb_build_object('emailMessageId', r.m, 'campaignId', r.campaign_id, 'url', r.url)), r.k, 'internal'
    from r join k on k.message_id = r.k`);
}

/** What a channel's row says about the event (its customer and properties), by the event it records. */
const ROW_EVENTS = {
  'SMS Delivered': (org: string, id: string) =>
    sql`select customer_id, jsonb_strip_nulls(jsonb_build_object('smsMessageId', id, 'campaignId', campaign_id)) as p from sms_messages where organization_id = ${org} and id = ${id}`,
  'Call Completed': (org: string, id: string) =>
    sql`select customer_id, jsonb_strip_nulls(jsonb_build_object('callId', id, 'direction', direction, 'durationSeconds', duration_seconds)) as p from calls where organization_id = ${org} and id = ${id}`,
} as const;

/** An SMS delivered or a call completed, as an event of the row's customer (once per row). */
export async function trackChannelRow(tx: Tx, organizationId: string, name: keyof typeof ROW_EVENTS, rowId: string) {
  const messageId = `sb:${name}:${rowId}`;
  await tx.execute(sql`with r as (${ROW_EVENTS[name](organizationId, rowId)}),
    k as (insert into analytics_event_ids (organization_id, message_id, occurred_at) select ${organizationId}, ${messageId}, now() from r where r.customer_id is not null
      on conflict do nothing returning message_id)
    insert into analytics_events (organization_id, occurred_at, customer_id, type, name, properties, message_id, source)
    select ${organizationId}, now(), r.customer_id, 'track', ${name}, r.p, k.message_id, 'internal' from r, k`);
}
