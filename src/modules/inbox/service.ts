import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { sql, type SQL } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Role, Tx } from '../../db/index.js';
import { arr, query, queryOne } from '../../db/sql.js';
import { roleAtLeast, type AuditContext, type TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { cancelQueuedJob, enqueueJob, rescheduleQueuedJob } from '../../jobs/queue.js';
import { openSecret, sealSecret } from '../../lib/secret-box.js';
import { trackInternal } from '../analytics/index.js';
import { recordAudit } from '../audit/service.js';
import { withinBusinessHours } from './hours.js';
import { agentChannel, visitorChannel, type LiveBatch } from './live.js';
import type { BusinessHours, ConversationOut, MessageOut } from './schemas.js';

export const WAKE_QUEUE = 'inbox.wake';
/** Sends an outbound SMS or email reply still `pending` when its time comes (see queueDelivery). */
export const DELIVER_QUEUE = 'inbox.deliver';
/** How long after its commit a pending reply is left to the request that wrote it before the worker sends it. */
export const DELIVERY_RETRY_MS = 5 * 60_000;

/**
 * An outbound message to send once this transaction commits (fx.outbound, by the request), with a durable
 * retry queued in the same transaction: if the process stops between the commit and the provider's answer,
 * the worker sends the message later. The retry sends only a message still pending, so a delivered one
 * leaves it with nothing to do.
 */
async function queueDelivery(tx: Tx, org: string, fx: Effects, messageId: string) {
  fx.outbound.push(messageId);
  await enqueueJob(tx, org, DELIVER_QUEUE, { messageId }, { singletonKey: `inbox-deliver:${messageId}`, runAt: new Date(Date.now() + DELIVERY_RETRY_MS), maxAttempts: 3 });
}
export const wakeJobKey = (conversationId: string) => `inbox-wake:${conversationId}`;
export const CSAT_QUESTION = 'How would you rate the help you received? Reply with a number from 1 (poor) to 5 (great).';

type Row = Record<string, any>;
const iso = (v: unknown) => (v == null ? null : v instanceof Date ? v.toISOString() : new Date(String(v)).toISOString());
const isoNN = (v: unknown) => iso(v)!;
const preview = (body: string) => body.replace(/\s+/g, ' ').trim().slice(0, 140);

// ---------------------------------------------------------------------------------------------------------
// Inboxes

const identityContext = (org: string, id: string) => `chat-inbox-identity:${org}:${id}`;
const emailContext = (org: string, id: string) => `chat-inbox-email:${org}:${id}`;
export const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
/** `<organization id>.<random>`: names its organization, so the public side never reads across tenants. */
const newSiteToken = (org: string) => `${org}.${randomBytes(18).toString('base64url')}`;
export const organizationOfToken = (token: string) => {
  const m = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.[A-Za-z0-9_-]{16,100}$/.exec(token);
  return m ? m[1] : null;
};

export function emailInboundUrl(config: Config, org: string, secret: string) {
  return `${config.publicUrl}/api/chat/inbound/email/${org}.${secret}`;
}

function toInbox(r: Row, config: Config, role: Role | null) {
  const admin = roleAtLeast(role, 'admin');
  return {
    id: r.id,
    name: r.name,
    siteToken: r.site_token,
    identitySecret: admin ? openSecret(r.identity_secret_encrypted, config.secrets.encryptionKey, identityContext(r.organization_id, r.id)) : null,
    greeting: r.greeting,
    businessHours: (r.business_hours as BusinessHours | null) ?? null,
    outOfHoursReply: r.out_of_hours_reply,
    csatEnabled: r.csat_enabled,
    allowedOrigins: r.allowed_origins ?? [],
    emailInboundUrl: admin
      ? emailInboundUrl(config, r.organization_id, openSecret(r.email_secret_encrypted, config.secrets.encryptionKey, emailContext(r.organization_id, r.id)))
      : null,
    createdAt: isoNN(r.created_at),
  };
}

export async function listInboxes(tx: Tx, ctx: TenantContext, config: Config) {
  const rows = await query<Row>(tx, sql`select * from chat_inboxes where organization_id = ${ctx.organizationId} order by created_at, id`);
  return { data: rows.map((r) => toInbox(r, config, ctx.role)) };
}

async function inboxRow(tx: Tx, org: string, id: string) {
  return queryOne<Row>(tx, sql`select * from chat_inboxes where organization_id = ${org} and id = ${id}`);
}

export async function getInbox(tx: Tx, ctx: TenantContext, config: Config, id: string) {
  const r = await inboxRow(tx, ctx.organizationId, id);
  if (!r) throw notFound();
  return toInbox(r, config, ctx.role);
}

interface InboxFields {
  name?: string;
  greeting?: string;
  businessHours?: BusinessHours | null;
  outOfHoursReply?: string;
  csatEnabled?: boolean;
  allowedOrigins?: string[];
}

export async function createInbox(tx: Tx, ctx: TenantContext, config: Config, body: InboxFields & { name: string }) {
  const org = ctx.organizationId;
  const id = randomUUID();
  const identity = randomBytes(32).toString('hex');
  const emailSecret = randomBytes(24).toString('base64url');
  const key = config.secrets.encryptionKey;
  const [r] = await query<Row>(
    tx,
    sql`insert into chat_inboxes (organization_id, id, name, greeting, site_token, identity_secret_encrypted, email_secret_hash, email_secret_encrypted, business_hours, out_of_hours_reply, csat_enabled, allowed_origins)
      values (${org}, ${id}, ${body.name}, ${body.greeting ?? ''}, ${newSiteToken(org)}, ${sealSecret(identity, key, identityContext(org, id))},
        ${sha256(emailSecret)}, ${sealSecret(emailSecret, key, emailContext(org, id))}, ${body.businessHours ? JSON.stringify(body.businessHours) : null}::jsonb,
        ${body.outOfHoursReply ?? ''}, ${body.csatEnabled ?? true}, ${arr((body.allowedOrigins ?? []).map((o) => o.toLowerCase()))}::text[])
      returning *`,
  );
  await recordAudit(tx, ctx, { action: 'chat_inbox.created', resourceType: 'chat_inbox', resourceId: id, changes: { name: body.name } });
  return toInbox(r, config, ctx.role);
}

export async function updateInbox(tx: Tx, ctx: TenantContext, config: Config, id: string, body: InboxFields) {
  const sets: SQL[] = [sql`updated_at = now()`];
  if (body.name !== undefined) sets.push(sql`name = ${body.name}`);
  if (body.greeting !== undefined) sets.push(sql`greeting = ${body.greeting}`);
  if (body.businessHours !== undefined) sets.push(sql`business_hours = ${body.businessHours ? JSON.stringify(body.businessHours) : null}::jsonb`);
  if (body.outOfHoursReply !== undefined) sets.push(sql`out_of_hours_reply = ${body.outOfHoursReply}`);
  if (body.csatEnabled !== undefined) sets.push(sql`csat_enabled = ${body.csatEnabled}`);
  if (body.allowedOrigins !== undefined) sets.push(sql`allowed_origins = ${arr(body.allowedOrigins.map((o) => o.toLowerCase()))}::text[]`);
  const r = await queryOne<Row>(tx, sql`update chat_inboxes set ${sql.join(sets, sql`, `)} where organization_id = ${ctx.organizationId} and id = ${id} returning *`);
  if (!r) throw notFound();
  await recordAudit(tx, ctx, { action: 'chat_inbox.updated', resourceType: 'chat_inbox', resourceId: id, changes: { fields: Object.keys(body) } });
  return toInbox(r, config, ctx.role);
}

export async function rotateSiteToken(tx: Tx, ctx: TenantContext, config: Config, id: string) {
  const r = await queryOne<Row>(
    tx,
    sql`update chat_inboxes set site_token = ${newSiteToken(ctx.organizationId)}, updated_at = now() where organization_id = ${ctx.organizationId} and id = ${id} returning *`,
  );
  if (!r) throw notFound();
  await recordAudit(tx, ctx, { action: 'chat_inbox.token_rotated', resourceType: 'chat_inbox', resourceId: id });
  return toInbox(r, config, ctx.role);
}

export async function deleteInbox(tx: Tx, ctx: TenantContext, id: string) {
  const r = await queryOne(tx, sql`delete from chat_inboxes where organization_id = ${ctx.organizationId} and id = ${id} returning id`);
  if (!r) throw notFound();
  await recordAudit(tx, ctx, { action: 'chat_inbox.deleted', resourceType: 'chat_inbox', resourceId: id });
}

/** The inbox a widget's site token names, inside the organization the token names (the caller's tenant). */
export async function inboxBySiteToken(tx: Tx, org: string, token: string) {
  return queryOne<Row>(tx, sql`select * from chat_inboxes where organization_id = ${org} and site_token = ${token}`);
}

export const identitySecretOf = (config: Config, inbox: Row) =>
  openSecret(inbox.identity_secret_encrypted, config.secrets.encryptionKey, identityContext(inbox.organization_id, inbox.id));
export const emailSecretOf = (config: Config, inbox: Row) =>
  openSecret(inbox.email_secret_encrypted, config.secrets.encryptionKey, emailContext(inbox.organization_id, inbox.id));

// ---------------------------------------------------------------------------------------------------------
// Conversations

const conversationSelect = (org: string) => sql`select c.*, c.last_message_at::text as cursor_ts, u.email as a_email, u.name as a_name,
    cu.email as cu_email, cu.phone as cu_phone, cu.first_name as cu_first, cu.last_name as cu_last
  from chat_conversations c
  left join users u on u.id = c.assignee_id
  left join customers cu on cu.organization_id = c.organization_id and cu.id = c.customer_id
  where c.organization_id = ${org}`;

export function toConversation(r: Row): ConversationOut {
  return {
    id: r.id,
    inboxId: r.inbox_id ?? null,
    channel: r.channel,
    status: r.status,
    snoozedUntil: iso(r.snoozed_until),
    assignee: r.assignee_id && r.a_email ? { id: r.assignee_id, email: r.a_email, name: r.a_name } : null,
    teamId: r.team_id ?? null,
    labels: r.labels ?? [],
    customer: r.customer_id ? { id: r.customer_id, email: r.cu_email ?? null, phone: r.cu_phone ?? null, firstName: r.cu_first ?? null, lastName: r.cu_last ?? null } : null,
    visitorName: r.visitor_name ?? null,
    subject: r.subject ?? null,
    lastMessageAt: isoNN(r.last_message_at),
    lastMessagePreview: r.last_message_preview,
    unread: Number(r.unread ?? 0),
    csatScore: r.csat_score ?? null,
    csatComment: r.csat_comment ?? null,
    createdAt: isoNN(r.created_at),
  };
}

export async function loadConversation(tx: Tx, org: string, id: string) {
  const r = await queryOne<Row>(tx, sql`${conversationSelect(org)} and c.id = ${id}`);
  return r ? toConversation(r) : null;
}

export async function getConversation(tx: Tx, org: string, id: string) {
  const c = await loadConversation(tx, org, id);
  if (!c) throw notFound();
  return c;
}

const encodeCursor = (ts: string, id: string) => Buffer.from(JSON.stringify([ts, id])).toString('base64url');
function decodeCursor(cursor: string) {
  try {
    const [ts, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof ts !== 'string' || !/^\d{4}-\d{2}-\d{2}[ T][\d:.+-]+$/.test(ts) || ts.length > 40) throw new Error('ts');
    if (typeof id !== 'string' || !/^[0-9a-f-]{36}$/i.test(id)) throw new Error('id');
    return { ts, id };
  } catch {
    throw new AppError('validation_failed', 'Invalid cursor', [{ in: 'querystring', path: 'cursor', message: 'Invalid cursor' }]);
  }
}

export interface ConversationFilters {
  limit: number;
  cursor?: string;
  status?: string;
  assigneeId?: string;
  assigned?: boolean;
  teamId?: string;
  label?: string;
  channel?: string;
  customerId?: string;
  inboxId?: string;
}

/** Most recent activity first, keyset over (last_message_at, id). */
export async function listConversations(tx: Tx, org: string, q: ConversationFilters) {
  const where: SQL[] = [];
  if (q.status) where.push(sql`c.status = ${q.status}`);
  if (q.assigneeId) where.push(sql`c.assignee_id = ${q.assigneeId}`);
  if (q.assigned !== undefined) where.push(q.assigned ? sql`c.assignee_id is not null` : sql`c.assignee_id is null`);
  if (q.teamId) where.push(sql`c.team_id = ${q.teamId}`);
  if (q.label) where.push(sql`${q.label} = any(c.labels)`);
  if (q.channel) where.push(sql`c.channel = ${q.channel}`);
  if (q.customerId) where.push(sql`c.customer_id = ${q.customerId}`);
  if (q.inboxId) where.push(sql`c.inbox_id = ${q.inboxId}`);
  if (q.cursor) {
    const cur = decodeCursor(q.cursor);
    where.push(sql`(c.last_message_at, c.id) < (${cur.ts}::timestamptz, ${cur.id}::uuid)`);
  }
  const rows = await query<Row>(
    tx,
    sql`${conversationSelect(org)} ${where.length ? sql`and ${sql.join(where, sql` and `)}` : sql``}
      order by c.last_message_at desc, c.id desc limit ${q.limit + 1}`,
  );
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return { data: page.map(toConversation), nextCursor: rows.length > q.limit && last ? encodeCursor(last.cursor_ts, last.id) : null };
}

async function assertMember(tx: Tx, org: string, userId: string, path: string) {
  const m = await queryOne(tx, sql`select 1 as ok from memberships where organization_id = ${org} and user_id = ${userId}`);
  if (!m) throw new AppError('validation_failed', 'Not a member of this organization', [{ in: 'body', path, message: 'Unknown member' }]);
}
async function assertTeam(tx: Tx, org: string, teamId: string) {
  const t = await queryOne(tx, sql`select 1 as ok from chat_teams where organization_id = ${org} and id = ${teamId}`);
  if (!t) throw new AppError('validation_failed', 'No such team', [{ in: 'body', path: 'teamId', message: 'Unknown team' }]);
}

export interface Effects {
  live: LiveBatch;
  /** Outbound messages (CSAT question) to hand to their channel once committed. */
  outbound: string[];
  /** A job was queued: poke the worker. */
  poke?: boolean;
}

/** Publishes a conversation change to the organization's agents (and the visitor, for status). */
export async function announceConversation(tx: Tx, org: string, id: string, fx: Effects, event: 'conversation.created' | 'conversation.updated') {
  const c = await loadConversation(tx, org, id);
  if (!c) return null;
  fx.live.add(agentChannel(org), event, { conversationId: id, conversation: c });
  const v = await queryOne<{ visitor_id: string | null }>(tx, sql`select visitor_id from chat_conversations where organization_id = ${org} and id = ${id}`);
  if (v?.visitor_id) fx.live.add(visitorChannel(org, v.visitor_id), 'conversation.updated', { conversationId: id, conversation: toWidgetConversation(c) });
  return c;
}

export const toWidgetConversation = (c: ConversationOut | Row) =>
  'lastMessagePreview' in c
    ? { id: c.id, status: c.status, lastMessageAt: c.lastMessageAt, lastMessagePreview: c.lastMessagePreview, csatScore: c.csatScore, createdAt: c.createdAt }
    : { id: c.id, status: c.status, lastMessageAt: isoNN(c.last_message_at), lastMessagePreview: c.last_message_preview, csatScore: c.csat_score ?? null, createdAt: isoNN(c.created_at) };

export interface ConversationPatchBody {
  status?: 'open' | 'pending' | 'snoozed' | 'resolved';
  snoozedUntil?: string | null;
  assigneeId?: string | null;
  teamId?: string | null;
  labels?: string[];
}

/**
 * Status, snooze, assignment, team and labels in one write. Snoozing needs a future snoozedUntil (a
 * durable job reopens the conversation then); resolving sends the CSAT question when the inbox asks
 * for one and records `Conversation Resolved` for the customer's reports.
 */
export async function patchConversation(tx: Tx, ctx: AuditContext, id: string, body: ConversationPatchBody, fx: Effects) {
  const org = ctx.organizationId;
  const cur = await queryOne<Row>(tx, sql`select * from chat_conversations where organization_id = ${org} and id = ${id} for update`);
  if (!cur) throw notFound();
  const sets: SQL[] = [sql`updated_at = now()`];
  let status = body.status ?? cur.status;
  if (body.snoozedUntil && !body.status) status = 'snoozed';
  if (status === 'snoozed') {
    const until = body.snoozedUntil ?? (cur.status === 'snoozed' ? iso(cur.snoozed_until) : null);
    if (!until || new Date(until).getTime() <= Date.now()) {
      throw new AppError('validation_failed', 'Snoozing needs a snoozedUntil in the future', [{ in: 'body', path: 'snoozedUntil', message: 'Must be in the future' }]);
    }
    sets.push(sql`status = 'snoozed'`, sql`snoozed_until = ${until}::timestamptz`);
    await rescheduleQueuedJob(tx, org, wakeJobKey(id), new Date(until));
    await enqueueJob(tx, org, WAKE_QUEUE, { conversationId: id }, { singletonKey: wakeJobKey(id), runAt: new Date(until), maxAttempts: 5 });
    fx.poke = true;
  } else if (body.status || body.snoozedUntil === null) {
    sets.push(sql`status = ${status}`, sql`snoozed_until = null`);
    if (cur.status === 'snoozed') await cancelQueuedJob(tx, org, wakeJobKey(id));
  }
  const resolving = status === 'resolved' && cur.status !== 'resolved';
  if (resolving) sets.push(sql`resolved_at = now()`);
  if (status !== 'resolved' && cur.status === 'resolved') sets.push(sql`resolved_at = null`, sql`csat_requested_at = null`);
  if (body.assigneeId !== undefined) {
    if (body.assigneeId) await assertMember(tx, org, body.assigneeId, 'assigneeId');
    sets.push(sql`assignee_id = ${body.assigneeId}`);
  }
  if (body.teamId !== undefined) {
    if (body.teamId) await assertTeam(tx, org, body.teamId);
    sets.push(sql`team_id = ${body.teamId}`);
  }
  if (body.labels !== undefined) sets.push(sql`labels = ${arr([...new Set(body.labels)])}::text[]`);
  await tx.execute(sql`update chat_conversations set ${sql.join(sets, sql`, `)} where organization_id = ${org} and id = ${id}`);
  if (resolving) await onResolved(tx, org, id, fx);
  await recordAudit(tx, ctx, { action: 'chat_conversation.updated', resourceType: 'chat_conversation', resourceId: id, changes: body as Record<string, unknown> });
  return (await announceConversation(tx, org, id, fx, 'conversation.updated'))!;
}

/** A new conversation on the customer's timeline and in the conversations report (anonymous visitors have neither). */
export async function conversationCreated(tx: Tx, org: string, c: { id: string; customerId: string | null; channel: string; inboxId: string | null }) {
  await trackInternal(tx, org, c.customerId, 'Conversation Created', { conversationId: c.id, channel: c.channel, inboxId: c.inboxId }, { key: c.id });
}

async function onResolved(tx: Tx, org: string, id: string, fx: Effects) {
  const c = (await queryOne<Row>(
    tx,
    sql`select c.*, i.csat_enabled from chat_conversations c left join chat_inboxes i on i.organization_id = c.organization_id and i.id = c.inbox_id
      where c.organization_id = ${org} and c.id = ${id}`,
  ))!;
  await trackInternal(tx, org, c.customer_id, 'Conversation Resolved', { conversationId: id, channel: c.channel, inboxId: c.inbox_id, assigneeId: c.assignee_id }, { key: `${id}:${isoNN(c.resolved_at)}` });
  if ((c.csat_enabled ?? true) && c.csat_score == null) {
    await tx.execute(sql`update chat_conversations set csat_requested_at = now() where organization_id = ${org} and id = ${id}`);
    // The widget shows its own rating control on a resolved conversation; SMS and email get the question as text.
    if (c.channel !== 'web') {
      const m = await insertMessage(tx, org, id, { direction: 'outbound', authorType: 'system', body: CSAT_QUESTION, deliveryStatus: 'pending' }, fx, { touch: false });
      await queueDelivery(tx, org, fx, m.id);
    }
  }
}

/** A CSAT answer (1–5), once per resolution; recorded as the customer's `CSAT Submitted` event. */
export async function recordCsat(tx: Tx, org: string, id: string, score: number, comment: string | null, fx: Effects) {
  const r = await queryOne<Row>(
    tx,
    sql`update chat_conversations set csat_score = ${score}, csat_comment = ${comment}, csat_answered_at = now(), updated_at = now()
      where organization_id = ${org} and id = ${id} and status = 'resolved' and csat_score is null returning customer_id, channel, assignee_id`,
  );
  if (!r) throw new AppError('conflict', 'A rating is taken once, after the conversation is resolved');
  await trackInternal(tx, org, r.customer_id, 'CSAT Submitted', { conversationId: id, channel: r.channel, score, assigneeId: r.assignee_id }, { key: id });
  return announceConversation(tx, org, id, fx, 'conversation.updated');
}

/**
 * Round robin: the available agent (of the team, when the conversation has one) assigned least recently.
 * The choice is serialized per organization (an advisory lock), so two assignments at once pick two agents.
 */
export async function assignRoundRobin(tx: Tx, ctx: AuditContext, id: string, fx: Effects) {
  const org = ctx.organizationId;
  const cur = await queryOne<Row>(tx, sql`select team_id from chat_conversations where organization_id = ${org} and id = ${id} for update`);
  if (!cur) throw notFound();
  await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`chat-rr:${org}`}))`);
  const pick = await queryOne<{ user_id: string }>(
    tx,
    sql`select m.user_id from memberships m
      left join chat_agents a on a.organization_id = m.organization_id and a.user_id = m.user_id
      where m.organization_id = ${org} and coalesce(a.available, true)
        ${cur.team_id ? sql`and m.user_id in (select user_id from chat_team_members where organization_id = ${org} and team_id = ${cur.team_id})` : sql``}
      order by a.last_assigned_at asc nulls first, m.created_at, m.user_id limit 1`,
  );
  if (!pick) throw new AppError('conflict', cur.team_id ? 'No member of the team is available' : 'No agent is available');
  await tx.execute(sql`insert into chat_agents (organization_id, user_id, available, last_assigned_at) values (${org}, ${pick.user_id}, true, clock_timestamp())
    on conflict (organization_id, user_id) do update set last_assigned_at = clock_timestamp()`);
  await tx.execute(sql`update chat_conversations set assignee_id = ${pick.user_id}, updated_at = now() where organization_id = ${org} and id = ${id}`);
  await recordAudit(tx, ctx, { action: 'chat_conversation.assigned', resourceType: 'chat_conversation', resourceId: id, changes: { assigneeId: pick.user_id, strategy: 'round-robin' } });
  return (await announceConversation(tx, org, id, fx, 'conversation.updated'))!;
}

// ---------------------------------------------------------------------------------------------------------
// Messages

const messageSelect = (org: string) => sql`select m.*, u.name as author_name from chat_messages m left join users u on u.id = m.author_user_id where m.organization_id = ${org}`;

export function toMessage(r: Row): MessageOut {
  return {
    id: r.id,
    conversationId: r.conversation_id,
    direction: r.direction,
    private: r.private,
    authorType: r.author_type,
    author: r.author_user_id ? { id: r.author_user_id, name: r.author_name ?? '' } : null,
    body: r.body,
    deliveryStatus: r.delivery_status ?? null,
    deliveryError: r.delivery_error ?? null,
    createdAt: isoNN(r.created_at),
  };
}

export const toWidgetMessage = (m: MessageOut) => ({
  id: m.id,
  conversationId: m.conversationId,
  direction: m.direction,
  authorType: m.authorType,
  authorName: m.authorType === 'agent' ? (m.author?.name ?? null) : null,
  body: m.body,
  createdAt: m.createdAt,
});

export async function loadMessage(tx: Tx, org: string, id: string) {
  const r = await queryOne<Row>(tx, sql`${messageSelect(org)} and m.id = ${id}`);
  return r ? toMessage(r) : null;
}

/** Oldest first (a conversation reads in the order it happened); keyset over (created_at, id). */
export async function listMessages(tx: Tx, org: string, conversationId: string, q: { limit: number; cursor?: string }, opts: { includePrivate: boolean }) {
  const where: SQL[] = [sql`m.conversation_id = ${conversationId}`];
  if (!opts.includePrivate) where.push(sql`not m.private`);
  if (q.cursor) {
    const cur = decodeCursor(q.cursor);
    where.push(sql`(m.created_at, m.id) > (${cur.ts}::timestamptz, ${cur.id}::uuid)`);
  }
  const rows = await query<Row>(tx, sql`select x.*, x.created_at::text as cursor_ts from (${messageSelect(org)} and ${sql.join(where, sql` and `)}) x order by x.created_at, x.id limit ${q.limit + 1}`);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return { data: page.map(toMessage), nextCursor: rows.length > q.limit && last ? encodeCursor(last.cursor_ts, last.id) : null };
}

export interface NewMessage {
  direction: 'inbound' | 'outbound';
  authorType: 'customer' | 'agent' | 'system';
  authorUserId?: string | null;
  body: string;
  private?: boolean;
  deliveryStatus?: 'pending' | 'sent' | 'delivered' | 'failed' | null;
  providerMessageId?: string | null;
  emailMessageId?: string | null;
}

/**
 * Stores a message, moves the conversation's last activity and unread count, and announces it: agents
 * get every message (notes included); the visitor's widget only what is not private.
 */
export async function insertMessage(tx: Tx, org: string, conversationId: string, m: NewMessage, fx: Effects, opts: { touch?: boolean } = {}) {
  const [r] = await query<Row>(
    tx,
    sql`insert into chat_messages (organization_id, conversation_id, direction, private, author_type, author_user_id, body, delivery_status, provider_message_id, email_message_id, created_at)
      values (${org}, ${conversationId}, ${m.direction}, ${m.private ?? false}, ${m.authorType}, ${m.authorUserId ?? null}, ${m.body}, ${m.deliveryStatus ?? null},
        ${m.providerMessageId ?? null}, ${m.emailMessageId ?? null}, clock_timestamp())
      returning id`,
  );
  if (opts.touch !== false && !m.private) {
    await tx.execute(sql`update chat_conversations set last_message_at = clock_timestamp(), last_message_preview = ${preview(m.body)}, updated_at = now(),
        unread = ${m.direction === 'inbound' ? sql`unread + 1` : sql`0`}
      where organization_id = ${org} and id = ${conversationId}`);
  }
  const msg = (await loadMessage(tx, org, r.id))!;
  fx.live.add(agentChannel(org), 'message.created', { conversationId, message: msg });
  if (!msg.private) {
    const v = await queryOne<{ visitor_id: string | null }>(tx, sql`select visitor_id from chat_conversations where organization_id = ${org} and id = ${conversationId}`);
    if (v?.visitor_id) fx.live.add(visitorChannel(org, v.visitor_id), 'message.created', { conversationId, message: toWidgetMessage(msg) });
  }
  return msg;
}

/** An agent's reply or private note. A reply to a resolved or snoozed conversation reopens nothing: the agent sets the status. */
export async function postAgentMessage(tx: Tx, ctx: TenantContext, conversationId: string, body: { body: string; private?: boolean }, fx: Effects) {
  const org = ctx.organizationId;
  const conv = await queryOne<Row>(tx, sql`select channel from chat_conversations where organization_id = ${org} and id = ${conversationId}`);
  if (!conv) throw notFound();
  const isPrivate = body.private ?? false;
  const viaProvider = !isPrivate && conv.channel !== 'web';
  const msg = await insertMessage(
    tx,
    org,
    conversationId,
    {
      direction: 'outbound',
      authorType: ctx.actor.type === 'user' ? 'agent' : 'system',
      authorUserId: ctx.actor.type === 'user' ? ctx.actor.id : null,
      body: body.body,
      private: isPrivate,
      deliveryStatus: viaProvider ? 'pending' : null,
    },
    fx,
  );
  if (viaProvider) await queueDelivery(tx, org, fx, msg.id);
  return msg;
}

/**
 * The automatic reply outside the inbox's business hours: once per conversation and closed period
 * (not again within twelve hours).
 */
export async function maybeOutOfHoursReply(tx: Tx, org: string, conversationId: string, fx: Effects, now = new Date()) {
  const r = await queryOne<Row>(
    tx,
    sql`select c.channel, i.business_hours, i.out_of_hours_reply from chat_conversations c join chat_inboxes i on i.organization_id = c.organization_id and i.id = c.inbox_id
      where c.organization_id = ${org} and c.id = ${conversationId}`,
  );
  if (!r || !r.business_hours || !r.out_of_hours_reply || withinBusinessHours(r.business_hours, now)) return null;
  const recent = await queryOne(
    tx,
    sql`select 1 as x from chat_messages where organization_id = ${org} and conversation_id = ${conversationId} and author_type = 'system'
      and body = ${r.out_of_hours_reply} and created_at > now() - interval '12 hours' limit 1`,
  );
  if (recent) return null;
  const m = await insertMessage(tx, org, conversationId, { direction: 'outbound', authorType: 'system', body: r.out_of_hours_reply, deliveryStatus: r.channel === 'web' ? null : 'pending' }, fx);
  if (r.channel !== 'web') await queueDelivery(tx, org, fx, m.id);
  return m;
}

/** A customer's message on an existing conversation: a resolved or snoozed one opens again. */
export async function reopenOnCustomerMessage(tx: Tx, org: string, conversationId: string) {
  const r = await queryOne<Row>(
    tx,
    sql`update chat_conversations set status = 'open', snoozed_until = null, resolved_at = null, csat_requested_at = null, updated_at = now()
      where organization_id = ${org} and id = ${conversationId} and status in ('resolved', 'snoozed') returning status`,
  );
  if (r) await cancelQueuedJob(tx, org, wakeJobKey(conversationId));
  return Boolean(r);
}

/** The organization's first inbox (SMS conversations use its business hours and CSAT setting). */
export async function defaultInboxId(tx: Tx, org: string) {
  return (await queryOne<{ id: string }>(tx, sql`select id from chat_inboxes where organization_id = ${org} order by created_at, id limit 1`))?.id ?? null;
}

/** Reopens the conversation if its snooze is due (the inbox.wake job). */
export async function wakeConversation(tx: Tx, org: string, id: string, fx: Effects): Promise<{ retryAt?: Date }> {
  const r = await queryOne<Row>(tx, sql`select status, snoozed_until from chat_conversations where organization_id = ${org} and id = ${id} for update`);
  if (!r || r.status !== 'snoozed') return {};
  const until = new Date(r.snoozed_until);
  if (until.getTime() > Date.now() + 50) return { retryAt: until };
  await tx.execute(sql`update chat_conversations set status = 'open', snoozed_until = null, updated_at = now() where organization_id = ${org} and id = ${id}`);
  await announceConversation(tx, org, id, fx, 'conversation.updated');
  return {};
}

// ---------------------------------------------------------------------------------------------------------
// Sidebar

export async function sidebar(tx: Tx, org: string, conversationId: string) {
  const conv = await queryOne<Row>(tx, sql`select customer_id from chat_conversations where organization_id = ${org} and id = ${conversationId}`);
  if (!conv) throw notFound();
  const empty = { customer: null, orders: [], pastConversations: [], campaignsReceived: [] };
  if (!conv.customer_id) return empty;
  const cid = conv.customer_id as string;
  const c = await queryOne<Row>(tx, sql`select * from customers where organization_id = ${org} and id = ${cid}`);
  if (!c) return empty;
  const hasOrders = await queryOne<{ t: string | null }>(tx, sql`select to_regclass('public.orders')::text as t`);
  const orders = hasOrders?.t
    ? await query<Row>(tx, sql`select id, number, total::text as total, currency, ordered_at from orders where organization_id = ${org} and customer_id = ${cid} order by ordered_at desc nulls last, id desc limit 10`)
    : [];
  const past = await query<Row>(
    tx,
    sql`select id, channel, status, subject, last_message_preview, last_message_at from chat_conversations
      where organization_id = ${org} and customer_id = ${cid} and id <> ${conversationId} order by last_message_at desc limit 10`,
  );
  const campaigns = await query<Row>(
    tx,
    sql`(select 'email' as channel, m.campaign_id, ec.name, m.status, coalesce(m.sent_at, m.created_at) as at from email_messages m
         join email_campaigns ec on ec.organization_id = m.organization_id and ec.id = m.campaign_id
         where m.organization_id = ${org} and m.customer_id = ${cid})
      union all
        (select 'sms', m.campaign_id, sc.name, m.status, coalesce(m.sent_at, m.created_at) from sms_messages m
         join sms_campaigns sc on sc.organization_id = m.organization_id and sc.id = m.campaign_id
         where m.organization_id = ${org} and m.customer_id = ${cid})
      order by at desc limit 20`,
  );
  return {
    customer: {
      id: c.id,
      email: c.email,
      phone: c.phone,
      firstName: c.first_name,
      lastName: c.last_name,
      emailOptIn: c.email_opt_in,
      smsOptIn: c.sms_opt_in,
      tags: c.tags ?? [],
      attributes: c.attributes ?? {},
      createdAt: isoNN(c.created_at),
    },
    orders: orders.map((o) => ({ id: o.id, number: o.number, total: o.total, currency: o.currency, orderedAt: iso(o.ordered_at) })),
    pastConversations: past.map((p) => ({ id: p.id, channel: p.channel, status: p.status, subject: p.subject, lastMessagePreview: p.last_message_preview, lastMessageAt: isoNN(p.last_message_at) })),
    campaignsReceived: campaigns.map((x) => ({ channel: x.channel, campaignId: x.campaign_id, name: x.name, status: x.status, at: isoNN(x.at) })),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Canned responses, teams, agents

const toCanned = (r: Row) => ({ id: r.id, shortcut: r.shortcut, body: r.body, createdAt: isoNN(r.created_at) });
const dupShortcut = () => new AppError('conflict', 'A canned response with this shortcut exists');

export async function listCanned(tx: Tx, org: string) {
  return { data: (await query<Row>(tx, sql`select * from chat_canned_responses where organization_id = ${org} order by shortcut`)).map(toCanned) };
}
export async function createCanned(tx: Tx, ctx: TenantContext, body: { shortcut: string; body: string }) {
  const r = await queryOne<Row>(
    tx,
    sql`insert into chat_canned_responses (organization_id, shortcut, body) values (${ctx.organizationId}, ${body.shortcut}, ${body.body}) on conflict do nothing returning *`,
  );
  if (!r) throw dupShortcut();
  return toCanned(r);
}
export async function updateCanned(tx: Tx, ctx: TenantContext, id: string, body: { shortcut?: string; body?: string }) {
  const org = ctx.organizationId;
  if (!(await queryOne(tx, sql`select 1 as x from chat_canned_responses where organization_id = ${org} and id = ${id}`))) throw notFound();
  if (body.shortcut && (await queryOne(tx, sql`select 1 as x from chat_canned_responses where organization_id = ${org} and shortcut = ${body.shortcut} and id <> ${id}`))) throw dupShortcut();
  const r = await queryOne<Row>(
    tx,
    sql`update chat_canned_responses set shortcut = coalesce(${body.shortcut ?? null}, shortcut), body = coalesce(${body.body ?? null}, body), updated_at = now()
      where organization_id = ${org} and id = ${id} returning *`,
  );
  return toCanned(r!);
}
export async function deleteCanned(tx: Tx, ctx: TenantContext, id: string) {
  if (!(await queryOne(tx, sql`delete from chat_canned_responses where organization_id = ${ctx.organizationId} and id = ${id} returning id`))) throw notFound();
}

async function teamOut(tx: Tx, org: string, id: string) {
  const r = await queryOne<Row>(
    tx,
    sql`select t.*, coalesce(array(select user_id::text from chat_team_members m where m.organization_id = t.organization_id and m.team_id = t.id order by user_id), '{}') as member_ids
      from chat_teams t where t.organization_id = ${org} and t.id = ${id}`,
  );
  return r ? { id: r.id, name: r.name, memberIds: r.member_ids ?? [], createdAt: isoNN(r.created_at) } : null;
}
export async function listTeams(tx: Tx, org: string) {
  const ids = await query<{ id: string }>(tx, sql`select id from chat_teams where organization_id = ${org} order by name, id`);
  const out = [];
  for (const { id } of ids) out.push((await teamOut(tx, org, id))!);
  return { data: out };
}
async function setTeamMembers(tx: Tx, org: string, id: string, memberIds: string[]) {
  const unique = [...new Set(memberIds)];
  for (const [i, u] of unique.entries()) await assertMember(tx, org, u, `memberIds.${i}`);
  await tx.execute(sql`delete from chat_team_members where organization_id = ${org} and team_id = ${id}`);
  if (unique.length) {
    await tx.execute(sql`insert into chat_team_members (organization_id, team_id, user_id) select ${org}, ${id}, u from unnest(${arr(unique)}::uuid[]) u`);
  }
}
export async function createTeam(tx: Tx, ctx: TenantContext, body: { name: string; memberIds: string[] }) {
  const r = (await queryOne<Row>(tx, sql`insert into chat_teams (organization_id, name) values (${ctx.organizationId}, ${body.name}) returning id`))!;
  await setTeamMembers(tx, ctx.organizationId, r.id, body.memberIds);
  await recordAudit(tx, ctx, { action: 'chat_team.created', resourceType: 'chat_team', resourceId: r.id, changes: body });
  return (await teamOut(tx, ctx.organizationId, r.id))!;
}
export async function updateTeam(tx: Tx, ctx: TenantContext, id: string, body: { name?: string; memberIds?: string[] }) {
  const r = await queryOne(tx, sql`update chat_teams set name = coalesce(${body.name ?? null}, name) where organization_id = ${ctx.organizationId} and id = ${id} returning id`);
  if (!r) throw notFound();
  if (body.memberIds) await setTeamMembers(tx, ctx.organizationId, id, body.memberIds);
  await recordAudit(tx, ctx, { action: 'chat_team.updated', resourceType: 'chat_team', resourceId: id, changes: body });
  return (await teamOut(tx, ctx.organizationId, id))!;
}
export async function deleteTeam(tx: Tx, ctx: TenantContext, id: string) {
  if (!(await queryOne(tx, sql`delete from chat_teams where organization_id = ${ctx.organizationId} and id = ${id} returning id`))) throw notFound();
  await recordAudit(tx, ctx, { action: 'chat_team.deleted', resourceType: 'chat_team', resourceId: id });
}

export async function listAgents(tx: Tx, org: string) {
  const rows = await query<Row>(
    tx,
    sql`select u.id, u.email, u.name, coalesce(a.available, true) as available from memberships m join users u on u.id = m.user_id
      left join chat_agents a on a.organization_id = m.organization_id and a.user_id = m.user_id
      where m.organization_id = ${org} order by u.name, u.id`,
  );
  return { data: rows.map((r) => ({ id: r.id, email: r.email, name: r.name, available: r.available })) };
}
export async function setAvailability(tx: Tx, ctx: TenantContext, available: boolean) {
  if (ctx.actor.type !== 'user') throw new AppError('forbidden', 'Forbidden - availability belongs to a signed-in agent, not an API key');
  await tx.execute(sql`insert into chat_agents (organization_id, user_id, available) values (${ctx.organizationId}, ${ctx.actor.id}, ${available})
    on conflict (organization_id, user_id) do update set available = excluded.available`);
  const me = (await listAgents(tx, ctx.organizationId)).data.find((a) => a.id === ctx.actor.id);
  if (!me) throw notFound();
  return me;
}
