import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { arr, query } from '../../db/sql.js';
import { enqueueJob, enqueueJobs } from '../../jobs/queue.js';
import { EVENT_DATA, EVENT_VERSION, type EventData, type EventType } from './events.js';

export const WEBHOOK_DELIVERY_QUEUE = 'webhook-delivery';

/** Enqueues one delivery's job (first attempt or a replay), in the caller's transaction. */
export const enqueueDelivery = (tx: Tx, organizationId: string, deliveryId: string, runAt?: Date) =>
  enqueueJob(tx, organizationId, WEBHOOK_DELIVERY_QUEUE, { deliveryId }, { singletonKey: `webhook:${deliveryId}`, runAt, maxAttempts: 3 });

/**
 * Records an event for every enabled endpoint of the organization that subscribes to its type, and
 * enqueues their deliveries — in the caller's transaction, so an event exists exactly when the change
 * it describes committed (a rolled-back change emits nothing). With no matching endpoint this is one
 * indexed read and nothing else.
 */
export async function emitEvent<T extends EventType>(tx: Tx, ctx: { organizationId: string }, type: T, data: EventData<T>) {
  const [eventId] = await emitEvents(tx, ctx, type, [data]);
  return { eventId };
}

/**
 * Several events of one type (a provider's batch): one read of the subscribed endpoints, one insert
 * of every (event, endpoint) delivery and one multi-row insert of their jobs, whatever the batch size.
 * Returns the events' ids, in order.
 */
export async function emitEvents<T extends EventType>(tx: Tx, ctx: { organizationId: string }, type: T, list: EventData<T>[]): Promise<string[]> {
  const org = ctx.organizationId;
  const events = list.map((data) => ({
    event_id: randomUUID(),
    payload: { type, version: EVENT_VERSION, organizationId: org, occurredAt: new Date().toISOString(), data: EVENT_DATA[type].parse(data) },
  }));
  const ids = events.map((e) => e.event_id);
  if (!events.length) return ids;
  const endpoints = await query<{ id: string }>(
    tx,
    sql`select id from webhook_endpoints
      where organization_id = ${org} and enabled and (${type} = any(event_types) or '*' = any(event_types))`,
  );
  if (!endpoints.length) return ids;
  const rows = await query<{ id: string }>(
    tx,
    sql`insert into webhook_deliveries (organization_id, endpoint_id, event_id, event_type, payload, next_attempt_at)
      select ${org}, e.id, x.event_id, ${type}, x.payload, now()
      from jsonb_to_recordset(${JSON.stringify(events)}::jsonb) as x(event_id uuid, payload jsonb)
      cross join unnest(${arr(endpoints.map((e) => e.id))}::uuid[]) as e(id)
      returning id`,
  );
  await enqueueJobs(tx, org, WEBHOOK_DELIVERY_QUEUE, rows.map((r) => ({ payload: { deliveryId: r.id }, singletonKey: `webhook:${r.id}` })), { maxAttempts: 3 });
  return ids;
}
