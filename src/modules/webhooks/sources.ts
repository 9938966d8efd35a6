import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { query, queryOne } from '../../db/sql.js';
import { emitEvent, emitEvents } from './emit.js';
import type { EventData } from './events.js';

/**
 * The events of the channels, read from their rows: each channel calls one of these where the change
 * happens, in its transaction. They read only what the event's payload needs.
 */

type Org = { organizationId: string };

/** A campaign engine's status hook (CampaignChannel.statusChanged) for a channel's campaign events. */
export const campaignEvents =
  (channel: 'email' | 'sms') =>
  async (tx: Tx, org: string, campaign: { id: string; name: string; status: 'sending' | 'sent' | 'failed' }): Promise<void> => {
    await emitEvent(tx, { organizationId: org }, campaign.status === 'sending' ? `${channel}_campaign.sending` : `${channel}_campaign.sent`, {
      campaign: { id: campaign.id, name: campaign.name, status: campaign.status },
    });
  };

/**
 * Provider events about email messages, read BEFORE they are applied, so that only a message's first
 * delivery, first bounce and first unsubscribe become events (providers repeat themselves).
 */
export async function emitEmailMessageEvents(tx: Tx, ctx: Org, events: { messageId: string; type: string; reason: string | null }[], provider: string) {
  const wanted = events.filter((e) => ['delivered', 'bounce', 'unsubscribe', 'group_unsubscribe'].includes(e.type));
  if (!wanted.length) return;
  const rows = await query<{ id: string; campaign_id: string | null; customer_id: string | null; to_email: string | null; delivered: boolean; bounced: boolean; unsubscribed: boolean }>(
    tx,
    sql`select id, campaign_id, customer_id, to_email, delivered_at is not null as delivered, bounced_at is not null as bounced, unsubscribed_at is not null as unsubscribed
      from email_messages where organization_id = ${ctx.organizationId} and id = any(${sql.param([...new Set(wanted.map((e) => e.messageId))])}::uuid[])`,
  );
  const byId = new Map(rows.map((r) => [r.id, r]));
  const seen = new Set<string>();
  const delivered: EventData<'email_message.delivered'>[] = [];
  const bounced: EventData<'email_message.bounced'>[] = [];
  const unsubscribed: EventData<'customer.unsubscribed'>[] = [];
  for (const e of wanted) {
    const m = byId.get(e.messageId);
    const kind = e.type === 'group_unsubscribe' ? 'unsubscribe' : e.type;
    if (!m || seen.has(`${m.id}:${kind}`)) continue;
    seen.add(`${m.id}:${kind}`);
    const message = { id: m.id, campaignId: m.campaign_id, customerId: m.customer_id, to: m.to_email };
    if (kind === 'delivered' && !m.delivered) delivered.push({ message });
    else if (kind === 'bounce' && !m.bounced) bounced.push({ message, reason: e.reason });
    else if (kind === 'unsubscribe' && !m.unsubscribed && m.to_email) {
      unsubscribed.push({ channel: 'email', address: m.to_email.toLowerCase(), customerId: m.customer_id, source: provider });
    }
  }
  // One statement per type, however big the provider's batch.
  await emitEvents(tx, ctx, 'email_message.delivered', delivered);
  await emitEvents(tx, ctx, 'email_message.bounced', bounced);
  await emitEvents(tx, ctx, 'customer.unsubscribed', unsubscribed);
}

/** An unsubscribe link was used (first time only: the caller knows). */
export async function emitEmailUnsubscribed(tx: Tx, ctx: Org, messageId: string, source: string) {
  const m = await queryOne<{ customer_id: string | null; to_email: string | null }>(
    tx,
    sql`select customer_id, to_email from email_messages where organization_id = ${ctx.organizationId} and id = ${messageId}`,
  );
  if (m?.to_email) await emitEvent(tx, ctx, 'customer.unsubscribed', { channel: 'email', address: m.to_email.toLowerCase(), customerId: m.customer_id, source });
}

/** An SMS message reached a final status through a status callback. */
export async function emitSmsStatus(tx: Tx, ctx: Org, messageId: string, status: string) {
  if (!['delivered', 'failed', 'undelivered'].includes(status)) return;
  const m = await queryOne<{ campaign_id: string | null; customer_id: string | null; to_phone: string | null; error_code: number | null }>(
    tx,
    sql`select campaign_id, customer_id, to_phone, error_code from sms_messages where organization_id = ${ctx.organizationId} and id = ${messageId}`,
  );
  if (!m) return;
  const message = { id: messageId, campaignId: m.campaign_id, customerId: m.customer_id, to: m.to_phone, status, errorCode: m.error_code };
  await emitEvent(tx, ctx, status === 'delivered' ? 'sms_message.delivered' : 'sms_message.failed', { message });
}

/** A call reached `completed`. */
export async function emitCallCompleted(tx: Tx, ctx: Org, callId: string) {
  const c = await queryOne<{ direction: string; status: string; from_number: string | null; to_number: string | null; customer_id: string | null; duration_seconds: number | null; recording_url: string | null }>(
    tx,
    sql`select direction, status, from_number, to_number, customer_id, duration_seconds, recording_url from calls where organization_id = ${ctx.organizationId} and id = ${callId}`,
  );
  if (!c) return;
  await emitEvent(tx, ctx, 'call.completed', {
    call: {
      id: callId,
      direction: c.direction,
      status: c.status,
      from: c.from_number,
      to: c.to_number,
      customerId: c.customer_id,
      durationSeconds: c.duration_seconds,
      recordingUrl: c.recording_url,
    },
  });
}
