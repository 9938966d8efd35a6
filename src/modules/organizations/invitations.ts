import { and, eq, gt, isNull, sql } from 'drizzle-orm';
import { schema, type Database } from '../../db/index.js';
import type { Principal } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { recordAudit } from '../audit/service.js';
import { parseScopedToken } from '../auth/crypto.js';

const { users, invitations, memberships, sessions } = schema;

/**
 * Accepts an invitation through its token (`<organization>.<secret>`, checked inside the organization
 * it names), for a signed-in account whose verified address is the one invited. Single use; the
 * organization becomes the session's active one.
 */
export async function acceptInvitation(db: Database, principal: Principal, token: string, requestId: string) {
  const parsed = parseScopedToken(token);
  if (!parsed) throw notFound();
  const userId = principal.userId!;
  const [me] = await db.withUser({ id: userId }, (tx) =>
    tx.select({ email: users.email, verifiedAt: users.emailVerifiedAt }).from(users).where(eq(users.id, userId)));
  if (!me?.verifiedAt) throw new AppError('forbidden', 'Forbidden - confirm your email address before joining an organization');
  const org = parsed.scopeId;
  const joined = await db.withTenant(org, async (tx) => {
    const [inv] = await tx.update(invitations).set({ acceptedAt: new Date() })
      .where(and(eq(invitations.organizationId, org), eq(invitations.tokenHash, parsed.hash), isNull(invitations.acceptedAt),
        gt(invitations.expiresAt, sql`now()`), sql`lower(${invitations.email}) = lower(${me.email})`))
      .returning();
    if (!inv) {
      const [other] = await tx.select({ id: invitations.id }).from(invitations)
        .where(and(eq(invitations.organizationId, org), eq(invitations.tokenHash, parsed.hash), isNull(invitations.acceptedAt), gt(invitations.expiresAt, sql`now()`)));
      // The token is live but for another address: say so (the holder of the token already knows the organization).
      if (other) throw new AppError('forbidden', 'Forbidden - this invitation is for another email address');
      throw notFound();
    }
    const [m] = await tx.insert(memberships).values({ organizationId: org, userId, role: inv.role }).onConflictDoNothing().returning();
    if (!m) throw new AppError('conflict', 'You are already a member of this organization');
    await recordAudit(tx, { organizationId: org, actor: { type: 'user', id: userId }, requestId }, {
      action: 'member.joined', resourceType: 'membership', resourceId: m.id, changes: { role: inv.role, invitationId: inv.id },
    });
    return { organizationId: org, role: inv.role };
  }, { userId });
  await db.withUser({ id: userId }, (tx) =>
    tx.update(sessions).set({ activeOrganizationId: org }).where(eq(sessions.id, principal.sessionId!)));
  return joined;
}
