import { and, eq, sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { SuppressionChannel, SuppressionReason } from '../../db/schema.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { keysetPage } from '../../lib/pagination.js';
import { recordAudit } from '../audit/service.js';
import type { SuppressionCreate, SuppressionListQuery } from './schemas.js';

const { suppressions } = schema;
type Row = typeof suppressions.$inferSelect;

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const E164 = /^\+[1-9][0-9]{3,14}$/;

/**
 * The one spelling an address is stored and matched under: a lowercased email; for SMS an E.164
 * number (a leading + and digits only: "+1 (555) 123-4567" → "+15551234567"). Null when the
 * value is not an address of the channel.
 */
export function normalizeAddress(channel: SuppressionChannel, value: string | null | undefined): string | null {
  if (!value) return null;
  if (channel === 'email') {
    const email = value.trim().toLowerCase();
    return EMAIL.test(email) && email.length <= 254 ? email : null;
  }
  if (E164.test(value)) return value; // already the stored spelling (most numbers are)
  const digits = value.replace(/[\s().-]/g, '').replace(/^\+/, '');
  return /^[1-9][0-9]{3,14}$/.test(digits) ? `+${digits}` : null;
}

export const toSuppressionDto = (r: Row) => ({
  id: r.id,
  channel: r.channel,
  address: r.address,
  reason: r.reason,
  source: r.source,
  createdAt: r.createdAt.toISOString(),
});

/** Email suppressions for the email addresses of these message rows (unsubscribe link, provider events). */
export async function suppressMessageRecipients(tx: Tx, organizationId: string, items: { messageId: string; reason: SuppressionReason }[], source: string) {
  if (!items.length) return;
  await tx.execute(sql`
    insert into suppressions (organization_id, channel, address, reason, source)
    select distinct on (lower(m.to_email)) ${organizationId}, 'email', lower(m.to_email), x.reason, ${source}
    from jsonb_to_recordset(${JSON.stringify(items.map((i) => ({ m: i.messageId, reason: i.reason })))}::jsonb) as x(m uuid, reason text)
    join email_messages m on m.organization_id = ${organizationId} and m.id = x.m
    order by lower(m.to_email), case x.reason when 'complained' then 0 when 'bounced' then 1 else 2 end
    on conflict do nothing`);
}

export async function isSuppressed(tx: Tx, organizationId: string, channel: SuppressionChannel, value: string) {
  const address = normalizeAddress(channel, value);
  if (!address) return false;
  const [row] = await tx
    .select({ id: suppressions.id })
    .from(suppressions)
    .where(and(eq(suppressions.organizationId, organizationId), eq(suppressions.channel, channel), eq(suppressions.address, address)));
  return Boolean(row);
}

/**
 * Which of these customers' email address and phone number are suppressed: one indexed lookup for a whole page.
 * Each list goes as one space-separated text parameter (a normalized address has no whitespace), split by
 * PostgreSQL: the same index conditions as a text[] parameter, without the driver escaping every element.
 */
export async function suppressionFlags(tx: Tx, organizationId: string, rows: { email: string | null; phone: string | null }[]) {
  const keyOf = (r: { email: string | null; phone: string | null }) => ({ email: normalizeAddress('email', r.email), phone: normalizeAddress('sms', r.phone) });
  const keys = new Map(rows.map((r) => [r, keyOf(r)]));
  const emails = new Set<string>();
  const phones = new Set<string>();
  for (const { email, phone } of keys.values()) {
    if (email) emails.add(email);
    if (phone) phones.add(phone);
  }
  const found = new Set<string>();
  if (emails.size || phones.size) {
    const res = await tx.execute(sql`select channel, address from suppressions where organization_id = ${organizationId}
      and ((channel = 'email' and address = any(string_to_array(${[...emails].join(' ')}::text, ' ')))
        or (channel = 'sms' and address = any(string_to_array(${[...phones].join(' ')}::text, ' '))))`);
    for (const r of (res as unknown as { rows: { channel: string; address: string }[] }).rows) found.add(`${r.channel}:${r.address}`);
  }
  return (r: { email: string | null; phone: string | null }) => {
    const k = keys.get(r) ?? keyOf(r);
    return { emailSuppressed: found.has(`email:${k.email}`), smsSuppressed: found.has(`sms:${k.phone}`) };
  };
}

export async function listSuppressions(tx: Tx, ctx: TenantContext, q: SuppressionListQuery) {
  const filters = [eq(suppressions.organizationId, ctx.organizationId)];
  if (q.channel) filters.push(eq(suppressions.channel, q.channel));
  if (q.address) {
    const channels: SuppressionChannel[] = q.channel ? [q.channel] : ['email', 'sms'];
    const spelled = channels.map((c) => normalizeAddress(c, q.address)).filter((a): a is string => !!a);
    filters.push(spelled.length ? sql`${suppressions.address} = any(${sql.param(spelled)}::text[])` : sql`false`);
  }
  const { rows, nextCursor } = await keysetPage(tx, suppressions, q, filters);
  return { data: rows.map(toSuppressionDto), nextCursor };
}

export async function addSuppression(tx: Tx, ctx: TenantContext, input: SuppressionCreate) {
  const address = normalizeAddress(input.channel, input.address);
  if (!address) {
    throw new AppError('validation_failed', 'Validation failed', [{ in: 'body', path: 'address', message: input.channel === 'email' ? 'Not an email address' : 'Not a phone number' }]);
  }
  const [row] = await tx
    .insert(suppressions)
    .values({ organizationId: ctx.organizationId, channel: input.channel, address, reason: input.reason, source: 'manual' })
    .onConflictDoNothing()
    .returning();
  if (!row) throw new AppError('conflict', 'This address is already suppressed');
  await recordAudit(tx, ctx, { action: 'suppression.created', resourceType: 'suppression', resourceId: row.id, changes: { channel: row.channel, address, reason: row.reason } });
  return toSuppressionDto(row);
}

/** Removing a suppression lets the address be messaged again: always audited. */
export async function removeSuppression(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx
    .delete(suppressions)
    .where(and(eq(suppressions.organizationId, ctx.organizationId), eq(suppressions.id, id)))
    .returning();
  if (!row) throw notFound();
  await recordAudit(tx, ctx, {
    action: 'suppression.removed',
    resourceType: 'suppression',
    resourceId: id,
    changes: { channel: row.channel, address: row.address, reason: row.reason, source: row.source, suppressedAt: row.createdAt.toISOString() },
  });
}
