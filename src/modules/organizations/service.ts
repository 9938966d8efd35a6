import { and, count, eq, inArray, isNull, lt, ne, sql } from 'drizzle-orm';
import { schema, type GrantableRole, type Role, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { keysetPage } from '../../lib/pagination.js';
import { isUniqueViolation } from '../../db/errors.js';
import { recordAudit } from '../audit/service.js';
import { newScopedToken } from '../auth/crypto.js';
import { assertWithinPlan, monthUsage, readAccount, planInForce, type Plans } from '../billing/limits.js';

const { organizations, memberships, users, invitations, emailCampaigns, smsCampaigns, apiKeys } = schema;
const INVITATION_TTL_MS = 14 * 24 * 3600 * 1000;

/** The organization with the plan in force and its usage; the customer count is the billing counter, not a count(*). */
export async function getCurrentOrganization(tx: Tx, ctx: TenantContext, plans: Plans) {
  const org = ctx.organizationId;
  const [o] = await tx.select().from(organizations).where(eq(organizations.id, org));
  if (!o) throw notFound();
  const countOf = async (table: typeof emailCampaigns | typeof smsCampaigns | typeof memberships) =>
    (await tx.select({ n: count() }).from(table).where(eq(table.organizationId, org)))[0].n;
  const [keys] = await tx.select({ n: count() }).from(apiKeys).where(and(eq(apiKeys.organizationId, org), isNull(apiKeys.revokedAt)));
  const account = await readAccount(tx, org);
  const month = await monthUsage(tx, org);
  return {
    id: o.id,
    name: o.name,
    slug: o.slug,
    plan: planInForce(account, plans).plan.name,
    role: ctx.role,
    createdAt: o.createdAt.toISOString(),
    usage: {
      customers: account.customers_count,
      emailsThisMonth: month.emails,
      smsThisMonth: month.sms,
      members: await countOf(memberships),
      emailCampaigns: await countOf(emailCampaigns),
      smsCampaigns: await countOf(smsCampaigns),
      apiKeys: keys.n,
    },
  };
}

/**
 * Renames the organization and/or changes its slug (the help center's address), with an audit entry of
 * what changed. A slug another organization holds is a 409 (its unique index answers; nothing else of
 * that organization is read).
 */
export async function updateCurrentOrganization(tx: Tx, ctx: TenantContext, patch: { name?: string; slug?: string }) {
  const org = ctx.organizationId;
  const [before] = await tx.select({ name: organizations.name, slug: organizations.slug }).from(organizations).where(eq(organizations.id, org));
  if (!before) throw notFound();
  try {
    await tx.transaction((sp) =>
      sp.update(organizations)
        .set({ ...(patch.name !== undefined && { name: patch.name }), ...(patch.slug !== undefined && { slug: patch.slug }), updatedAt: sql`now()` })
        .where(eq(organizations.id, org)),
    );
  } catch (err) {
    if (isUniqueViolation(err, 'organizations_slug_key')) {
      throw new AppError('conflict', 'This slug is taken by another organization', [{ path: ['slug'], message: 'This slug is taken' }]);
    }
    throw err;
  }
  const changes: Record<string, { from: string; to: string }> = {};
  if (patch.name !== undefined && patch.name !== before.name) changes.name = { from: before.name, to: patch.name };
  if (patch.slug !== undefined && patch.slug !== before.slug) changes.slug = { from: before.slug, to: patch.slug };
  if (Object.keys(changes).length) await recordAudit(tx, ctx, { action: 'organization.updated', resourceType: 'organization', resourceId: org, changes });
  return changes;
}

type PageQuery = { limit: number; cursor?: string };

/** Members, oldest first (the founders lead), with their names and addresses. */
export async function listMembers(tx: Tx, ctx: TenantContext, q: PageQuery) {
  const { rows, nextCursor } = await keysetPage(tx, memberships, q, [eq(memberships.organizationId, ctx.organizationId)], 'oldest');
  // users is under RLS: a transaction in this organization sees its members' rows and no one else's.
  const people = rows.length
    ? await tx.select({ id: users.id, email: users.email, name: users.name }).from(users).where(inArray(users.id, rows.map((m) => m.userId)))
    : [];
  const byId = new Map(people.map((u) => [u.id, u]));
  return {
    data: rows.flatMap((m) => {
      const u = byId.get(m.userId);
      return u ? [{ id: m.id, userId: m.userId, email: u.email, name: u.name, role: m.role, createdAt: m.createdAt.toISOString() }] : [];
    }),
    nextCursor,
  };
}

export const toInvitationDto = (i: typeof invitations.$inferSelect) =>
  ({ id: i.id, email: i.email, role: i.role, createdAt: i.createdAt.toISOString(), expiresAt: i.expiresAt.toISOString() });

/** Invitations not yet accepted, oldest first; DELETE /api/organizations/current/members/:id revokes one. */
export async function listInvitations(tx: Tx, ctx: TenantContext, q: PageQuery) {
  const { rows, nextCursor } = await keysetPage(tx, invitations, q, [eq(invitations.organizationId, ctx.organizationId), isNull(invitations.acceptedAt)], 'oldest');
  return { data: rows.map(toInvitationDto), nextCursor };
}

/** Revokes the live keys a member created, with an audit entry; returns their ids to forget from the key cache after commit. */
async function revokeKeysOf(tx: Tx, ctx: TenantContext, userId: string, reason: string, aboveRole?: 'member') {
  const revoked = await tx.update(apiKeys).set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.organizationId, ctx.organizationId), eq(apiKeys.createdByUserId, userId), isNull(apiKeys.revokedAt),
      aboveRole ? eq(apiKeys.role, 'admin') : undefined))
    .returning({ id: apiKeys.id });
  const ids = revoked.map((k) => k.id);
  if (ids.length) await recordAudit(tx, ctx, { action: 'api_key.revoked', resourceType: 'api_key', resourceId: null, changes: { apiKeyIds: ids, userId, reason } });
  return ids;
}

