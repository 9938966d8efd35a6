import { sql } from 'drizzle-orm';
import { FREE_PLAN, type Config, type Plan, type PlanLimit } from '../../config.js';
import type { Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import { AppError } from '../../http/errors.js';

// The billing module's public face for the other modules: what plan is in force, and the one check
// every place that adds something a plan limits calls before it does (customers, members, phone
// numbers), or that accepts messages for sending (emails and SMS per calendar month, counted here).

export type Plans = Config['billing']['plans'];

export interface AccountRow {
  plan: string;
  status: string;
  stripe_customer_id: string | null;
  stripe_subscription_id: string | null;
  current_period_end: string | null;
  grace_until: string | null;
  customers_count: number;
}

/**
 * The organization's billing row (the defaults when it has none yet) with its customer count, the
 * counter the customers' own triggers keep (customer_counts, 0016_scale.sql).
 */
const readAccountRow = async (tx: Tx, organizationId: string) =>
  (await queryOne<AccountRow>(
    tx,
    sql`select coalesce(b.plan, ${FREE_PLAN}) as plan, coalesce(b.status, 'none') as status, b.stripe_customer_id, b.stripe_subscription_id,
        to_char(b.current_period_end at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as current_period_end,
        to_char(b.grace_until at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as grace_until,
        coalesce(cc.total, 0)::int as customers_count
      from (select ${organizationId}::uuid as organization_id) o
      left join billing_accounts b on b.organization_id = o.organization_id
      left join customer_counts cc on cc.organization_id = o.organization_id`,
  ))!;

/**
 * The organization's billing row; `lock` holds it until commit, serializing checks. The lock is taken
 * in a statement of its own, so the row and the count read after it are the ones committed by
 * whoever held the lock before.
 */
export async function readAccount(tx: Tx, organizationId: string, opts: { lock?: boolean } = {}): Promise<AccountRow> {
  if (opts.lock) {
    await tx.execute(sql`insert into billing_accounts (organization_id) values (${organizationId}) on conflict do nothing`);
    await tx.execute(sql`select 1 from billing_accounts where organization_id = ${organizationId} for update`);
  }
  return readAccountRow(tx, organizationId);
}

/** Statuses under which the subscribed plan is in force; past_due/unpaid keep it until grace_until. */
const IN_FORCE = new Set(['none', 'manual', 'active', 'trialing']);
const GRACE = new Set(['past_due', 'unpaid']);

export interface PlanInForce {
  plan: Plan;
  /** A failed payment's grace period is running: the paid plan still applies until `graceUntil`. */
  inGrace: boolean;
  /** The subscribed plan no longer applies (canceled, unpaid past its grace, incomplete): free's limits do. */
  fellBack: boolean;
}

/** Read-time: nothing is deleted or rewritten when a grace period ends, the limits simply become free's. */
export function planInForce(row: Pick<AccountRow, 'plan' | 'status' | 'grace_until'>, plans: Plans, now = new Date()): PlanInForce {
  const free = plans[FREE_PLAN];
  const subscribed = plans[row.plan] ?? free;
  if (IN_FORCE.has(row.status)) return { plan: subscribed, inGrace: false, fellBack: false };
  if (GRACE.has(row.status) && (!row.grace_until || new Date(row.grace_until) > now)) return { plan: subscribed, inGrace: true, fellBack: false };
  return { plan: free, inGrace: false, fellBack: subscribed !== free };
}

/** The first day of the calendar month (UTC) a moment falls in, as a date string. */
export const monthOf = (d = new Date()) => `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, '0')}-01`;

const WORDS: Record<PlanLimit, string> = {
  customers: 'customers',
  emailsPerMonth: 'emails per month',
  smsPerMonth: 'SMS messages per month',
  members: 'members (pending invitations included)',
  phoneNumbers: 'phone numbers',
};

function refuse(plan: Plan, limit: PlanLimit, allowed: number, usage: number, adding: number): never {
  const what = WORDS[limit];
  throw new AppError(
    'plan_limit',
    `The ${plan.label} plan allows ${allowed} ${what}; this organization has used ${usage}` +
      `${adding === 1 ? '' : `, and this would add ${adding}`}. Upgrade the plan (Settings → Billing) to go further.`,
    { limit, allowed, usage, adding, plan: plan.name },
  );
}

/** Current usage of a limit that is a count of rows (members and invitations, phone numbers, customers). */
export async function countedUsage(tx: Tx, organizationId: string, limit: 'customers' | 'members' | 'phoneNumbers', row?: AccountRow): Promise<number> {
  if (limit === 'customers') return (row ?? (await readAccount(tx, organizationId))).customers_count;
  const statement =
    limit === 'members'
      ? sql`select ((select count(*) from memberships where organization_id = ${organizationId})
          + (select count(*) from invitations where organization_id = ${organizationId} and accepted_at is null and expires_at > now()))::int as n`
      : sql`select count(*)::int as n from phone_numbers where organization_id = ${organizationId}`;
  return (await queryOne<{ n: number }>(tx, statement))!.n;
}

/**
 * Refuses (402 plan_limit, before anything is written) when adding `adding` customers, members or
 * phone numbers would take the organization past its plan. The billing row is locked until commit,
 * so two concurrent additions cannot both pass the last free slot.
 */
export async function assertWithinPlan(tx: Tx, organizationId: string, limit: 'customers' | 'members' | 'phoneNumbers', adding: number, plans: Plans) {
  const row = await readAccount(tx, organizationId, { lock: true });
  const { plan } = planInForce(row, plans);
  const allowed = plan.limits[limit];
  if (allowed === null) return;
  const usage = await countedUsage(tx, organizationId, limit, row);
  if (usage + adding > allowed) refuse(plan, limit, allowed, usage, adding);
}

/**
 * How many more customers fit in the plan (null: unlimited), the billing row locked until commit. For
 * additions that cannot be refused with a 402 — a store's sync or webhook, events naming unknown people —
 * which then leave out what does not fit.
 */
export async function customerRoom(tx: Tx, organizationId: string, plans: Plans): Promise<number | null> {
  const row = await readAccount(tx, organizationId, { lock: true });
  const allowed = planInForce(row, plans).plan.limits.customers;
  return allowed === null ? null : Math.max(0, allowed - row.customers_count);
}

/** Whether one more customer fits in the plan (customerRoom for one). */
export const roomForCustomer = async (tx: Tx, organizationId: string, plans: Plans) => (await customerRoom(tx, organizationId, plans)) !== 0;

/**
 * How many customers are over the plan right now (0 when within): an import checks it after writing a
 * batch, in the batch's transaction, and takes back that many of the rows it has just created.
 */
export async function customersOverPlan(tx: Tx, organizationId: string, plans: Plans): Promise<{ over: number; plan: Plan; allowed: number | null }> {
  const row = await readAccount(tx, organizationId, { lock: true });
  const { plan } = planInForce(row, plans);
  const allowed = plan.limits.customers;
  return { over: allowed === null ? 0 : Math.max(0, row.customers_count - allowed), plan, allowed };
}

/**
 * Accepts `count` messages of a channel for sending this calendar month: counted in usage_months and
 * refused as a whole (402, nothing counted) when they would exceed the month's allowance — a campaign
 * is refused before it starts, never cut off halfway.
 */
export async function meterMessages(tx: Tx, organizationId: string, channel: 'email' | 'sms', count: number, plans: Plans) {
  const row = await readAccount(tx, organizationId, { lock: true });
  const { plan } = planInForce(row, plans);
  const limit: PlanLimit = channel === 'email' ? 'emailsPerMonth' : 'smsPerMonth';
  const column = sql.raw(channel === 'email' ? 'emails' : 'sms');
  const month = monthOf();
  const used = await queryOne<{ n: number }>(tx, sql`select ${column}::int as n from usage_months where organization_id = ${organizationId} and month = ${month}::date`);
  const usage = used?.n ?? 0;
  const allowed = plan.limits[limit];
  if (allowed !== null && usage + count > allowed) refuse(plan, limit, allowed, usage, count);
  if (count === 0) return;
  await tx.execute(sql`insert into usage_months (organization_id, month, ${column}) values (${organizationId}, ${month}::date, ${count})
    on conflict (organization_id, month) do update set ${column} = usage_months.${column} + excluded.${column}, updated_at = now()`);
}

/** This month's accepted emails and SMS. */
export async function monthUsage(tx: Tx, organizationId: string) {
  const row = await queryOne<{ emails: number; sms: number }>(
    tx,
    sql`select emails, sms from usage_months where organization_id = ${organizationId} and month = ${monthOf()}::date`,
  );
  return { emails: row?.emails ?? 0, sms: row?.sms ?? 0 };
}
