import { and, asc, eq, gt, isNull, sql } from 'drizzle-orm';
import { schema, setScope, type Database, type Role, type Tx } from '../../db/index.js';
import { AppError } from '../../http/errors.js';
import type { Principal } from '../../http/access.js';
import { dummyVerify, hashPassword, parseApiKey, randomToken, sha256, verifyPassword } from './crypto.js';

export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

const { users, sessions, memberships, organizations, invitations, apiKeys, auditLog } = schema;

export interface NewSession {
  token: string;
  expiresAt: Date;
}

async function insertSession(tx: Tx, userId: string, activeOrganizationId: string | null, meta: { ip?: string; userAgent?: string }): Promise<NewSession> {
  const token = randomToken(32);
  const expiresAt = new Date(Date.now() + SESSION_TTL_MS);
  await tx.insert(sessions).values({
    tokenHash: sha256(token),
    userId,
    activeOrganizationId,
    ip: meta.ip ?? null,
    userAgent: meta.userAgent?.slice(0, 512) ?? null,
    expiresAt,
  });
  return { token, expiresAt };
}

/** Creates an organization with the user as owner. Runs in the new organization's scope so RLS admits the rows. */
export async function createOrganization(db: Database, user: { id: string }, name: string, requestId: string) {
  const id = crypto.randomUUID();
  return db.withTenant(id, async (tx) => {
    const [org] = await tx.insert(organizations).values({ id, name }).returning();
    await tx.insert(memberships).values({ organizationId: id, userId: user.id, role: 'owner' });
    await tx.insert(auditLog).values({
      organizationId: id, actorType: 'user', actorId: user.id, action: 'organization.created',
      resourceType: 'organization', resourceId: id, changes: { name }, requestId,
    });
    return org;
  });
}

/** Turns pending invitations addressed to the user's email into memberships. */
export async function acceptInvitations(db: Database, user: { id: string; email: string }, requestId: string): Promise<string[]> {
  const pending = await db.withUser(user, (tx) =>
    tx.select({ organizationId: invitations.organizationId, id: invitations.id, role: invitations.role })
      .from(invitations)
      .where(and(isNull(invitations.acceptedAt), gt(invitations.expiresAt, sql`now()`))),
  );
  const joined: string[] = [];
  for (const inv of pending) {
    await db.withTenant(inv.organizationId, async (tx) => {
      const accepted = await tx.update(invitations).set({ acceptedAt: new Date() })
        .where(and(eq(invitations.organizationId, inv.organizationId), eq(invitations.id, inv.id), isNull(invitations.acceptedAt)))
        .returning({ id: invitations.id });
      if (!accepted.length) return;
      await tx.insert(memberships).values({ organizationId: inv.organizationId, userId: user.id, role: inv.role })
        .onConflictDoNothing();
      await tx.insert(auditLog).values({
        organizationId: inv.organizationId, actorType: 'user', actorId: user.id, action: 'member.joined',
        resourceType: 'membership', resourceId: null, changes: { role: inv.role, invitationId: inv.id }, requestId,
      });
      joined.push(inv.organizationId);
    }, { userId: user.id });
  }
  return joined;
}

export async function signUp(
  db: Database,
  input: { email: string; password: string; name: string; organizationName?: string },
  meta: { ip?: string; userAgent?: string; requestId: string },
) {
  const passwordHash = await hashPassword(input.password);
  const user = await db.withPlatform(async (tx) => {
    const taken = await tx.select({ id: users.id }).from(users).where(sql`lower(${users.email}) = lower(${input.email})`);
    if (taken.length) throw new AppError('conflict', 'An account with this email already exists');
    const [u] = await tx.insert(users).values({ email: input.email, name: input.name, passwordHash }).returning();
    return u;
  });
  const joined = await acceptInvitations(db, user, meta.requestId);
  const organization = input.organizationName ? await createOrganization(db, user, input.organizationName, meta.requestId) : null;
  const active = organization?.id ?? joined[0] ?? null;
  const session = await db.withPlatform((tx) => insertSession(tx, user.id, active, meta));
  return { user, organization, session };
}

