import { sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { arr, query } from '../../db/sql.js';
import type { Audience } from '../../lib/campaigns.js';
import { PHONE_KEY, toE164 } from '../../lib/phone.js';
import { audienceSegmentFilter } from '../segments/index.js';

const CHUNK = 5000;

/**
 * The campaign's would-be recipients: opted-in customers in the audience (any of the tags, members of the
 * segment when it names one: its condition compiled to SQL, see audienceSegmentFilter) with a number, oldest first.
 */
async function candidatesOf(tx: Tx, org: string, audience: Audience) {
  const tags = audience.tags ?? [];
  const segment: SQL = await audienceSegmentFilter(tx, org, audience.segmentId);
  return query<{ id: string; phone: string }>(
    tx,
    sql`select c.id, c.phone from customers c
      where c.organization_id = ${org} and c.sms_opt_in and c.phone is not null
        and (cardinality(${arr(tags)}::text[]) = 0 or c.tags && ${arr(tags)}::text[])
        and ${segment}
      order by c.created_at, c.id`,
  );
}

/** One number per recipient (the oldest customer holding it), invalid numbers counted and left out. */
function distinctNumbers(candidates: { id: string; phone: string }[]) {
  const seen = new Set<string>();
  const ids: string[] = [];
  const numbers: string[] = [];
  let invalid = 0;
  for (const c of candidates) {
    const n = toE164(c.phone);
    if (!n) invalid++;
    else if (!seen.has(n)) {
      seen.add(n);
      ids.push(c.id);
      numbers.push(n);
    }
  }
  return { ids, numbers, invalid };
}

/** How many messages resolveAudience would write now (same rules, nothing written): what a send is metered by. */
export async function countSmsAudience(tx: Tx, org: string, audience: Audience): Promise<number> {
  const { numbers } = distinctNumbers(await candidatesOf(tx, org, audience));
  if (!numbers.length) return 0;
  const [row] = await query<{ n: number }>(
    tx,
    sql`select count(*)::int as n from unnest(${arr(numbers)}::text[]) as v(phone)
      where not exists (select 1 from suppressions s where s.organization_id = ${org} and s.channel = 'sms' and s.address = v.phone)`,
  );
  return Number(row.n);
}

/**
 * Writes one queued message row per recipient of the campaign: the organization's customers who
 * opted in to SMS, match the audience (tags, segment), have a valid E.164 number (libphonenumber-js) that is not
 * on the SMS suppression list. Customers with an invalid number are left out and counted. Two
 * customers sharing a number get one message (the oldest customer): a phone is texted once per campaign.
 * Idempotent: rows that exist stay as they are. Run once when the send starts (beginSend): the rows
 * written here are the campaign's frozen recipients; later segment members or tags add no one.
 */
export async function resolveAudience(tx: Tx, org: string, campaignId: string, audience: Audience): Promise<{ recipients: number; invalid: number }> {
  const { ids, numbers, invalid } = distinctNumbers(await candidatesOf(tx, org, audience));
  let recipients = 0;
  for (let i = 0; i < ids.length; i += CHUNK) {
    const rows = await query<{ n: number }>(
      tx,
      sql`with added as (
          insert into sms_messages (organization_id, campaign_id, customer_id, to_phone, body)
          select ${org}, ${campaignId}, v.id, v.phone, ''
          from unnest(${arr(ids.slice(i, i + CHUNK))}::uuid[], ${arr(numbers.slice(i, i + CHUNK))}::text[]) as v(id, phone)
          where not exists (select 1 from suppressions s where s.organization_id = ${org} and s.channel = 'sms' and s.address = v.phone)
          order by v.id
          on conflict do nothing
          returning 1)
        select count(*)::int as n from added`,
    );
    recipients += Number(rows[0].n);
  }
  return { recipients, invalid };
}
