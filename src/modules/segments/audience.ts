import { sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import { AppError } from '../../http/errors.js';
import { compileCondition } from './compile.js';
import type { Condition } from './schemas.js';

/**
 * A saved segment as a boolean SQL expression over `customers c` of the organization, for a campaign's
 * audience: one segment row is read (inside the caller's tenant transaction, so RLS applies too), the
 * membership itself stays in SQL. Null when the organization has no such segment.
 */
export async function segmentFilter(tx: Tx, org: string, segmentId: string): Promise<SQL | null> {
  const row = await queryOne<{ condition: Condition }>(tx, sql`select condition from segments where organization_id = ${org} and id = ${segmentId}`);
  return row ? compileCondition(org, row.condition) : null;
}

/**
 * The audience filter of a campaign: its segment's condition, or `true` without one. A segment deleted
 * after the campaign was saved matches nobody (the send goes to no one rather than to everyone).
 */
export async function audienceSegmentFilter(tx: Tx, org: string, segmentId: string | undefined | null): Promise<SQL> {
  if (!segmentId) return sql`true`;
  return (await segmentFilter(tx, org, segmentId)) ?? sql`false`;
}

/**
 * Refuses an audience naming a segment the organization does not have (another organization's id
 * reads exactly like one that does not exist): 400 validation_failed at `audience.segmentId`.
 */
export async function requireAudienceSegment(tx: Tx, org: string, segmentId: string | undefined | null, path = 'audience.segmentId') {
  if (!segmentId) return;
  const row = await queryOne<{ id: string }>(tx, sql`select id from segments where organization_id = ${org} and id = ${segmentId}`);
  if (!row) throw new AppError('validation_failed', 'No such segment', [{ in: 'body', path, message: 'No such segment in this organization' }]);
}
