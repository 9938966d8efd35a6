import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import { schema, type Database, type Role, type Tx } from '../../db/index.js';
import { AppError } from '../../http/errors.js';
import type { Principal } from '../../http/access.js';
import { dummyVerify, hashPassword, newScopedToken, parseApiKey, parseScopedToken, verifyPassword } from './crypto.js';
import { rowsOf } from '../../db/sql.js';
import { recordAudit } from '../audit/service.js';
import { randomBytes } from 'node:crypto';
import { isUniqueViolation } from '../../db/errors.js';
import { slugify } from '../../lib/slug.js';

export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;
export const VERIFY_EMAIL_TTL_MS = 48 * 3600 * 1000;

const { users, sessions, memberships, organizations, apiKeys, userTokens } = schema;

export interface NewSession {
  token: string;
  expiresAt: Date;
}

/** The columns of a user the runtime role may read (never password_hash). */
export const userColumns = {
  id: users.id, email: users.email, name: users.name, createdAt: users.createdAt, emailVerifiedAt: users.emailVerifiedAt,
};


/** Inserts a session for the user; runs in that user's scope (sessions are under RLS keyed on app.user_id). */
export async function insertSession(tx: Tx, userId: string, activeOrganizationId: string | null, meta: { ip?: string; userAgent?: string }): Promise<NewSession> {
  const { token, hash } = newScopedToken(userId);
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await tx.insert(sessions).values({
    tokenHash: hash,
    userId,
    activeOrganizationId,
    ip: meta.ip ?? null,
    userAgent: meta.userAgent?.slice(0, 512) ?? null,
    expiresAt,
  });
  return { token, expiresAt };
}

/** The account with this address, with its password hash, through the one narrow function that may read it. */
export async function accountByEmail(db: Database, email: string) {
  const [row] = await db.withPlatform(async (tx) =>
    rowsOf<{ id: string; email: string; password_hash: string }>(await tx.execute(sql`select id, email, password_hash from sb_sign_in_lookup(${email})`)),
  );
  return row;
}

/** A single-use token for the user, stored hashed; the caller mails it. Runs in the user's scope. */
export async function issueUserToken(tx: Tx, user: { id: string; email: string }, purpose: 'verify_email' | 'password_reset', ttlMs: number) {
  const { token, hash } = newScopedToken(user.id);
  await tx.insert(userTokens).values({ userId: user.id, purpose, tokenHash: hash, email: user.email, expiresAt: new Date(Date.now() + ttlMs) });
  return token;
}

/** Creates an organization with the user as owner. Runs in the new organization's scope so RLS admits the rows. */
export async function createOrganization(db: Database, user: { id: string }, name: string, requestId: string) {
  const id = crypto.randomUUID();
  return db.withTenant(id, async (tx) => {
    const org = await insertWithFreeSlug(tx, id, name);
    await tx.insert(memberships).values({ organizationId: id, userId: user.id, role: 'owner' });
    await recordAudit(tx, { organizationId: id, actor: { type: 'user', id: user.id }, requestId }, {
      action: 'organization.created', resourceType: 'organization', resourceId: id, changes: { name },
    });
    return org;
  }, { userId: user.id });
}

/**
 * Inserts the organization with a slug made from its name, or the name with -2, -3… (then a random
 * suffix) when another organization holds it: each try is a savepoint, so a collision costs nothing else.
 */
async function insertWithFreeSlug(tx: Tx, id: string, name: string) {
  const base = slugify(name);
  for (let attempt = 1; ; attempt++) {
    const slug = attempt === 1 ? base : attempt <= 5 ? `${base}-${attempt}` : `${base}-${randomBytes(4).toString('hex')}`;
    try {
      return await tx.transaction(async (sp) => (await sp.insert(organizations).values({ id, name, slug }).returning())[0]);
    } catch (err) {
      if (attempt >= 8 || !isUniqueViolation(err, 'organizations_slug_key')) throw err;
    }
  }
}

/**
 * Creates the account (unverified) and, when named, an organization it owns. Nothing else: pending
 * invitations to the address are accepted only through their own token, by a verified address.
 * Returns the verification token for the caller to mail.
 */
