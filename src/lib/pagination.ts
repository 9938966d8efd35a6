import { z } from 'zod';
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
