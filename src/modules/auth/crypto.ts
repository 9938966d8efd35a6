import { createHash, randomBytes } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import { b64ToUuid, uuidToB64 } from '../../lib/uuid.js';

// OWASP Password Storage Cheat Sheet: argon2id, m=19 MiB, t=2, p=1.
const ARGON2ID = { algorithm: 2 as const, memoryCost: 19456, timeCost: 2, parallelism: 1 };

export const hashPassword = (password: string) => hash(password, ARGON2ID as any);
export const verifyPassword = (stored: string, password: string) => verify(stored, password).catch(() => false);

/** Compared against when the account does not exist, so a miss costs the same time as a wrong password. */
let dummyHash: Promise<string> | undefined;
export const dummyVerify = async (password: string) => {
  dummyHash ??= hashPassword(randomBytes(16).toString('hex'));
  await verifyPassword(await dummyHash, password);
  return false;
};

export const sha256 = (value: string) => createHash('sha256').update(value).digest('hex');
export const randomToken = (bytes = 32) => randomBytes(bytes).toString('base64url');


/**
 * API keys look like `sb_<organization>_<secret>`: the organization part (the id's 16 bytes,
 * base64url) lets the key be checked inside that organization's RLS scope without any
 * cross-tenant lookup; the 256-bit secret is what makes it unguessable. Only SHA-256 is stored.
 */
export function newApiKey(organizationId: string) {
  const org = uuidToB64(organizationId);
  const secret = randomToken(32);
  const key = `sb_${org}_${secret}`;
  return { key, prefix: `sb_${org.slice(0, 6)}…${secret.slice(0, 6)}`, hash: sha256(key) };
}

export function parseApiKey(key: string): { organizationId: string; hash: string } | null {
  const m = /^sb_([A-Za-z0-9_-]{22})_([A-Za-z0-9_-]{43})$/.exec(key);
  const organizationId = m && b64ToUuid(m[1]);
  return organizationId ? { organizationId, hash: sha256(key) } : null;
}

/**
 * Session cookies, account tokens (verification, reset) and invitation tokens look like
 * `<scope>.<secret>`: the scope is the id (16 bytes, base64url) of the user or organization whose
 * row-level security scope holds the token, so resolving one needs no lookup across accounts or
 * organizations; the 256-bit secret makes it unguessable. Only SHA-256 of the whole token is stored.
 */
export function newScopedToken(scopeId: string) {
  const token = `${uuidToB64(scopeId)}.${randomToken(32)}`;
  return { token, hash: sha256(token) };
}

export function parseScopedToken(token: string): { scopeId: string; hash: string } | null {
  const m = /^([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/.exec(token);
  const scopeId = m && b64ToUuid(m[1]);
  return scopeId ? { scopeId, hash: sha256(token) } : null;
}
