import { sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Database } from '../../db/index.js';
import { query, queryOne } from '../../db/sql.js';
import type { Bus } from '../../lib/bus.js';
import { toE164 } from '../../lib/phone.js';
import { meterMessages } from '../billing/limits.js';
import { acquireMailer, classifySendError } from '../email/mailer.js';
import { fromNumberFor } from '../sms/send-service.js';
import { isSuppressed } from '../suppressions/service.js';
import { transportFor } from '../twilio/transport.js';
import { agentChannel, LiveBatch } from './live.js';
import { loadMessage } from './service.js';

// An outbound message on an SMS or email conversation leaves after its row has committed as `pending`:
// no transaction waits on Twilio or the mail server. The outcome (sent with the provider's id, or failed
// with the reason) is written back on the message and announced to the organization's agents. The same
// transaction queues a durable retry (DELIVER_QUEUE, a few minutes later) that sends the message if it is
// still pending then, because the process that wrote it stopped before sending.

type Row = Record<string, any>;
const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** Our reply-to address for a conversation: replies come back through Inbound Parse to the same thread. */
export const replyAddress = (config: Config, conversationId: string) => `reply+${conversationId}@${config.inbox.replyDomain}`;
export const REPLY_ADDRESS = /reply\+([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})@/i;
/** Message-ID of our outbound message (angle brackets included). */
export const messageIdFor = (config: Config, messageId: string) => `<chat-${messageId}@${config.inbox.replyDomain}>`;

interface Outcome {
  status: 'sent' | 'failed';
  error: string | null;
  providerId: string | null;
  emailMessageId?: string | null;
}

export async function deliverMessages(db: Database, config: Config, bus: Bus, org: string, messageIds: string[]) {
  for (const id of messageIds) {
    let outcome: Outcome | null;
    try {
      outcome = await deliverOne(db, config, org, id);
    } catch (err) {
      outcome = { status: 'failed', error: String((err as Error)?.message ?? err).slice(0, 500), providerId: null };
    }
    // Already sent or failed (the durable retry of a message its request had delivered): nothing to do.
    if (!outcome) continue;
    const live = new LiveBatch();
    await db.withTenant(org, async (tx) => {
      await tx.execute(sql`update chat_messages set delivery_status = ${outcome.status}, delivery_error = ${outcome.error},
          provider_message_id = coalesce(${outcome.providerId}, provider_message_id), email_message_id = coalesce(${outcome.emailMessageId ?? null}, email_message_id)
        where organization_id = ${org} and id = ${id} and delivery_status = 'pending'`);
      const m = await loadMessage(tx, org, id);
      if (m) live.add(agentChannel(org), 'message.created', { conversationId: m.conversationId, message: m });
    });
    await live.publish(bus);
  }
}

async function deliverOne(db: Database, config: Config, org: string, id: string): Promise<Outcome | null> {
  const prepared = await db.withTenant(org, async (tx) => {
    const m = await queryOne<Row>(
      tx,
      sql`select m.id, m.body, m.delivery_status, c.id as conversation_id, c.channel, c.contact_address, c.subject, c.customer_id
        from chat_messages m join chat_conversations c on c.organization_id = m.organization_id and c.id = m.conversation_id
        where m.organization_id = ${org} and m.id = ${id}`,
    );
    if (!m || m.delivery_status !== 'pending') return null;
    if (!m.contact_address) return { fail: 'The conversation has no address to reply to' } as const;
    if (m.channel === 'sms') {
      const to = toE164(m.contact_address);
      if (!to) return { fail: 'The conversation has no valid phone number' } as const;
      if (await isSuppressed(tx, org, 'sms', to)) return { fail: 'The recipient opted out of SMS (STOP)' } as const;
      const from = await fromNumberFor(tx, org, null);
      if (!from) return { fail: 'The organization has no SMS-enabled phone number to send from' } as const;
      await meterMessages(tx, org, 'sms', 1, config.billing.plans);
      const transport = await transportFor(tx, org, config);
      return { sms: { from, to, body: m.body as string, transport } } as const;
    }
    if (await isSuppressed(tx, org, 'email', m.contact_address)) return { fail: 'The recipient is on the email suppression list' } as const;
    await meterMessages(tx, org, 'email', 1, config.billing.plans);
    const thread = await query<{ email_message_id: string; direction: string }>(
      tx,
      sql`select email_message_id, direction from chat_messages where organization_id = ${org} and conversation_id = ${m.conversation_id}
        and email_message_id is not null and id <> ${id} order by created_at, id`,
    );
    const o = await queryOne<{ name: string }>(tx, sql`select name from organizations where id = ${org}`);
    return { email: { m, thread, orgName: o?.name ?? 'Support' } } as const;
  });
  if (!prepared) return null;
  if ('fail' in prepared) return { status: 'failed', error: prepared.fail!, providerId: null };
  if ('sms' in prepared && prepared.sms) {
    const { transport, ...sms } = prepared.sms;
    try {
      const sent = await transport.sendSms({ ...sms, statusCallback: `${config.publicUrl}/api/webhooks/sms` });
      return { status: 'sent', error: null, providerId: sent.sid };
    } catch (err) {
      return { status: 'failed', error: String((err as Error).message ?? err).slice(0, 500), providerId: null };
    }
  }
  const { m, thread, orgName } = prepared.email!;
  const ids = thread.map((t) => t.email_message_id);
  const lastInbound = [...thread].reverse().find((t) => t.direction === 'inbound')?.email_message_id ?? ids[ids.length - 1];
  const subject = String(m.subject ?? '').trim() || `Your conversation with ${orgName}`;
  const messageIdHeader = messageIdFor(config, id);
  const headers: Record<string, string> = {};
  if (lastInbound) headers['In-Reply-To'] = lastInbound;
  // References: the thread so far (the first and the last 20, as mail clients trim long chains).
  const refs = ids.length > 21 ? [ids[0], ...ids.slice(-20)] : ids;
  if (refs.length) headers.References = refs.join(' ');
  const { mailer, release } = acquireMailer(config);
  try {
    const res = await mailer.send({
      organizationId: org,
      id,
      from: `"${orgName.replace(/["\\\r\n]/g, '')}" <${config.email.from}>`,
      to: m.contact_address,
      replyTo: replyAddress(config, m.conversation_id),
      subject: /^re:/i.test(subject) ? subject.replace(/[\r\n]+/g, ' ') : `Re: ${subject}`.replace(/[\r\n]+/g, ' '),
      text: m.body,
      html: `<div style="white-space:pre-wrap">${escapeHtml(m.body)}</div>`,
      headers,
      messageIdHeader,
    });
    return { status: 'sent', error: null, providerId: res.providerMessageId, emailMessageId: messageIdHeader };
  } catch (err) {
    return { status: 'failed', error: classifySendError(err).reply, providerId: null, emailMessageId: messageIdHeader };
  } finally {
    release();
  }
}
