import { createHash, timingSafeEqual } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Tx } from '../../db/index.js';
import { query, queryOne } from '../../db/sql.js';
import type { AuditContext } from '../../http/access.js';
import { AppError } from '../../http/errors.js';
import { ErrorOut, type App } from '../../http/types.js';
import { REPLY_ADDRESS } from './delivery.js';
import { LiveBatch } from './live.js';
import { afterCommit, type InboxDeps } from './routes.js';
import * as svc from './service.js';

type Row = Record<string, any>;
const CSAT_ANSWER = /^\s*([1-5])\s*[.!]?\s*$/;
/** How long after the CSAT question a bare 1–5 counts as its answer. */
const CSAT_WINDOW_DAYS = 7;

async function answerCsat(tx: Tx, org: string, conversationId: string | null, body: string, fx: svc.Effects) {
  const m = CSAT_ANSWER.exec(body);
  if (!m || !conversationId) return false;
  const c = await queryOne<Row>(
    tx,
    sql`select id from chat_conversations where organization_id = ${org} and id = ${conversationId} and status = 'resolved' and csat_score is null
      and csat_requested_at > now() - make_interval(days => ${CSAT_WINDOW_DAYS})`,
  );
  if (!c) return false;
  await svc.recordCsat(tx, org, conversationId, Number(m[1]), null, fx);
  return true;
}

/**
 * An SMS from a customer threads into that number's unresolved SMS conversation (one per number until
 * resolved; a snoozed one opens again), else starts one. A bare 1–5 right after the CSAT question of the
 * number's last resolved conversation is its rating instead. Called by the Twilio inbound webhook
 * (modules/sms/inbound.ts) inside the organization's transaction, for messages stored the first time.
 */
export async function threadInboundSms(tx: Tx, ctx: AuditContext, msg: { from: string; body: string; customerId: string | null; messageSid: string }, fx: svc.Effects) {
  const org = ctx.organizationId;
  const body = msg.body.slice(0, 10_000) || '(empty message)';
  let conv = await queryOne<Row>(
    tx,
    sql`select id, status from chat_conversations where organization_id = ${org} and channel = 'sms' and contact_address = ${msg.from} and status <> 'resolved'`,
  );
  if (!conv) {
    const last = await queryOne<Row>(
      tx,
      sql`select id from chat_conversations where organization_id = ${org} and channel = 'sms' and contact_address = ${msg.from} order by resolved_at desc nulls last limit 1`,
    );
    if (await answerCsat(tx, org, last?.id ?? null, body, fx)) return { conversationId: last!.id as string, csat: true };
    const inboxId = await svc.defaultInboxId(tx, org);
    conv = await queryOne<Row>(
      tx,
      sql`insert into chat_conversations (organization_id, inbox_id, channel, customer_id, contact_address)
        values (${org}, ${inboxId}, 'sms', ${msg.customerId}, ${msg.from})
        on conflict (organization_id, contact_address) where channel = 'sms' and status <> 'resolved' do nothing returning id, status`,
    );
    if (conv) await svc.conversationCreated(tx, org, { id: conv.id as string, customerId: msg.customerId, channel: 'sms', inboxId });
    conv ??= await queryOne<Row>(tx, sql`select id, status from chat_conversations where organization_id = ${org} and channel = 'sms' and contact_address = ${msg.from} and status <> 'resolved'`);
    await svc.insertMessage(tx, org, conv!.id, { direction: 'inbound', authorType: 'customer', body, providerMessageId: msg.messageSid }, fx);
    await svc.announceConversation(tx, org, conv!.id, fx, 'conversation.created');
  } else {
    const reopened = await svc.reopenOnCustomerMessage(tx, org, conv.id);
    await svc.insertMessage(tx, org, conv.id, { direction: 'inbound', authorType: 'customer', body, providerMessageId: msg.messageSid }, fx);
    if (reopened) await svc.announceConversation(tx, org, conv.id, fx, 'conversation.updated');
  }
  await svc.maybeOutOfHoursReply(tx, org, conv!.id, fx);
  return { conversationId: conv!.id as string, csat: false };
}

// ---------------------------------------------------------------------------------------------------------
// SendGrid Inbound Parse

