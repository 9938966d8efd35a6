import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { query } from '../../db/sql.js';
import { enqueueJob } from '../../jobs/queue.js';
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
  const org = ctx.organizationId;
  const eventId = randomUUID();
  const payload = {
    type,
    version: EVENT_VERSION,
    organizationId: org,
    occurredAt: new Date().toISOString(),
    data: EVENT_DATA[type].parse(data),
  };
  const rows = await query<{ id: string }>(
    tx,
    sql`insert into webhook_deliveries (organization_id, endpoint_id, event_id, event_type, payload, next_attempt_at)
      select ${org}, e.id, ${eventId}, ${type}, ${JSON.stringify(payload)}::jsonb, now()
      from webhook_endpoints e
      where e.organization_id = ${org} and e.enabled and (${type} = any(e.event_types) or '*' = any(e.event_types))
      returning id`,
  );
  for (const r of rows) await enqueueDelivery(tx, org, r.id);
  return { eventId, deliveries: rows.length };
}
