import { and, asc, eq, inArray } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';

/** The organization's phone numbers bound to each of these flows (numbers hold the binding: PATCH /api/phone-numbers/:id). */
export async function boundNumbers(tx: Tx, organizationId: string, flowIds: string[]): Promise<Map<string, { id: string; number: string }[]>> {
  const out = new Map<string, { id: string; number: string }[]>();
  if (!flowIds.length) return out;
  const p = schema.phoneNumbers;
  const rows = await tx
    .select({ id: p.id, number: p.number, flowId: p.ivrFlowId })
    .from(p)
    .where(and(eq(p.organizationId, organizationId), inArray(p.ivrFlowId, flowIds)))
    .orderBy(asc(p.number));
  for (const r of rows) out.set(r.flowId!, [...(out.get(r.flowId!) ?? []), { id: r.id, number: r.number }]);
  return out;
}
