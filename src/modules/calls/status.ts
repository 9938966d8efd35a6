import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import { trackChannelRow } from '../analytics/track.js';
import { emitCallCompleted } from '../webhooks/sources.js';
import { CALL_STATUSES, FINAL_STATUSES, type CallStatus } from './schemas.js';

/** How far along a status is: the final ones share the last rank, so none of them replaces another. */
export const statusRank = (s: string) => (FINAL_STATUSES.includes(s as CallStatus) ? 99 : CALL_STATUSES.indexOf(s as CallStatus));
const rankSql = (col: ReturnType<typeof sql>) =>
  sql`case ${col} ${sql.join(CALL_STATUSES.map((s) => sql`when ${s} then ${statusRank(s)}`), sql` `)} else -1 end`;

export interface CallStatusUpdate {
  callSid: string;
  status: string;
  durationSeconds?: number | null;
  recordingUrl?: string | null;
  recordingDurationSeconds?: number | null;
  errorCode?: string | null;
}

/**
 * Applies a Twilio call status callback to the organization's call with that sid. Status only moves
 * forward (callbacks arrive out of order and repeat): a status at or behind the stored one changes
 * nothing, not even the duration. Returns whether the call exists and whether anything changed.
 */
export async function applyCallStatus(tx: Tx, organizationId: string, u: CallStatusUpdate): Promise<{ found: boolean; applied: boolean; callId: string | null }> {
  if (!CALL_STATUSES.includes(u.status as CallStatus)) return { found: false, applied: false, callId: null };
  const final = FINAL_STATUSES.includes(u.status as CallStatus);
  const row = await queryOne<{ applied: boolean; found: boolean; call_id: string | null }>(
    tx,
    sql`with target as (
          select id, ${rankSql(sql`status`)} < ${statusRank(u.status)} as forward
          from calls where organization_id = ${organizationId} and provider_call_id = ${u.callSid} for update
        ), changed as (
          update calls c set
            status = ${u.status},
            answered_at = case when ${u.status} = 'in-progress' then coalesce(c.answered_at, now()) else c.answered_at end,
            ended_at = case when ${final} then coalesce(c.ended_at, now()) else c.ended_at end,
            duration_seconds = coalesce(${u.durationSeconds ?? null}::int, c.duration_seconds),
            recording_url = coalesce(${u.recordingUrl ?? null}, c.recording_url),
            recording_duration_seconds = coalesce(${u.recordingDurationSeconds ?? null}::int, c.recording_duration_seconds),
            error_code = coalesce(${u.errorCode ?? null}, c.error_code),
            ivr_node = case when ${final} then null else c.ivr_node end,
            updated_at = now()
          from target t where c.organization_id = ${organizationId} and c.id = t.id and t.forward
          returning c.id
        )
        select exists (select 1 from changed) as applied, exists (select 1 from target) as found, (select id from target) as call_id`,
  );
  if (row?.applied && row.call_id && u.status === 'completed') await emitCallCompleted(tx, { organizationId }, row.call_id);
  if (row?.applied && row.call_id && u.status === 'completed') await trackChannelRow(tx, organizationId, 'Call Completed', row.call_id);
  return { found: Boolean(row?.found), applied: Boolean(row?.applied), callId: row?.call_id ?? null };
}