export async function signUp(
  db: Database,
  input: { email: string; password: string; name: string; organizationName?: string },
  meta: { ip?: string; userAgent?: string; requestId: string },
) {
  const passwordHash = await hashPassword(input.password);
  const id = crypto.randomUUID();
  const { user, verifyToken } = await db.withUser({ id }, async (tx) => {
    const [u] = await tx.insert(users).values({ id, email: input.email, name: input.name, passwordHash }).returning(userColumns);
    return { user: u, verifyToken: await issueUserToken(tx, u, 'verify_email', VERIFY_EMAIL_TTL_MS) };
  }).catch((err) => {
    if (isUniqueViolation(err)) throw new AppError('conflict', 'An account with this email already exists');
    throw err;
  });
  const organization = input.organizationName ? await createOrganization(db, user, input.organizationName, meta.requestId) : null;
  const session = await db.withUser(user, (tx) => insertSession(tx, user.id, organization?.id ?? null, meta));
  return { user, organization, session, verifyToken };
}

export async function signIn(
  db: Database,
  input: { email: string; password: string },
  meta: { ip?: string; userAgent?: string; previousToken?: string },
) {
  const account = await accountByEmail(db, input.email);
  const ok = account ? await verifyPassword(account.password_hash, input.password) : await dummyVerify(input.password);
  if (!account || !ok) throw new AppError('unauthorized', 'Invalid email or password');
  // Rotation: the session presented with the sign-in ends (whoever's it was); a fresh token is issued.
  if (meta.previousToken) await signOut(db, meta.previousToken);
  return db.withUser({ id: account.id }, async (tx) => {
    const [first] = await tx.select({ organizationId: memberships.organizationId }).from(memberships)
      .where(eq(memberships.userId, account.id)).orderBy(asc(memberships.createdAt)).limit(1);
    const session = await insertSession(tx, account.id, first?.organizationId ?? null, meta);
    const [user] = await tx.select(userColumns).from(users).where(eq(users.id, account.id));
    return { user, session };
  });
}

export async function signOut(db: Database, token: string) {
  const parsed = parseScopedToken(token);
  if (!parsed) return;
  await db.withUser({ id: parsed.scopeId }, (tx) => tx.delete(sessions).where(eq(sessions.tokenHash, parsed.hash)));
}

/** Resolves a session cookie to a principal in one transaction, in the scope of the user the token names. */
export async function resolveSession(db: Database, token: string): Promise<Principal | null> {
  const parsed = token.length <= 200 ? parseScopedToken(token) : null;
  if (!parsed) return null;
  return db.withUser({ id: parsed.scopeId }, async (tx) => {
    const [row] = await tx
      .select({
        sessionId: sessions.id, userId: users.id, email: users.email,
        activeOrganizationId: sessions.activeOrganizationId, authenticatedAt: sessions.authenticatedAt,
      })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.tokenHash, parsed.hash), gt(sessions.expiresAt, sql`now()`)));
    if (!row) return null;
    let role: Role | null = null;
    if (row.activeOrganizationId) {
      const [m] = await tx.select({ role: memberships.role }).from(memberships)
        .where(and(eq(memberships.organizationId, row.activeOrganizationId), eq(memberships.userId, row.userId)));
      role = m?.role ?? null;
    }
    return {
      kind: 'session',
      userId: row.userId,
      userEmail: row.email,
      apiKeyId: null,
      sessionId: row.sessionId,
      organizationId: role ? row.activeOrganizationId : null,
      role,
      authenticatedAt: row.authenticatedAt,
    };
  });
}

/**
 * Verified keys are remembered for a few seconds so a busy integration does not pay a database
 * transaction per request. Misses are never cached. A revocation (of a key, or of a member's keys
 * when they leave or lose a role) is announced on the bus after its commit (./key-revocation.ts):
 * every process forgets the key when the message arrives — milliseconds — and API_KEY_CACHE_MS
 * bounds the rest: a message lost while a process is cut off from the broker (the cache is also
 * dropped whole when the bus reconnects). The cached principal carries the key's own role, never
 * a member's, so a member's role change needs no more than the key revocations it already does.
 */
export const API_KEY_CACHE_MS = 10_000;
const API_KEY_CACHE_MAX = 10_000;
interface KeyCache {
  entries: Map<string, { principal: Principal; until: number }>;
  /** Bumped by every forget, so a lookup that raced a revocation does not cache what it read. */
  generation: number;
}
const keyCaches = new WeakMap<Database, KeyCache>();
const keyCacheOf = (db: Database) => {
  let cache = keyCaches.get(db);
  if (!cache) keyCaches.set(db, (cache = { entries: new Map(), generation: 0 }));
  return cache;
};

