import { sql, type SQL } from 'drizzle-orm';
import type { Condition } from './schemas.js';

const FIELDS = { email: sql`c.email`, phone: sql`c.phone`, firstName: sql`c.first_name`, lastName: sql`c.last_name`, externalId: sql`c.external_id` } as const;
const escapeLike = (s: string) => s.replace(/[\\%_]/g, (m) => `\\${m}`);

/**
 * A condition tree as a boolean SQL expression over `customers c` of one organization. Every value is a
 * bound parameter and every identifier comes from the fixed maps above; event conditions are correlated
 * subqueries on the events of the same organization (and the transaction's RLS scope besides).
 */
export function compileCondition(org: string, node: Condition): SQL {
  switch (node.type) {
    case 'and':
    case 'or':
      return sql`(${sql.join(node.conditions.map((c) => compileCondition(org, c)), node.type === 'and' ? sql` and ` : sql` or `)})`;
    case 'not':
      return sql`(not coalesce(${compileCondition(org, node.condition)}, false))`;
    case 'field': {
      const col = FIELDS[node.field];
      const v = node.value ?? '';
      if (node.op === 'exists') return sql`(${col} is not null and ${col} <> '')`;
      if (node.op === 'notExists') return sql`(${col} is null or ${col} = '')`;
      if (node.op === 'contains') return sql`(${col} ilike ${`%${escapeLike(v)}%`})`;
      const eq = node.field === 'email' ? sql`lower(${col}) = lower(${v})` : sql`${col} = ${v}`;
      return node.op === 'eq' ? sql`(${eq})` : sql`(${col} is null or not (${eq}))`;
    }
    case 'created':
      return node.op === 'before' ? sql`(c.created_at < ${node.at}::timestamptz)` : sql`(c.created_at >= ${node.at}::timestamptz)`;
    case 'tag':
      return node.op === 'has' ? sql`(c.tags @> array[${node.tag}]::text[])` : sql`(not c.tags @> array[${node.tag}]::text[])`;
    case 'attribute': {
      const v = node.value;
      if (node.op === 'exists') return sql`(c.attributes ? ${node.key})`;
      if (node.op === 'notExists') return sql`(not c.attributes ? ${node.key})`;
      if (node.op === 'gt' || node.op === 'lt') {
        // Only numbers compare: a text attribute is neither greater nor smaller.
        const num = sql`(case when jsonb_typeof(c.attributes -> ${node.key}) = 'number' then (c.attributes ->> ${node.key})::numeric end)`;
        const bound = sql`${typeof v === 'number' ? v : Number(v)}::numeric`;
        return typeof v === 'number' || (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)))
          ? node.op === 'gt' ? sql`(${num} > ${bound})` : sql`(${num} < ${bound})`
          : sql`false`;
      }
      const eq = sql`(c.attributes ->> ${node.key}) = ${v === undefined ? '' : String(v)}`;
      return node.op === 'eq' ? sql`(${eq})` : sql`(not coalesce(${eq}, false))`;
    }
    case 'consent':
      return node.channel === 'email' ? sql`(c.email_opt_in = ${node.optedIn})` : sql`(c.sms_opt_in = ${node.optedIn})`;
    case 'event': {
      const props = Object.entries(node.where ?? {}).map(([k, v]) => sql` and e.properties ->> ${k} = ${v}`);
      const match = sql`from analytics_events e where e.organization_id = ${org} and e.customer_id = c.id and e.name = ${node.event}
        and e.occurred_at >= now() - make_interval(days => ${node.withinDays}::int)${sql.join(props, sql``)}`;
      if (node.op === 'none') return sql`(not exists (select 1 ${match}))`;
      if (node.count === 1) return sql`(exists (select 1 ${match}))`;
      // One pass over the matching events (a hashed subplan), not one count per customer.
      return sql`(c.id in (select e.customer_id from analytics_events e where e.organization_id = ${org} and e.name = ${node.event}
        and e.occurred_at >= now() - make_interval(days => ${node.withinDays}::int)${sql.join(props, sql``)}
        group by e.customer_id having count(*) >= ${node.count}))`;
    }
  }
}