/** Largest Inbound Parse post taken (SendGrid's own cap is 30 MB; attachments are not kept). */
export const INBOUND_EMAIL_LIMIT = 10 * 1024 * 1024;
const FIELDS = new Set(['from', 'to', 'cc', 'subject', 'text', 'html', 'headers', 'envelope']);

/** A header's value from a raw header block (unfolded), or null. */
export function headerOf(block: string, name: string): string | null {
  const unfolded = block.replace(/\r?\n[ \t]+/g, ' ');
  const re = new RegExp(`^${name}:[ \\t]*(.*)$`, 'im');
  return re.exec(unfolded)?.[1]?.trim() ?? null;
}
const messageIds = (v: string | null) => (v ?? '').match(/<[^<>\s]{1,250}>/g) ?? [];
export const addressOf = (v: string) => (/<([^<>\s]+@[^<>\s]+)>/.exec(v)?.[1] ?? /([^\s<>"]+@[^\s<>",]+)/.exec(v)?.[1] ?? '').toLowerCase();

/** The new text of a reply: quoted lines and the "On … wrote:" line above them dropped. */
export function replyText(text: string) {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  const out: string[] = [];
  for (const line of lines) {
    if (/^On .{3,200} wrote:\s*$/.test(line) || /^-{2,}\s*Original Message\s*-{2,}/i.test(line)) break;
    if (/^\s*>/.test(line)) continue;
    out.push(line);
  }
  return out.join('\n').trim();
}

const stripHtml = (html: string) => html.replace(/<(script|style)[\s\S]*?<\/\1>/gi, '').replace(/<br\s*\/?>/gi, '\n').replace(/<\/p>/gi, '\n').replace(/<[^>]+>/g, '').replace(/&nbsp;/g, ' ').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');

export interface InboundEmail {
  from: string;
  to: string;
  subject: string;
  text: string;
  headers: string;
}

/** Threads one inbound email: by our reply-to address, else In-Reply-To/References, else a new conversation of the sender. */
export async function applyInboundEmail(tx: Tx, org: string, inbox: Row, mail: InboundEmail, fx: svc.Effects) {
  const from = addressOf(mail.from);
  if (!from) throw new AppError('validation_failed', 'No sender address', [{ in: 'body', path: 'from', message: 'Required' }]);
  const messageId = messageIds(headerOf(mail.headers, 'Message-ID'))[0] ?? null;
  if (messageId && (await queryOne(tx, sql`select 1 as x from chat_messages where organization_id = ${org} and email_message_id = ${messageId}`))) {
    return { conversationId: null, duplicate: true };
  }
  let conversationId: string | null = null;
  const tagged = REPLY_ADDRESS.exec(`${mail.to} ${headerOf(mail.headers, 'To') ?? ''} ${headerOf(mail.headers, 'Cc') ?? ''}`)?.[1]?.toLowerCase();
  if (tagged) {
    conversationId = (await queryOne<Row>(tx, sql`select id from chat_conversations where organization_id = ${org} and id = ${tagged} and channel = 'email'`))?.id ?? null;
  }
  const refs = [...messageIds(headerOf(mail.headers, 'In-Reply-To')), ...messageIds(headerOf(mail.headers, 'References')).reverse()];
  if (!conversationId && refs.length) {
    const hit = await query<Row>(
      tx,
      sql`select m.conversation_id from chat_messages m join chat_conversations c on c.organization_id = m.organization_id and c.id = m.conversation_id
        where m.organization_id = ${org} and c.channel = 'email' and m.email_message_id in (${sql.join(refs.slice(0, 50).map((r) => sql`${r}`), sql`, `)}) limit 1`,
    );
    conversationId = hit[0]?.conversation_id ?? null;
  }
  const text = replyText(mail.text) || mail.text.trim() || '(empty message)';
  const body = text.slice(0, 20_000);
  if (conversationId && (await answerCsat(tx, org, conversationId, body, fx))) return { conversationId, duplicate: false };
  let created = false;
  if (!conversationId) {
    const customer = await queryOne<{ id: string }>(tx, sql`select id from customers where organization_id = ${org} and lower(email) = ${from} order by created_at, id limit 1`);
    const c = await queryOne<Row>(
      tx,
      sql`insert into chat_conversations (organization_id, inbox_id, channel, customer_id, contact_address, subject)
        values (${org}, ${inbox.id}, 'email', ${customer?.id ?? null}, ${from}, ${mail.subject.replace(/[\r\n]+/g, ' ').slice(0, 300) || null}) returning id`,
    );
    conversationId = c!.id;
    created = true;
    await svc.conversationCreated(tx, org, { id: c!.id as string, customerId: customer?.id ?? null, channel: 'email', inboxId: inbox.id as string });
  }
  const reopened = created ? false : await svc.reopenOnCustomerMessage(tx, org, conversationId!);
  await svc.insertMessage(tx, org, conversationId!, { direction: 'inbound', authorType: 'customer', body, emailMessageId: messageId }, fx);
  if (created || reopened) await svc.announceConversation(tx, org, conversationId!, fx, created ? 'conversation.created' : 'conversation.updated');
  await svc.maybeOutOfHoursReply(tx, org, conversationId!, fx);
  return { conversationId, duplicate: false };
}

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest();

