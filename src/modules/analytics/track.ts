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
