import { and, eq, sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { schema, type Database, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import type { DnsResolver } from '../../http/types.js';
import { escapeHtml } from '../../lib/html.js';
import { keysetPage } from '../../lib/pagination.js';
import { b64ToUuid, uuidToB64 } from '../../lib/uuid.js';
import { randomToken, sha256 } from '../auth/crypto.js';
import { recordAudit } from '../audit/service.js';
import type { OutgoingMail } from '../email/mailer.js';
import { dkimRecord, verificationRecord, type DomainKeys } from './dkim.js';

const { senderDomains: domains, senderAddresses: addresses } = schema;
type DomainRow = typeof domains.$inferSelect;
type AddressRow = typeof addresses.$inferSelect;

/** How long the confirmation link mailed to a sender address works. */
export const CONFIRMATION_TTL_MS = 48 * 3600_000;
const iso = (d: Date | null) => (d ? d.toISOString() : null);

export function toDomainDto(d: DomainRow, check?: { verification: boolean; dkim: boolean }) {
  const v = verificationRecord(d.domain, d.verificationToken);
  const k = dkimRecord(d.domain, d.dkimSelector, d.dkimPublicKey);
  const seen = (at: Date | null) => (at ? true : d.lastCheckedAt ? false : null);
  return {
    id: d.id,
    domain: d.domain,
    status: d.verifiedAt ? ('verified' as const) : ('pending' as const),
    verifiedAt: iso(d.verifiedAt),
    lastCheckedAt: iso(d.lastCheckedAt),
    dkimSelector: d.dkimSelector,
    records: [
      { purpose: 'verification' as const, type: 'TXT' as const, ...v, found: check ? check.verification : seen(d.verifiedAt) },
      { purpose: 'dkim' as const, type: 'TXT' as const, ...k, found: check ? check.dkim : seen(d.dkimVerifiedAt) },
    ],
    createdAt: d.createdAt.toISOString(),
  };
}

export const toAddressDto = (a: AddressRow) => ({
  id: a.id,
  email: a.email,
  status: a.verifiedAt ? ('verified' as const) : ('pending' as const),
  verifiedAt: iso(a.verifiedAt),
  confirmationExpiresAt: a.verifiedAt ? null : iso(a.tokenExpiresAt),
  createdAt: a.createdAt.toISOString(),
});

// Domains

export async function listDomains(tx: Tx, ctx: TenantContext, q: { limit: number; cursor?: string }) {
  const { rows, nextCursor } = await keysetPage(tx, domains, q, [eq(domains.organizationId, ctx.organizationId)]);
  return { data: rows.map((r) => toDomainDto(r)), nextCursor };
}

async function findDomain(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.select().from(domains).where(and(eq(domains.organizationId, ctx.organizationId), eq(domains.id, id)));
  if (!row) throw notFound();
  return row;
}

export const getDomain = async (tx: Tx, ctx: TenantContext, id: string) => toDomainDto(await findDomain(tx, ctx, id));

export async function addDomain(tx: Tx, ctx: TenantContext, domain: string, keys: DomainKeys) {
  const [row] = await tx
    .insert(domains)
    .values({ organizationId: ctx.organizationId, domain, ...keys })
    .onConflictDoNothing()
    .returning();
  if (!row) throw new AppError('conflict', 'This domain is already a sender domain of the organization');
  await recordAudit(tx, ctx, { action: 'sender_domain.created', resourceType: 'sender_domain', resourceId: row.id, changes: { domain } });
  return toDomainDto(row);
}

export async function deleteDomain(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.delete(domains).where(and(eq(domains.organizationId, ctx.organizationId), eq(domains.id, id))).returning({ domain: domains.domain });
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'sender_domain.deleted', resourceType: 'sender_domain', resourceId: id, changes: { domain: row.domain } });
}

/** The TXT strings published at a name, each record's chunks joined; none when the name has none or the lookup fails. */
async function txtAt(dns: DnsResolver, name: string): Promise<string[]> {
  try {
    return (await dns.resolveTxt(name)).map((chunks) => chunks.join(''));
  } catch {
    return [];
  }
}

const sameDkim = (published: string, expected: string) => {
  const norm = (s: string) => s.replace(/\s+/g, '').toLowerCase();
  return norm(published) === norm(expected);
};

/**
 * Looks the domain's records up in DNS (outside any transaction: a slow name server holds no
 * database connection) and records what it found. Ownership is proven by the verification TXT.
 */
export async function verifyDomain(run: <T>(fn: (tx: Tx, ctx: TenantContext) => Promise<T>) => Promise<T>, id: string, dns: DnsResolver) {
  const d = await run((tx, ctx) => findDomain(tx, ctx, id));
  const v = verificationRecord(d.domain, d.verificationToken);
  const k = dkimRecord(d.domain, d.dkimSelector, d.dkimPublicKey);
  const [atV, atK] = await Promise.all([txtAt(dns, v.name), txtAt(dns, k.name)]);
  const check = { verification: atV.includes(v.value), dkim: atK.some((s) => sameDkim(s, k.value)) };
  return run(async (tx, ctx) => {
    const [row] = await tx
      .update(domains)
      .set({
        verifiedAt: check.verification ? sql`coalesce(${domains.verifiedAt}, now())` : domains.verifiedAt,
        dkimVerifiedAt: check.dkim ? sql`coalesce(${domains.dkimVerifiedAt}, now())` : null,
        lastCheckedAt: sql`now()`,
        updatedAt: sql`now()`,
      })
      .where(and(eq(domains.organizationId, ctx.organizationId), eq(domains.id, id)))
      .returning();
    if (!row) throw notFound();
    if (check.verification && !d.verifiedAt) {
      await recordAudit(tx, ctx, { action: 'sender_domain.verified', resourceType: 'sender_domain', resourceId: id, changes: { domain: d.domain } });
    }
    return toDomainDto(row, check);
  });
}