export function registerInboundEmail(app: App, deps: InboxDeps) {
  const { db } = deps;
  app.post('/api/chat/inbound/email/:secret', {
    config: { access: 'public', csrf: false },
    bodyLimit: INBOUND_EMAIL_LIMIT,
    schema: {
      tags: ['inbox'],
      operationId: 'inboundEmail',
      summary: "SendGrid Inbound Parse (multipart/form-data): an email reply threaded into its conversation by our reply-to address or In-Reply-To/References. The URL's secret names the inbox",
      params: z.object({ secret: z.string().max(200) }),
      response: { 200: z.object({ received: z.boolean(), conversationId: z.uuid().nullable() }), 401: ErrorOut, 413: ErrorOut, 415: ErrorOut },
    },
    handler: async (req) => {
      const m = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.([A-Za-z0-9_-]{16,100})$/.exec(req.params.secret);
      if (!m) throw new AppError('unauthorized', 'Unknown inbound address');
      if (Number(req.headers['content-length'] ?? 0) > INBOUND_EMAIL_LIMIT) throw new AppError('payload_too_large');
      if (!req.isMultipart()) throw new AppError('unsupported_media_type', 'Inbound Parse posts multipart/form-data');
      const [, org, secret] = m;
      const given = sha(secret);
      const inbox = await db.withTenant(org, async (tx) => {
        const rows = await query<Row>(tx, sql`select * from chat_inboxes where organization_id = ${org}`);
        let found: Row | null = null;
        for (const r of rows) if (timingSafeEqual(Buffer.from(r.email_secret_hash, 'hex'), given)) found = r;
        return found;
      });
      if (!inbox) throw new AppError('unauthorized', 'Unknown inbound address');
      const fields: Record<string, string> = {};
      try {
        for await (const part of req.parts({ limits: { fields: 60, fieldSize: 2 * 1024 * 1024, files: 20, fileSize: INBOUND_EMAIL_LIMIT, parts: 100 } })) {
          if (part.type === 'file') {
            part.file.resume(); // attachments are not kept
            continue;
          }
          if (FIELDS.has(part.fieldname) && typeof part.value === 'string') fields[part.fieldname] = part.value;
        }
      } catch (err) {
        const code = (err as { code?: string }).code ?? '';
        if (/LIMIT|TOO_LARGE/i.test(code)) throw new AppError('payload_too_large', 'The inbound email is too large');
        throw new AppError('bad_request', 'Malformed multipart body');
      }
      const fx: svc.Effects = { live: new LiveBatch(), outbound: [] };
      const out = await db.withTenant(org, (tx) =>
        applyInboundEmail(tx, org, inbox, { from: fields.from ?? '', to: fields.to ?? '', subject: fields.subject ?? '', text: fields.text ?? (fields.html ? stripHtml(fields.html) : ''), headers: fields.headers ?? '' }, fx),
      );
      await afterCommit(deps, org, fx);
      return { received: true, conversationId: out.conversationId };
    },
  });
}
