import { and, asc, count, eq, isNull, ne, sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { recordAudit } from '../audit/service.js';

const { organizations, memberships, users, invitations, customers, emailCampaigns, smsCampaigns, apiKeys } = schema;
const INVITATION_TTL_MS = 14 * 24 * 3600 * 1000;

export async function getCurrentOrganization(tx: Tx, ctx: TenantContext) {
  const org = ctx.organizationId;
  const [o] = await tx.select().from(organizations).where(eq(organizations.id, org));
  if (!o) throw notFound();
  const countOf = async (table: typeof customers | typeof emailCampaigns | typeof smsCampaigns | typeof memberships) =>
    (await tx.select({ n: count() }).from(table).where(eq(table.organizationId, org)))[0].n;
  const [keys] = await tx.select({ n: count() }).from(apiKeys).where(and(eq(apiKeys.organizationId, org), isNull(apiKeys.revokedAt)));
  return {
    id: o.id,
    name: o.name,
    plan: o.plan,
    role: ctx.role,
    createdAt: o.createdAt.toISOString(),
    usage: {
      customers: await countOf(customers),
      members: await countOf(memberships),
      emailCampaigns: await countOf(emailCampaigns),
      smsCampaigns: await countOf(smsCampaigns),
      apiKeys: keys.n,
    },
  };
}

export async function listMembers(tx: Tx, ctx: TenantContext) {
  const members = await tx
    .select({ id: memberships.id, userId: users.id, email: users.email, name: users.name, role: memberships.role, createdAt: memberships.createdAt })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.organizationId, ctx.organizationId))
    .orderBy(asc(memberships.createdAt));
  const pending = await tx
    .select()
    .from(invitations)
    .where(and(eq(invitations.organizationId, ctx.organizationId), isNull(invitations.acceptedAt)))
    .orderBy(asc(invitations.createdAt));
  return {
    data: members.map((m) => ({ ...m, createdAt: m.createdAt.toISOString() })),
    invitations: pending.map((i) => ({ id: i.id, email: i.email, role: i.role, createdAt: i.createdAt.toISOString(), expiresAt: i.expiresAt.toISOString() })),
  };
}

/**
 * Adds an existing user at once; anyone else gets a pending invitation that turns into a
 * membership when they sign up with that address.
 */
export async function inviteMember(tx: Tx, ctx: TenantContext, input: { email: string; role: 'admin' | 'member' }) {
  const [user] = await tx.select({ id: users.id, email: users.email, name: users.name }).from(users)
    .where(sql`lower(${users.email}) = lower(${input.email})`);
  if (user) {
    const [m] = await tx.insert(memberships).values({ organizationId: ctx.organizationId, userId: user.id, role: input.role })
      .onConflictDoNothing().returning();
    if (!m) throw new AppError('conflict', 'This user is already a member');
    await recordAudit(tx, ctx, { action: 'member.added', resourceType: 'membership', resourceId: m.id, changes: { userId: user.id, role: input.role } });
    return { status: 'added' as const, member: { id: m.id, userId: user.id, email: user.email, name: user.name, role: m.role, createdAt: m.createdAt.toISOString() }, invitation: null };
  }
  const [inv] = await tx.insert(invitations).values({
    organizationId: ctx.organizationId,
    email: input.email,
    role: input.role,
    invitedByUserId: ctx.actor.type === 'user' ? ctx.actor.id : null,
    expiresAt: new Date(Date.now() + INVITATION_TTL_MS),
  }).onConflictDoNothing().returning();
  if (!inv) throw new AppError('conflict', 'An invitation to this address is already pending');
  await recordAudit(tx, ctx, { action: 'member.invited', resourceType: 'invitation', resourceId: inv.id, changes: { email: input.email, role: input.role } });
  return {
    status: 'invited' as const,
    member: null,
    invitation: { id: inv.id, email: inv.email, role: inv.role, createdAt: inv.createdAt.toISOString(), expiresAt: inv.expiresAt.toISOString() },
  };
}

/** Removes a membership (or a pending invitation with that id). Admins cannot remove owners; the last owner stays. */
export async function removeMember(tx: Tx, ctx: TenantContext, id: string) {
  const org = ctx.organizationId;
  const [target] = await tx.select().from(memberships).where(and(eq(memberships.organizationId, org), eq(memberships.id, id)));
  if (!target) {
    const gone = await tx.delete(invitations)
      .where(and(eq(invitations.organizationId, org), eq(invitations.id, id), isNull(invitations.acceptedAt)))
      .returning({ id: invitations.id });
    if (!gone.length) throw notFound();
    await recordAudit(tx, ctx, { action: 'invitation.revoked', resourceType: 'invitation', resourceId: id });
    return;
  }
  if (target.role === 'owner') {
    if (ctx.role !== 'owner') throw new AppError('forbidden', 'Forbidden - only an owner can remove an owner');
    // Lock the owners so two concurrent removals cannot both pass the check.
    const others = await tx.select({ id: memberships.id }).from(memberships)
      .where(and(eq(memberships.organizationId, org), eq(memberships.role, 'owner'), ne(memberships.id, id))).for('update');
    if (!others.length) throw new AppError('conflict', 'The last owner cannot be removed');
  }
  const removed = await tx.delete(memberships).where(and(eq(memberships.organizationId, org), eq(memberships.id, id))).returning({ id: memberships.id });
  if (!removed.length) throw notFound();
  await recordAudit(tx, ctx, { action: 'member.removed', resourceType: 'membership', resourceId: id, changes: { userId: target.userId, role: target.role } });
}
