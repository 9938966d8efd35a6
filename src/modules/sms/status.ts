import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { arr, query } from '../../db/sql.js';
import { trackChannelRow } from '../analytics/track.js';
import { emitSmsStatus } from '../webhooks/sources.js';

// Twilio status callbacks, applied inside the organization's tenant transaction (the webhook
// route finds the organization from the AccountSid). Status only moves forward: callbacks arrive
// out of order and repeat; a final status (delivered, undelivered, failed) is never replaced.

export type SmsStatus = 'queued' | 'sending' | 'sent' | 'delivered' | 'undelivered' | 'failed' | 'cancelled';

/** Twilio's MessageStatus values in our vocabulary (null: not a message status we track). Until a final status, a message Twilio has is sent. */
export function fromTwilioStatus(s: string): SmsStatus | null {
  switch (s.toLowerCase()) {
    case 'accepted':
    case 'scheduled':
    case 'queued':
    case 'sending':
    case 'sent':
      return 'sent';
    case 'delivered':
    case 'read':
      return 'delivered';
    case 'undelivered':
      return 'undelivered';
    case 'failed':
      return 'failed';
    case 'canceled':
      return 'cancelled';
    default:
      return null;
  }
}

/** The order statuses move in (SQL); every final status ranks the same, so none replaces another. */
export const rankSql = (col: string) => sql.raw(`(case ${col} when 'queued' then 0 when 'sending' then 1 when 'sent' then 2 else 3 end)`);

export interface StatusCallback {
  messageSid: string;
  status: string;
  errorCode?: number | null;
}

/**
 * Records the callback and moves the message it names forward. `found` is false when no message of
 * the organization has this sid yet (the send records sids in batches): the event waits in
 * sms_status_events and applyPendingStatus applies it when the sid is recorded.
 */
export async function applyStatusCallback(tx: Tx, org: string, cb: StatusCallback): Promise<{ found: boolean; changed: boolean }> {
  const status = fromTwilioStatus(cb.status);
  if (!status) return { found: false, changed: false };
  const code = cb.errorCode ?? null;
  await tx.execute(sql`insert into sms_status_events (organization_id, message_sid, status, error_code) values (${org}, ${cb.messageSid}, ${status}, ${code})`);
  const found = await query<{ id: string; changed: boolean }>(
    tx,
    sql`with target as (
        select id, status from sms_messages where organization_id = ${org} and provider_message_id = ${cb.messageSid} for update),
      moved as (
        update sms_messages m set status = ${status},
          delivered_at = case when ${status} = 'delivered' then now() else m.delivered_at end,
          failed_at = case when ${status} in ('failed', 'undelivered') then now() else m.failed_at end,
          sent_at = coalesce(m.sent_at, now()),
          error_code = coalesce(${code}::int, m.error_code),
          updated_at = now()
        from target t
        where m.organization_id = ${org} and m.id = t.id and ${rankSql('t.status')} < ${rankSql(`'${status}'`)}
        returning m.id)
      select t.id, exists (select 1 from moved) as changed from target t`,
  );
  // A reply from the conversations inbox (modules/inbox) sent over SMS moves with its callbacks too.
  if (status === 'delivered' || status === 'failed' || status === 'undelivered') {
    await tx.execute(sql`update chat_messages set delivery_status = ${status === 'delivered' ? 'delivered' : 'failed'},
        delivery_error = case when ${status} = 'delivered' then null else coalesce(delivery_error, ${`Twilio: ${status}${code ? ` (error ${code})` : ''}`}) end
      where organization_id = ${org} and provider_message_id = ${cb.messageSid} and direction = 'outbound' and delivery_status in ('pending', 'sent')`);
  }
  for (const r of found) if (r.changed) await emitSmsStatus(tx, { organizationId: org }, r.id, status);
  for (const r of found) if (r.changed && status === 'delivered') await trackChannelRow(tx, org, 'SMS Delivered', r.id);
  return { found: found.length > 0, changed: found.some((r) => r.changed) };
}

/**
 * Callbacks that came in before their message's sid was recorded: the furthest status of each
 * sid is applied to its message, forward only. Called by the send right after it records sids.
 */
export async function applyPendingStatus(tx: Tx, org: string, sids: string[]) {
  if (!sids.length) return;
  await tx.execute(sql`
    update sms_messages m set status = e.status,
      delivered_at = case when e.status = 'delivered' then now() else m.delivered_at end,
      failed_at = case when e.status in ('failed', 'undelivered') then now() else m.failed_at end,
      error_code = coalesce(e.error_code, m.error_code),
      updated_at = now()
    from (
      select distinct on (message_sid) message_sid, status, error_code from sms_status_events
      where organization_id = ${org} and message_sid = any(${arr(sids)}::text[])
      order by message_sid, ${rankSql('status')} desc, created_at
    ) e
    where m.organization_id = ${org} and m.provider_message_id = e.message_sid and ${rankSql('m.status')} < ${rankSql('e.status')}`);
}
