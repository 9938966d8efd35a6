import { sql } from 'drizzle-orm';
import { FREE_PLAN, type Config } from '../../config.js';
import type { Tx } from '../../db/index.js';
import { query, queryOne } from '../../db/sql.js';
import type { AuditContext } from '../../http/access.js';
import { AppError } from '../../http/errors.js';
import { recordAudit } from '../audit/service.js';
import { readAccount, type Plans } from './limits.js';

// Writes to an organization's billing row: the plan an operator sets, the Stripe customer, and the
// subscription state Stripe's webhooks report (always inside the organization's own transaction).

/** The plan's name mirrored on the organization (what sign-up and organization lists show). */
const mirrorPlan = (tx: Tx, org: string, plan: string) => tx.execute(sql`update organizations set plan = ${plan}, updated_at = now() where id = ${org}`);

/** An operator's plan change (`npm run cli -- plan set`), audited as the system actor. */
export async function setPlan(tx: Tx, ctx: AuditContext, plan: string, plans: Plans) {
  if (!plans[plan]) throw new AppError('validation_failed', `Unknown plan "${plan}"; plans: ${Object.keys(plans).join(', ')}`);
  const before = await readAccount(tx, ctx.organizationId, { lock: true });
  await tx.execute(sql`update billing_accounts set plan = ${plan}, status = ${plan === FREE_PLAN ? 'none' : 'manual'}, grace_until = null, updated_at = now()
    where organization_id = ${ctx.organizationId}`);
  await mirrorPlan(tx, ctx.organizationId, plan);
  await recordAudit(tx, ctx, { action: 'billing.plan_set', resourceType: 'organization', resourceId: ctx.organizationId, changes: { from: before.plan, to: plan, status: before.status } });
  return readAccount(tx, ctx.organizationId);
}

/** Stores the organization's Stripe customer unless it has one already; returns the one it has. */
export async function saveStripeCustomer(tx: Tx, ctx: AuditContext, customerId: string): Promise<string> {
  await readAccount(tx, ctx.organizationId, { lock: true });
  const set = await query(tx, sql`update billing_accounts set stripe_customer_id = ${customerId}, updated_at = now()
    where organization_id = ${ctx.organizationId} and stripe_customer_id is null returning 1`);
  if (set.length) await recordAudit(tx, ctx, { action: 'billing.customer_linked', resourceType: 'organization', resourceId: ctx.organizationId, changes: { stripeCustomerId: customerId } });
  return (await readAccount(tx, ctx.organizationId)).stripe_customer_id!;
}

/**
 * Stripe's subscription statuses by precedence, for two events of the same second (Stripe's `created`
 * has one-second resolution): the further along the life of a subscription wins. canceled is final.
 */
const RANK: Record<string, number> = { incomplete: 0, incomplete_expired: 1, trialing: 2, active: 3, past_due: 4, unpaid: 5, paused: 5, canceled: 6 };

export interface SubscriptionState {
  subscriptionId: string;
  status: string;
  /** null: keep the plan known for this subscription. */
  plan: string | null;
  periodEnd: Date | null;
  cancelAtPeriodEnd?: boolean;
  /** The event's `created`: an event older than the last one applied to this subscription changes nothing. */
  at: Date;
  event: string;
}

/**
 * Applies one subscription state. Out-of-order safe: the subscription row keeps the `created` of the
 * last event applied; an older event (or one of the same second with a lower status) is skipped, and
 * a canceled subscription stays canceled. The organization's billing row follows its subscription;
 * a failed payment opens a grace period (config.billing.graceDays), after which planInForce falls back
 * to free's limits without anything being deleted.
 */
export async function applySubscriptionState(tx: Tx, ctx: AuditContext, s: SubscriptionState, config: Config): Promise<'applied' | 'stale'> {
  const org = ctx.organizationId;
  if (!(s.status in RANK)) return 'stale';
  const named = s.plan && config.billing.plans[s.plan] ? s.plan : null;
  const current = await queryOne<{ status: string; plan: string | null; newer: boolean; same: boolean }>(
    tx,
    sql`select status, plan, last_event_at > ${s.at.toISOString()}::timestamptz as newer, last_event_at = ${s.at.toISOString()}::timestamptz as same
      from subscriptions where organization_id = ${org} and stripe_subscription_id = ${s.subscriptionId} for update`,
  );
  const account = await readAccount(tx, org, { lock: true });
  const follows = (status: string) => !account.stripe_subscription_id || account.stripe_subscription_id === s.subscriptionId || status !== 'canceled';
  if (current && (current.status === 'canceled' || current.newer || (current.same && RANK[current.status] > RANK[s.status]))) {
    // Older than what is known, but the first to name the plan (an invoice event came first): the plan only.
    if (!current.plan && named) {
      await tx.execute(sql`update subscriptions set plan = ${named}, updated_at = now() where organization_id = ${org} and stripe_subscription_id = ${s.subscriptionId}`);
      if (account.stripe_subscription_id === s.subscriptionId) {
        await tx.execute(sql`update billing_accounts set plan = ${named}, updated_at = now() where organization_id = ${org}`);
        await mirrorPlan(tx, org, named);
      }
      await recordAudit(tx, ctx, { action: 'billing.subscription_changed', resourceType: 'organization', resourceId: org, changes: { event: s.event, subscription: s.subscriptionId, plan: named, planOnly: true } });
      return 'applied';
    }
    return 'stale';
  }
  const plan = named ?? current?.plan ?? null;
  await tx.execute(sql`insert into subscriptions (organization_id, stripe_subscription_id, plan, status, current_period_end, cancel_at_period_end, last_event_at)
    values (${org}, ${s.subscriptionId}, ${plan}, ${s.status}, ${s.periodEnd?.toISOString() ?? null}::timestamptz, ${s.cancelAtPeriodEnd ?? false}, ${s.at.toISOString()}::timestamptz)
    on conflict (organization_id, stripe_subscription_id) do update set plan = excluded.plan, status = excluded.status,
      current_period_end = coalesce(excluded.current_period_end, subscriptions.current_period_end),
      cancel_at_period_end = excluded.cancel_at_period_end, last_event_at = excluded.last_event_at, updated_at = now()`);

  // Another subscription's end does not undo the one in force (a replaced subscription canceled later).
  const applies = follows(s.status);
  if (applies) {
    const accountPlan = plan ?? account.plan;
    const grace = s.status === 'past_due' || s.status === 'unpaid';
    const graceUntil = new Date(s.at.getTime() + config.billing.graceDays * 86_400_000).toISOString();
    await tx.execute(sql`update billing_accounts set plan = ${accountPlan}, status = ${s.status}, stripe_subscription_id = ${s.subscriptionId},
        current_period_end = coalesce(${s.periodEnd?.toISOString() ?? null}::timestamptz, case when stripe_subscription_id = ${s.subscriptionId} then current_period_end end),
        grace_until = ${grace ? sql`coalesce(grace_until, ${graceUntil}::timestamptz)` : sql`null`}, updated_at = now()
      where organization_id = ${org}`);
    await mirrorPlan(tx, org, accountPlan);
  }
  await recordAudit(tx, ctx, {
    action: 'billing.subscription_changed',
    resourceType: 'organization',
    resourceId: org,
    changes: { event: s.event, subscription: s.subscriptionId, status: s.status, plan, from: account.status, appliedToAccount: applies },
  });
  return 'applied';
}