/** The owners other than the membership given, locked so two concurrent changes cannot both pass the last-owner check. */
const otherOwners = (tx: Tx, org: string, membershipId: string) =>
  tx.select({ id: memberships.id }).from(memberships)
    .where(and(eq(memberships.organizationId, org), eq(memberships.role, 'owner'), ne(memberships.id, membershipId))).for('update');

/**
 * Invites an address: a pending invitation with its own single-use token, mailed by the caller.
 * Whether the address has an account is never looked at, so the answer is the same either way,
 * and nobody joins without accepting (POST /api/invitations/:token/accept from a verified address).
 */
export async function inviteMember(tx: Tx, ctx: TenantContext, input: { email: string; role: GrantableRole }, plans: Plans) {
  const org = ctx.organizationId;
  const [member] = await tx.select({ id: memberships.id }).from(memberships).innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.organizationId, org), sql`lower(${users.email}) = lower(${input.email})`));
  if (member) throw new AppError('conflict', 'This address already belongs to a member');
  // An expired invitation does not block a new one.
  await tx.delete(invitations).where(and(eq(invitations.organizationId, org), isNull(invitations.acceptedAt),
    sql`lower(${invitations.email}) = lower(${input.email})`, lt(invitations.expiresAt, sql`now()`)));
  // Members and pending invitations together stay within the plan (an invitation holds its seat).
  await assertWithinPlan(tx, org, 'members', 1, plans);
  const { token, hash } = newScopedToken(org);
  const [inv] = await tx.insert(invitations).values({
    organizationId: org,
    email: input.email,
    role: input.role,
    invitedByUserId: ctx.actor.type === 'user' ? ctx.actor.id : null,
    expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
    tokenHash: hash,
  }).onConflictDoNothing().returning();
  if (!inv) throw new AppError('conflict', 'An invitation to this address is already pending');
  await recordAudit(tx, ctx, { action: 'member.invited', resourceType: 'invitation', resourceId: inv.id, changes: { email: input.email, role: input.role } });
  const [o] = await tx.select({ name: organizations.name }).from(organizations).where(eq(organizations.id, org));
  return {
    response: {
      status: 'invited' as const,
      invitation: toInvitationDto(inv),
    },
    mail: { to: inv.email, organizationName: o.name, role: inv.role, token },
  };
}

