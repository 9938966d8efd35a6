import { and, desc, eq, lt, or, sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { decodeCursor, encodeCursor } from '../../lib/pagination.js';

export interface AuditEntry {
  action: string;
  resourceType: string;
  resourceId?: string | null;
  changes?: Record<string, unknown> | null;
}

/** Writes who did what to which resource, in the caller's transaction: the change and its record commit together. */
export async function recordAudit(tx: Tx, ctx: TenantContext, entry: AuditEntry) {
  await tx.insert(schema.auditLog).values({
    organizationId: ctx.organizationId,
    actorType: ctx.actor.type,
    actorId: ctx.actor.id,
    action: entry.action,
    resourceType: entry.resourceType,
    resourceId: entry.resourceId ?? null,
    changes: entry.changes ?? null,
    requestId: ctx.requestId,
  });
}

export async function listAudit(tx: Tx, ctx: TenantContext, q: { limit: number; cursor?: string; resourceType?: string; resourceId?: string }) {
  const a = schema.auditLog;
  const c = q.cursor ? decodeCursor(q.cursor) : null;
  const rows = await tx
    .select({ row: a, cursorTs: sql<string>`${a.createdAt}::text` })
    .from(a)
    .where(
      and(
        eq(a.organizationId, ctx.organizationId),
        q.resourceType ? eq(a.resourceType, q.resourceType) : undefined,
        q.resourceId ? eq(a.resourceId, q.resourceId) : undefined,
        c ? or(lt(a.createdAt, sql`${c.ts}::timestamptz`), and(eq(a.createdAt, sql`${c.ts}::timestamptz`), lt(a.id, c.id))) : undefined,
      ),
    )
    .orderBy(desc(a.createdAt), desc(a.id))
    .limit(q.limit + 1);
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    data: page.map(({ row }) => ({
      id: row.id,
      actorType: row.actorType,
      actorId: row.actorId,
      action: row.action,
      resourceType: row.resourceType,
      resourceId: row.resourceId,
      changes: row.changes,
      requestId: row.requestId,
      createdAt: row.createdAt.toISOString(),
    })),
    nextCursor: rows.length > q.limit && last ? encodeCursor(last.cursorTs, last.row.id) : null,
  };
}
