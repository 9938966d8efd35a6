import { and, desc, eq, lt, or, sql, type SQL } from 'drizzle-orm';
import type { PgColumn, PgTable } from 'drizzle-orm/pg-core';
import { z } from 'zod';
import type { Tx } from '../db/index.js';
import { AppError } from '../http/errors.js';

/** `?limit=` (default 50, max 200) and `?cursor=`, per the API contract. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(200).optional(),
};

export const pageOf = <T extends z.ZodType>(item: T) => z.object({ data: z.array(item), nextCursor: z.string().nullable() });

/**
 * Keyset cursors over (created_at, id). The timestamp travels as PostgreSQL's own text so
 * microseconds survive the round trip (a JS Date would drop them and skip or repeat rows).
 */
export const encodeCursor = (ts: string, id: string) => Buffer.from(JSON.stringify([ts, id])).toString('base64url');

const CursorShape = z.tuple([z.string().min(1).max(64), z.uuid()]);
export function decodeCursor(cursor: string): { ts: string; id: string } {
  try {
    const [ts, id] = CursorShape.parse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (!/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([+-]\d{2}(:?\d{2})?|Z)?$/.test(ts)) throw new Error('bad timestamp');
    return { ts, id };
  } catch {
    throw new AppError('validation_failed', 'Invalid cursor', [{ in: 'querystring', path: 'cursor', message: 'Invalid cursor' }]);
  }
}

/** A tenant table ordered newest first by (created_at, id). */
type KeysetTable = PgTable & { createdAt: PgColumn; id: PgColumn };

/**
 * One page of a tenant table, newest first, after the cursor: the keyset query every list
 * endpoint shares. `filters` must include the organization filter.
 */
export async function keysetPage<T extends KeysetTable>(
  tx: Tx,
  table: T,
  q: { limit: number; cursor?: string },
  filters: (SQL | undefined)[],
): Promise<{ rows: T['$inferSelect'][]; nextCursor: string | null }> {
  const cursor = q.cursor ? decodeCursor(q.cursor) : null;
  const where = [...filters];
  if (cursor) {
    const ts = sql`${cursor.ts}::timestamptz`;
    where.push(or(lt(table.createdAt, ts), and(eq(table.createdAt, ts), lt(table.id, cursor.id))));
  }
  const found = (await tx
    .select({ row: table as PgTable, cursorTs: sql<string>`${table.createdAt}::text` } as any)
    .from(table as PgTable)
    .where(and(...where))
    .orderBy(desc(table.createdAt), desc(table.id))
    .limit(q.limit + 1)) as unknown as { row: T['$inferSelect']; cursorTs: string }[];
  const page = found.slice(0, q.limit);
  const last = page[page.length - 1];
  return {
    rows: page.map((r) => r.row),
    nextCursor: found.length > q.limit && last ? encodeCursor(last.cursorTs, (last.row as { id: string }).id) : null,
  };
}