/** Forgets a key in this process's cache (the bus calls it on every process: announceRevokedKeys). */
export function forgetApiKey(db: Database, apiKeyId: string) {
  const cache = keyCacheOf(db);
  cache.generation++;
  for (const [hash, entry] of cache.entries) if (entry.principal.apiKeyId === apiKeyId) cache.entries.delete(hash);
}

/** Forgets every cached key (the bus lost its connection: revocations may have been missed). */
export function forgetAllApiKeys(db: Database) {
  const cache = keyCacheOf(db);
  cache.generation++;
  cache.entries.clear();
}

/** Resolves an API key inside the organization it names: a key of another organization is simply not there. */
export async function resolveApiKey(db: Database, key: string): Promise<Principal | null> {
  const parsed = parseApiKey(key);
  if (!parsed) return null;
  const cache = keyCacheOf(db);
  const hit = cache.entries.get(parsed.hash);
  if (hit && hit.until > Date.now()) return hit.principal;
  const generation = cache.generation;
  const principal = await lookUpApiKey(db, parsed);
  cache.entries.delete(parsed.hash);
  if (principal && cache.generation === generation) {
    if (cache.entries.size >= API_KEY_CACHE_MAX) cache.entries.delete(cache.entries.keys().next().value!);
    cache.entries.set(parsed.hash, { principal, until: Date.now() + API_KEY_CACHE_MS });
  }
  return principal;
}

async function lookUpApiKey(db: Database, parsed: { organizationId: string; hash: string }): Promise<Principal | null> {
  return db.withTenant(parsed.organizationId, async (tx) => {
    const [k] = await tx
      .select({ id: apiKeys.id, role: apiKeys.role, lastUsedAt: apiKeys.lastUsedAt })
      .from(apiKeys)
      .where(and(eq(apiKeys.organizationId, parsed.organizationId), eq(apiKeys.keyHash, parsed.hash), isNull(apiKeys.revokedAt)));
    if (!k) return null;
    // last_used_at is kept to the minute so a busy key does not write on every request.
    if (!k.lastUsedAt || Date.now() - k.lastUsedAt.getTime() > 60_000) {
      await tx.update(apiKeys).set({ lastUsedAt: new Date() })
        .where(and(eq(apiKeys.organizationId, parsed.organizationId), eq(apiKeys.id, k.id)));
    }
    return <Principal>{
      kind: 'api_key',
      userId: null,
      userEmail: null,
      apiKeyId: k.id,
      sessionId: null,
      organizationId: parsed.organizationId,
      role: k.role,
      authenticatedAt: null,
    };
  });
}

export async function getSessionInfo(db: Database, principal: Principal) {
  const user = { id: principal.userId!, email: principal.userEmail! };
  return db.withUser(user, async (tx) => {
    const [u] = await tx.select(userColumns).from(users).where(eq(users.id, user.id));
    const orgs = await tx
      .select({ id: organizations.id, name: organizations.name, role: memberships.role })
      .from(memberships)
      .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
      .where(eq(memberships.userId, user.id))
      .orderBy(asc(memberships.createdAt));
    return {
      user: userOut(u),
      organizations: orgs,
      activeOrganizationId: principal.organizationId,
      role: principal.role,
    };
  });
}

/** Makes an organization the session's active one; only an organization the user belongs to. */
export async function switchOrganization(db: Database, principal: Principal, organizationId: string): Promise<Role> {
  return db.withUser({ id: principal.userId! }, async (tx) => {
    const [m] = await tx.select({ role: memberships.role }).from(memberships)
      .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, principal.userId!)));
    if (!m) throw new AppError('not_found');
    await tx.update(sessions).set({ activeOrganizationId: organizationId }).where(eq(sessions.id, principal.sessionId!));
    return m.role;
  });
}

export async function setActiveOrganization(db: Database, principal: Principal, organizationId: string | null) {
  await db.withUser({ id: principal.userId! }, (tx) =>
    tx.update(sessions).set({ activeOrganizationId: organizationId }).where(eq(sessions.id, principal.sessionId!)));
}

export const userOut = (u: { id: string; email: string; name: string; createdAt: Date; emailVerifiedAt: Date | null }) => ({
  id: u.id, email: u.email, name: u.name, createdAt: u.createdAt.toISOString(), emailVerified: u.emailVerifiedAt !== null,
});
