import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { query } from '../../db/sql.js';
import type { RecordedStep } from '../ivr/runtime.js';

/**
 * Appends steps to a call's path, numbered after the last one. Callers hold the call row locked
 * (the gather webhook selects it FOR UPDATE), so two requests of one call cannot take the same number.
 */
export async function recordSteps(tx: Tx, organizationId: string, callId: string, steps: RecordedStep[]) {
  if (!steps.length) return;
  const rows = steps.map((s, i) => ({ i: i + 1, node: s.nodeId, kind: s.kind, digits: s.digits ?? null, detail: s.detail ?? {} }));
  await query(
    tx,
    sql`insert into call_steps (organization_id, call_id, seq, node_id, kind, digits, detail)
      select ${organizationId}, ${callId}, base.n + x.i, x.node, x.kind, x.digits, coalesce(x.detail, '{}')
      from (select coalesce(max(seq), 0) as n from call_steps where organization_id = ${organizationId} and call_id = ${callId}) base,
           jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as x(i int, node text, kind text, digits text, detail jsonb)`,
  );
}
