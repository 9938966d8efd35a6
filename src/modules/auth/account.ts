// Account flows on top of sign-up/sign-in: proving the email address, resetting and changing the
// password, and the user's own sessions. Every step runs in the scope of the user a token names.
import { and, eq, gt, isNull, ne, sql } from 'drizzle-orm';
import { schema, type Database, type Tx } from '../../db/index.js';
import type { Principal } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { keysetPage } from '../../lib/pagination.js';
import { hashPassword, parseScopedToken, verifyPassword } from './crypto.js';
import { accountByEmail, issueUserToken, userColumns, VERIFY_EMAIL_TTL_MS } from './service.js';

const { users, sessions, userTokens } = schema;
export const PASSWORD_RESET_TTL_MS = 3600 * 1000;

const invalidToken = () => new AppError('bad_request', 'This link is invalid, expired or already used');

/** Marks a token used and returns it, or throws: single use (the update is the claim), unexpired, of this purpose. */
async function consumeToken(tx: Tx, userId: string, hash: string, purpose: 'verify_email' | 'password_reset') {
  const [row] = await tx.update(userTokens).set({ usedAt: new Date() })
    .where(and(eq(userTokens.userId, userId), eq(userTokens.tokenHash, hash), eq(userTokens.purpose, purpose),
      isNull(userTokens.usedAt), gt(userTokens.expiresAt, sql`now()`)))
    .returning({ email: userTokens.email });
  if (!row) throw invalidToken();
  return row;
}

/** Confirms the address the token was mailed to, if it is still the account's address. */
export async function confirmEmail(db: Database, token: string) {
  const parsed = parseScopedToken(token);
  if (!parsed) throw invalidToken();
  return db.withUser({ id: parsed.scopeId }, async (tx) => {
    const { email } = await consumeToken(tx, parsed.scopeId, parsed.hash, 'verify_email');
    const [u] = await tx.update(users).set({ emailVerifiedAt: sql`coalesce(${users.emailVerifiedAt}, now())`, updatedAt: new Date() })
      .where(and(eq(users.id, parsed.scopeId), sql`lower(${users.email}) = lower(${email})`))
      .returning({ email: users.email });
    if (!u) throw invalidToken();
    return { email: u.email, verified: true as const };
  });
}

/** A new verification token for a signed-in, unverified user (null when already verified). */
export async function newVerificationToken(db: Database, principal: Principal) {
  return db.withUser({ id: principal.userId! }, async (tx) => {
    const [u] = await tx.select(userColumns).from(users).where(eq(users.id, principal.userId!));
    if (!u || u.emailVerifiedAt) return null;
    return { email: u.email, token: await issueUserToken(tx, u, 'verify_email', VERIFY_EMAIL_TTL_MS) };
  });
}

/** A reset token for the address, or null when no account has it (the route answers the same either way). */
export async function requestPasswordReset(db: Database, email: string) {
  const account = await accountByEmail(db, email);
  if (!account) return null;
  return db.withUser({ id: account.id }, async (tx) => ({
    email: account.email,
    token: await issueUserToken(tx, account, 'password_reset', PASSWORD_RESET_TTL_MS),
  }));
}

/**
 * Sets a new password through a reset token and ends every session of the account. The token was
 * mailed to the address, so the address is proven too: this is also how the owner of an address
 * recovers an account someone else registered with it (the squatter's sessions end with it).
 */
export async function confirmPasswordReset(db: Database, token: string, password: string) {
  const parsed = parseScopedToken(token);
  if (!parsed) throw invalidToken();
  const passwordHash = await hashPassword(password);
  await db.withUser({ id: parsed.scopeId }, async (tx) => {
    const { email } = await consumeToken(tx, parsed.scopeId, parsed.hash, 'password_reset');
    const [u] = await tx.update(users).set({ passwordHash, updatedAt: new Date() })
      .where(and(eq(users.id, parsed.scopeId), sql`lower(${users.email}) = lower(${email})`)).returning({ id: users.id });
    if (!u) throw invalidToken();
    await tx.update(users).set({ emailVerifiedAt: new Date() }).where(and(eq(users.id, u.id), isNull(users.emailVerifiedAt)));
    // Other outstanding reset links die with this one.
    await tx.update(userTokens).set({ usedAt: new Date() })
      .where(and(eq(userTokens.userId, u.id), eq(userTokens.purpose, 'password_reset'), isNull(userTokens.usedAt)));
    await tx.delete(sessions).where(eq(sessions.userId, u.id));
  });
}

/** Changes the password given the current one; every other session ends, this one counts as a fresh sign-in. */
export async function changePassword(db: Database, principal: Principal, current: string, next: string) {
  const account = await accountByEmail(db, principal.userEmail!);
  if (!account || account.id !== principal.userId || !(await verifyPassword(account.password_hash, current))) {
    throw new AppError('unauthorized', 'The current password is wrong');
  }
  const passwordHash = await hashPassword(next);
  await db.withUser({ id: account.id }, async (tx) => {
    await tx.update(users).set({ passwordHash, updatedAt: new Date() }).where(eq(users.id, account.id));
    await tx.delete(sessions).where(and(eq(sessions.userId, account.id), ne(sessions.id, principal.sessionId!)));
    await tx.update(sessions).set({ authenticatedAt: new Date() }).where(eq(sessions.id, principal.sessionId!));
  });
}

export async function listSessions(db: Database, principal: Principal, q: { limit: number; cursor?: string }) {
  const { rows, nextCursor } = await db.withUser({ id: principal.userId! }, (tx) =>
    keysetPage(tx, sessions, q, [eq(sessions.userId, principal.userId!), gt(sessions.expiresAt, sql`now()`)]));
  return {
    nextCursor,
    data: rows.map((s) => ({
      id: s.id,
      current: s.id === principal.sessionId,
      ip: s.ip,
      userAgent: s.userAgent,
      createdAt: s.createdAt.toISOString(),
      authenticatedAt: s.authenticatedAt.toISOString(),
      expiresAt: s.expiresAt.toISOString(),
    })),
  };
}

export async function revokeSession(db: Database, principal: Principal, id: string) {
  const gone = await db.withUser({ id: principal.userId! }, (tx) =>
    tx.delete(sessions).where(and(eq(sessions.userId, principal.userId!), eq(sessions.id, id))).returning({ id: sessions.id }));
  if (!gone.length) throw notFound();
}

/** Ends every session of the user, this one included. */
export async function signOutEverywhere(db: Database, principal: Principal) {
  await db.withUser({ id: principal.userId! }, (tx) => tx.delete(sessions).where(eq(sessions.userId, principal.userId!)));
}
