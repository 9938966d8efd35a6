import { eq } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { AuditContext, TenantContext } from '../../http/access.js';
import { keysetPage } from '../../lib/pagination.js';

export interface AuditEntry {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  changes?: Record<string, unknown> | null;
}

/**
 * Writes who did what to which resource, in the caller's transaction: the change and its record
 * commit together. People, API keys and the platform itself (systemContext) all write through here.
 */
export async function recordAudit(tx: Tx, ctx: AuditContext, entry: AuditEntry) {
  const { actor } = ctx;
  await tx.insert(schema.auditLog).values({
    organizationId: ctx.organizationId,
    actorType: actor.type,
    actorId: actor.type === 'system' ? null : actor.id,
    actorReason: actor.type === 'system' ? actor.reason : null,
    action: entry.action,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId ?? null,
    changes: entry.changes ?? null,
    requestId: ctx.requestId,
  });
}

export async function listAudit(tx: Tx, ctx: TenantContext, q: { limit: number; cursor?: string; resourceType?: string; resourceId?: string }) {
  const a = schema.auditLog;
  const { rows, nextCursor } = await keysetPage(tx, a, q, [
    eq(a.organizationId, ctx.organizationId),
    q.resourceType ? eq(a.resourceType, q.resourceType) : undefined,
    q.resourceId ? eq(a.resourceId, q.resourceId) : undefined,
  ]);
  return {
    data: rows.map((row) => ({
      id: row.id,
      actorType: row.actorType,
      actorId: row.actorId,
      actorReason: row.actorReason,
      action: row.action,
      resourceType: row.resourceType,
      resourceId: row.resourceId,
      changes: row.changes,
      requestId: row.requestId,
      createdAt: row.createdAt.toISOString(),
    })),
    nextCursor,
  };
}