/**
 * Removes a membership (or a pending invitation with that id), and revokes the API keys that member
 * created. Admins cannot remove owners; the last owner stays. Returns the revoked key ids.
 */
export async function removeMember(tx: Tx, ctx: TenantContext, id: string): Promise<string[]> {
  const org = ctx.organizationId;
  const [target] = await tx.select().from(memberships).where(and(eq(memberships.organizationId, org), eq(memberships.id, id)));
  if (!target) {
    const gone = await tx.delete(invitations)
      .where(and(eq(invitations.organizationId, org), eq(invitations.id, id), isNull(invitations.acceptedAt)))
      .returning({ id: invitations.id });
    if (!gone.length) throw notFound();
    await recordAudit(tx, ctx, { action: 'invitation.revoked', resourceType: 'invitation', resourceId: id });
    return [];
  }
  if (target.role === 'owner') {
    if (ctx.role !== 'owner') throw new AppError('forbidden', 'Forbidden - only an owner can remove an owner');
    if (!(await otherOwners(tx, org, id)).length) throw new AppError('conflict', 'The last owner cannot be removed');
  }
  const removed = await tx.delete(memberships).where(and(eq(memberships.organizationId, org), eq(memberships.id, id))).returning({ id: memberships.id });
  if (!removed.length) throw notFound();
  await recordAudit(tx, ctx, { action: 'member.removed', resourceType: 'membership', resourceId: id, changes: { userId: target.userId, role: target.role } });
  return revokeKeysOf(tx, ctx, target.userId, 'member.removed');
}

/** The caller leaves the organization; their keys are revoked. The last owner cannot leave. */
export async function leaveOrganization(tx: Tx, ctx: TenantContext): Promise<string[]> {
  const org = ctx.organizationId;
  const [mine] = await tx.select().from(memberships).where(and(eq(memberships.organizationId, org), eq(memberships.userId, ctx.actor.id)));
  if (!mine) throw notFound();
  if (mine.role === 'owner' && !(await otherOwners(tx, org, mine.id)).length) {
    throw new AppError('conflict', 'The last owner cannot leave: make someone else an owner first');
  }
  await tx.delete(memberships).where(and(eq(memberships.organizationId, org), eq(memberships.id, mine.id)));
  await recordAudit(tx, ctx, { action: 'member.left', resourceType: 'membership', resourceId: mine.id, changes: { userId: mine.userId, role: mine.role } });
  return revokeKeysOf(tx, ctx, mine.userId, 'member.left');
}

/**
 * Changes a member's role. Only an owner grants or takes away the owner role; the last owner stays
 * one. A member demoted below admin loses the admin keys they created (a key never outranks its creator).
 */
export async function changeMemberRole(tx: Tx, ctx: TenantContext, id: string, role: Role) {
  const org = ctx.organizationId;
  const [target] = await tx.select().from(memberships).where(and(eq(memberships.organizationId, org), eq(memberships.id, id)));
  if (!target) throw notFound();
  if ((target.role === 'owner' || role === 'owner') && ctx.role !== 'owner') {
    throw new AppError('forbidden', 'Forbidden - only an owner can grant or take away the owner role');
  }
  if (target.role === 'owner' && role !== 'owner' && !(await otherOwners(tx, org, id)).length) {
    throw new AppError('conflict', 'The last owner cannot be demoted');
  }
  const [m] = await tx.update(memberships).set({ role }).where(and(eq(memberships.organizationId, org), eq(memberships.id, id))).returning();
  await recordAudit(tx, ctx, { action: 'member.role_changed', resourceType: 'membership', resourceId: id, changes: { userId: target.userId, from: target.role, to: role } });
  const revoked = role === 'member' ? await revokeKeysOf(tx, ctx, target.userId, 'member.role_changed', 'member') : [];
  return { membership: m, revoked };
}
