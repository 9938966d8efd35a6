import { and, eq, inArray, isNull } from 'drizzle-orm';
import { schema, type GrantableRole, type Tx } from '../../db/index.js';
import { roleAtLeast, type TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { keysetPage } from '../../lib/pagination.js';
import { newApiKey } from '../auth/crypto.js';
import { recordAudit } from '../audit/service.js';

const { apiKeys, users } = schema;

type Creator = { userId: string; name: string; email: string } | null;
const toDto = (k: typeof apiKeys.$inferSelect, createdBy: Creator) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  role: k.role,
  createdAt: k.createdAt.toISOString(),
  lastUsedAt: k.lastUsedAt?.toISOString() ?? null,
  revokedAt: k.revokedAt?.toISOString() ?? null,
  createdBy,
});

export async function listApiKeys(tx: Tx, ctx: TenantContext, q: { limit: number; cursor?: string }) {
  const { rows, nextCursor } = await keysetPage(tx, apiKeys, q, [eq(apiKeys.organizationId, ctx.organizationId)]);
  const creatorIds = [...new Set(rows.map((k) => k.createdByUserId).filter((id): id is string => id !== null))];
  // users is under RLS: only members of this organization are found, so no outsider's name or id shows.
  const creators = creatorIds.length
    ? await tx.select({ userId: users.id, name: users.name, email: users.email }).from(users).where(inArray(users.id, creatorIds))
    : [];
  const byId = new Map(creators.map((u) => [u.userId, u]));
  return { data: rows.map((k) => toDto(k, (k.createdByUserId && byId.get(k.createdByUserId)) || null)), nextCursor };
}

/** The secret is returned here once; only its SHA-256 is stored. A key cannot outrank its creator. */
export async function createApiKey(tx: Tx, ctx: TenantContext, input: { name: string; role: GrantableRole }) {
  if (!roleAtLeast(ctx.role, input.role)) throw new AppError('forbidden', 'Forbidden - a key cannot have a higher role than its creator');
  const { key, prefix, hash } = newApiKey(ctx.organizationId);
  const [row] = await tx.insert(apiKeys).values({
    organizationId: ctx.organizationId,
    name: input.name,
    prefix,
    keyHash: hash,
    role: input.role,
    createdByUserId: ctx.actor.type === 'user' ? ctx.actor.id : null,
  }).returning();
  await recordAudit(tx, ctx, { action: 'api_key.created', resourceType: 'api_key', resourceId: row.id, changes: { name: input.name, role: input.role } });
  const [me] = await tx.select({ userId: users.id, name: users.name, email: users.email }).from(users).where(eq(users.id, ctx.actor.id));
  return { ...toDto(row, me ?? null), key };
}

export async function revokeApiKey(tx: Tx, ctx: TenantContext, id: string) {
  const rows = await tx.update(apiKeys).set({ revokedAt: new Date() })
    .where(and(eq(apiKeys.organizationId, ctx.organizationId), eq(apiKeys.id, id), isNull(apiKeys.revokedAt)))
    .returning({ id: apiKeys.id });
  if (!rows.length) throw notFound();
  await recordAudit(tx, ctx, { action: 'api_key.revoked', resourceType: 'api_key', resourceId: id });
}