// Single addresses

export async function listAddresses(tx: Tx, ctx: TenantContext, q: { limit: number; cursor?: string }) {
  const { rows, nextCursor } = await keysetPage(tx, addresses, q, [eq(addresses.organizationId, ctx.organizationId)]);
  return { data: rows.map(toAddressDto), nextCursor };
}

/** `sbc_<organization>_<secret>`: the organization part lets the public confirm route work inside that organization only. */
function newConfirmationToken(organizationId: string) {
  const token = `sbc_${uuidToB64(organizationId)}_${randomToken(32)}`;
  return { token, hash: sha256(token) };
}

function parseConfirmationToken(token: string) {
  const m = /^sbc_([A-Za-z0-9_-]{22})_[A-Za-z0-9_-]{43}$/.exec(token);
  const organizationId = m && b64ToUuid(m[1]);
  return organizationId ? { organizationId, hash: sha256(token) } : null;
}

/**
 * Adds a sender address (or renews the link of a pending one) and composes the confirmation mail,
 * sent by the caller once this commits. An address already verified is a 409.
 */
export async function addAddress(tx: Tx, ctx: TenantContext, email: string, config: Config) {
  const address = email.trim().toLowerCase();
  const { token, hash } = newConfirmationToken(ctx.organizationId);
  const expires = new Date(Date.now() + CONFIRMATION_TTL_MS);
  const [row] = await tx
    .insert(addresses)
    .values({ organizationId: ctx.organizationId, email: address, tokenHash: hash, tokenExpiresAt: expires })
    .onConflictDoUpdate({
      target: [addresses.organizationId, addresses.email],
      set: { tokenHash: hash, tokenExpiresAt: expires, updatedAt: sql`now()` },
      setWhere: sql`${addresses.verifiedAt} is null`,
    })
    .returning();
  if (!row) throw new AppError('conflict', 'This address is already a verified sender');
  await recordAudit(tx, ctx, { action: 'sender_address.created', resourceType: 'sender_address', resourceId: row.id, changes: { email: address } });
  const link = `${config.publicUrl}/api/senders/confirm/${token}`;
  const mail: OutgoingMail = {
    organizationId: ctx.organizationId,
    id: row.id,
    from: config.email.from,
    to: address,
    subject: 'Confirm this address as a sender',
    text: `Someone asked to send email as ${address} through Switchboard.\n\nIf that was you or your team, confirm it here (the link works for 48 hours):\n${link}\n\nOtherwise ignore this message: nothing will be sent as you.\n`,
    html: `<p>Someone asked to send email as <b>${escapeHtml(address)}</b> through Switchboard.</p><p>If that was you or your team, <a href="${link}">confirm it here</a> (the link works for 48 hours).</p><p>Otherwise ignore this message: nothing will be sent as you.</p>`,
    headers: {},
    messageIdHeader: `<${row.id}.${Date.now()}@${config.email.bounceAddress.split('@')[1]}>`,
  };
  return { address: toAddressDto(row), mail };
}

export async function deleteAddress(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.delete(addresses).where(and(eq(addresses.organizationId, ctx.organizationId), eq(addresses.id, id))).returning({ email: addresses.email });
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'sender_address.deleted', resourceType: 'sender_address', resourceId: id, changes: { email: row.email } });
}

/** Whether a confirmation token is a live one (for the page that asks to confirm). */
export async function checkConfirmation(db: Database, token: string) {
  const t = parseConfirmationToken(token);
  if (!t) return null;
  return db.withTenant(t.organizationId, async (tx) => {
    const [row] = await tx
      .select({ email: addresses.email })
      .from(addresses)
      .where(and(eq(addresses.organizationId, t.organizationId), eq(addresses.tokenHash, t.hash), sql`${addresses.tokenExpiresAt} > now()`));
    return row?.email ?? null;
  });
}

/** Uses a confirmation token once: the address becomes verified and the token is gone. Null for an unknown, used or expired one. */
export async function confirmAddress(db: Database, token: string) {
  const t = parseConfirmationToken(token);
  if (!t) return null;
  return db.withTenant(t.organizationId, async (tx) => {
    const [row] = await tx
      .update(addresses)
      .set({ verifiedAt: sql`now()`, tokenHash: null, tokenExpiresAt: null, updatedAt: sql`now()` })
      .where(and(eq(addresses.organizationId, t.organizationId), eq(addresses.tokenHash, t.hash), sql`${addresses.tokenExpiresAt} > now()`))
      .returning({ email: addresses.email });
    return row?.email ?? null;
  });
}
