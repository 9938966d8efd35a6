import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import type { AuditContext } from '../../http/access.js';
import { recordAudit } from '../audit/service.js';
import { normalizeAddress } from '../suppressions/service.js';
import { emitEvent } from '../webhooks/emit.js';
import { loadSmsSettings } from './settings.js';
import { PHONE_KEY, toE164 } from '../../lib/phone.js';

// Messages customers send to the organization's numbers, applied inside the organization's tenant
// transaction (the webhook route finds the organization from the number called). Opt-out keywords
// touch this organization only: the same number in another organization is someone else's customer.

export type Keyword = 'stop' | 'start' | 'help';

const KEYWORDS: Record<string, Keyword> = {
  STOP: 'stop',
  STOPALL: 'stop',
  UNSUBSCRIBE: 'stop',
  CANCEL: 'stop',
  END: 'stop',
  QUIT: 'stop',
  START: 'start',
  UNSTOP: 'start',
  HELP: 'help',
  INFO: 'help',
};

/** The keyword a message is, when its whole text is one (any case, surrounding spaces and punctuation ignored). */
export function keywordOf(body: string): Keyword | null {
  const word = body.trim().replace(/[.!?]+$/, '').toUpperCase();
  return KEYWORDS[word] ?? null;
}

export interface InboundSms {
  messageSid: string;
  from: string;
  to: string;
  body: string;
  numMedia?: number;
  /** Twilio's OptOutType (STOP, START, HELP) when the account's Advanced Opt-Out matched a keyword of its own (ARRET, say). */
  optOutType?: string | null;
}

export interface InboundResult {
  keyword: Keyword | null;
  customerId: string | null;
  /** Text to answer with (TwiML <Message>), or null for no reply. */
  reply: string | null;
  /** False when Twilio delivered this message sid before (a retry): nothing was applied again. */
  stored: boolean;
  /** The sender's number as stored (E.164 when it is one). */
  from: string;
}

/**
 * STOP/STOPALL/UNSUBSCRIBE/CANCEL/END/QUIT: the number goes on the organization's SMS suppression
 * list and its customers' smsOptIn turns false. START/UNSTOP: the opt-out is lifted (a suppression the
 * organization added by hand stays) and smsOptIn turns true again. HELP/INFO: the reply is the
 * organization's help text. Every message is stored, linked to the customer with that number.
 */
export async function applyInboundSms(tx: Tx, ctx: AuditContext, msg: InboundSms): Promise<InboundResult> {
  const org = ctx.organizationId;
  const from = toE164(msg.from) ?? normalizeAddress('sms', msg.from) ?? msg.from.trim();
  const keyword = keywordOf(msg.body) ?? keywordOf(msg.optOutType ?? '');
  const customer = await queryOne<{ id: string }>(
    tx,
    sql`select id from customers where organization_id = ${org} and phone is not null and ${PHONE_KEY} = ${from} order by created_at, id limit 1`,
  );
  const customerId = customer?.id ?? null;
  const inserted = await queryOne<{ id: string }>(
    tx,
    sql`insert into sms_inbound_messages (organization_id, customer_id, provider_message_id, from_number, to_number, body, keyword, num_media)
      values (${org}, ${customerId}, ${msg.messageSid}, ${from}, ${toE164(msg.to) ?? msg.to}, ${msg.body.slice(0, 10_000)}, ${keyword}, ${msg.numMedia ?? 0})
      on conflict do nothing returning id`,
  );
  const stored = Boolean(inserted);
  if (!stored) return { keyword, customerId, reply: keyword === 'help' ? await helpText(tx, org) : null, stored, from };

  if (keyword === 'stop') {
    await tx.execute(sql`insert into suppressions (organization_id, channel, address, reason, source)
      values (${org}, 'sms', ${from}, 'unsubscribed', 'sms_stop') on conflict do nothing`);
    await emitEvent(tx, ctx, 'customer.unsubscribed', { channel: 'sms', address: from, customerId, source: 'sms_stop' });
    const n = await optIn(tx, org, from, false);
    // Messages still waiting for this number are not sent (one already claimed by a run may still go).
    await tx.execute(sql`update sms_messages set status = 'cancelled', error = 'The recipient opted out (STOP)', updated_at = now()
      where organization_id = ${org} and to_phone = ${from} and status = 'queued'`);
    await recordAudit(tx, ctx, { action: 'sms.opted_out', resourceType: 'suppression', resourceId: null, changes: { address: from, keyword: msg.body.trim().toUpperCase(), customers: n } });
  } else if (keyword === 'start') {
    await tx.execute(sql`delete from suppressions
      where organization_id = ${org} and channel = 'sms' and address = ${from} and reason = 'unsubscribed'`);
    const n = await optIn(tx, org, from, true);
    await recordAudit(tx, ctx, { action: 'sms.opted_in', resourceType: 'suppression', resourceId: null, changes: { address: from, keyword: msg.body.trim().toUpperCase(), customers: n } });
  }
  return { keyword, customerId, reply: keyword === 'help' ? await helpText(tx, org) : null, stored, from };
}

async function optIn(tx: Tx, org: string, phone: string, value: boolean) {
  const r = await queryOne<{ n: number }>(
    tx,
    sql`with changed as (update customers set sms_opt_in = ${value}, updated_at = now()
        where organization_id = ${org} and phone is not null and ${PHONE_KEY} = ${phone} and sms_opt_in <> ${value} returning 1)
      select count(*)::int as n from changed`,
  );
  return Number(r?.n ?? 0);
}

/** The organization's HELP reply, or one naming the organization. */
async function helpText(tx: Tx, org: string) {
  const settings = await loadSmsSettings(tx, org);
  if (settings.helpText) return settings.helpText;
  const o = await queryOne<{ name: string }>(tx, sql`select name from organizations where id = ${org}`);
  return `${o?.name ?? 'This number'}: reply STOP to opt out of messages, START to opt back in.`;
}