export async function signIn(
  db: Database,
  input: { email: string; password: string },
  meta: { ip?: string; userAgent?: string; previousToken?: string },
) {
  const [user] = await db.withPlatform((tx) =>
    tx.select().from(users).where(sql`lower(${users.email}) = lower(${input.email})`),
  );
  const ok = user ? await verifyPassword(user.passwordHash, input.password) : await dummyVerify(input.password);
  if (!user || !ok) throw new AppError('unauthorized', 'Invalid email or password');
  return db.withUser(user, async (tx) => {
    // Rotation: the session presented with the sign-in (if any) ends; a fresh token is issued.
    if (meta.previousToken) await tx.delete(sessions).where(eq(sessions.tokenHash, sha256(meta.previousToken)));
    const [first] = await tx.select({ organizationId: memberships.organizationId }).from(memberships)
      .where(eq(memberships.userId, user.id)).orderBy(asc(memberships.createdAt)).limit(1);
    const session = await insertSession(tx, user.id, first?.organizationId ?? null, meta);
    return { user, session };
  });
}

export async function signOut(db: Database, token: string) {
  await db.withPlatform((tx) => tx.delete(sessions).where(eq(sessions.tokenHash, sha256(token))));
}

/** Resolves a session cookie to a principal in one transaction: session → user → role in the active organization. */
export async function resolveSession(db: Database, token: string): Promise<Principal | null> {
  if (token.length > 200) return null;
  return db.withPlatform(async (tx) => {
    const [row] = await tx
      .select({ sessionId: sessions.id, userId: users.id, email: users.email, activeOrganizationId: sessions.activeOrganizationId })
      .from(sessions)
      .innerJoin(users, eq(users.id, sessions.userId))
      .where(and(eq(sessions.tokenHash, sha256(token)), gt(sessions.expiresAt, sql`now()`)));
    if (!row) return null;
    let role: Role | null = null;
    if (row.activeOrganizationId) {
      await setScope(tx, { userId: row.userId });
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
    };
  });
}

/**
 * Verified keys are remembered for a few seconds so a busy integration does not pay a database
 * transaction per request. Revoking a key forgets it in this process at once; other processes
 * stop accepting it within API_KEY_CACHE_MS. Misses are never cached.
 */
export const API_KEY_CACHE_MS = 10_000;
const API_KEY_CACHE_MAX = 10_000;
const keyCaches = new WeakMap<Database, Map<string, { principal: Principal; until: number }>>();

export function forgetApiKey(db: Database, apiKeyId: string) {
  const cache = keyCaches.get(db);
  if (!cache) return;
  for (const [hash, entry] of cache) if (entry.principal.apiKeyId === apiKeyId) cache.delete(hash);
}

/** Resolves an API key inside the organization it names: a key of another organization is simply not there. */
export async function resolveApiKey(db: Database, key: string): Promise<Principal | null> {
  const parsed = parseApiKey(key);
  if (!parsed) return null;
  let cache = keyCaches.get(db);
  if (!cache) keyCaches.set(db, (cache = new Map()));
  const hit = cache.get(parsed.hash);
  if (hit && hit.until > Date.now()) return hit.principal;
  const principal = await lookUpApiKey(db, parsed);
  cache.delete(parsed.hash);
  if (principal) {
    if (cache.size >= API_KEY_CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(parsed.hash, { principal, until: Date.now() + API_KEY_CACHE_MS });
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
    };
  });
}

export async function getSessionInfo(db: Database, principal: Principal) {
  const user = { id: principal.userId!, email: principal.userEmail! };
  return db.withUser(user, async (tx) => {
    const [u] = await tx.select({ id: users.id, email: users.email, name: users.name, createdAt: users.createdAt })
      .from(users).where(eq(users.id, user.id));
    const orgs = await tx
      .select({ id: organizations.id, name: organizations.name, role: memberships.role })
      .from(memberships)
      .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
      .where(eq(memberships.userId, user.id))
      .orderBy(asc(memberships.createdAt));
    return {
      user: { id: u.id, email: u.email, name: u.name, createdAt: u.createdAt.toISOString() },
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

export async function setActiveOrganization(db: Database, sessionId: string, organizationId: string) {
  await db.withPlatform((tx) => tx.update(sessions).set({ activeOrganizationId: organizationId }).where(eq(sessions.id, sessionId)));
}
