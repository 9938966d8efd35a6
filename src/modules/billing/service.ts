import { sql } from 'drizzle-orm';
import { FREE_PLAN, PLAN_LIMITS, type Config } from '../../config.js';
import type { Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import type { TenantContext } from '../../http/access.js';
import { AppError } from '../../http/errors.js';
import { saveStripeCustomer } from './account.js';
import { countedUsage, monthUsage, planInForce, readAccount } from './limits.js';
import { requireStripe, stripeFailure } from './stripe.js';

type Tenant = <T>(fn: (tx: Tx, ctx: TenantContext) => Promise<T>) => Promise<T>;

const monthEnd = (now = new Date()) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + 1, 1));

/** The plan in force, its status, usage against each limit, the billing period, and the grace period if one runs. */
export async function getBilling(tx: Tx, ctx: TenantContext, config: Config) {
  const org = ctx.organizationId;
  const account = await readAccount(tx, org);
  const { plan, inGrace, fellBack } = planInForce(account, config.billing.plans);
  const month = await monthUsage(tx, org);
  const used = {
    customers: account.customers_count,
    emailsPerMonth: month.emails,
    smsPerMonth: month.sms,
    members: await countedUsage(tx, org, 'members'),
    phoneNumbers: await countedUsage(tx, org, 'phoneNumbers'),
  };
  const now = new Date();
  return {
    plan: plan.name,
    planLabel: plan.label,
    subscribedPlan: account.plan,
    status: account.status,
    stripeConfigured: Boolean(config.billing.stripe.secretKey),
    stripeCustomer: Boolean(account.stripe_customer_id),
    currentPeriodEnd: account.current_period_end,
    usagePeriod: { start: new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1)).toISOString(), end: monthEnd(now).toISOString() },
    grace: account.grace_until || inGrace || fellBack ? { until: account.grace_until, active: inGrace, ended: fellBack } : null,
    usage: PLAN_LIMITS.map((limit) => ({ limit, used: used[limit], allowed: plan.limits[limit] })),
    plans: Object.values(config.billing.plans).map((p) => ({ name: p.name, label: p.label, limits: p.limits, purchasable: Boolean(p.stripePriceId) })),
  };
}

/** The organization's Stripe customer, created on first use (idempotent per organization on Stripe's side too). */
async function stripeCustomerFor(tenant: Tenant, stripe: ReturnType<typeof requireStripe>) {
  const known = await tenant(async (tx, ctx) => {
    const account = await readAccount(tx, ctx.organizationId);
    const org = await queryOne<{ name: string }>(tx, sql`select name from organizations where id = ${ctx.organizationId}`);
    return { id: account.stripe_customer_id, org: ctx.organizationId, name: org?.name ?? '' };
  });
  if (known.id) return { customer: known.id, org: known.org };
  let created;
  try {
    created = await stripe.customers.create({ name: known.name, metadata: { organization_id: known.org } }, { idempotencyKey: `switchboard-customer-${known.org}` });
  } catch (err) {
    throw stripeFailure(err);
  }
  // Two checkouts at once: the first saved customer wins and both use it.
  const customer = await tenant((tx, ctx) => saveStripeCustomer(tx, ctx, created.id));
  return { customer, org: known.org };
}

/** A Stripe Checkout session subscribing the organization to a paid plan; answers its URL. */
export async function startCheckout(tenant: Tenant, config: Config, planName: string) {
  const plan = config.billing.plans[planName];
  if (!plan || planName === FREE_PLAN) {
    throw new AppError('validation_failed', 'Not a paid plan', [{ in: 'body', path: 'plan', message: `One of: ${Object.keys(config.billing.plans).filter((p) => p !== FREE_PLAN).join(', ')}` }]);
  }
  const stripe = requireStripe(config);
  if (!plan.stripePriceId) throw new AppError('billing_not_configured', `The ${plan.label} plan has no Stripe price on this server (STRIPE_PRICE_${plan.name.toUpperCase()})`);
  const { customer, org } = await stripeCustomerFor(tenant, stripe);
  try {
    const session = await stripe.checkout.sessions.create({
      mode: 'subscription',
      customer,
      client_reference_id: org,
      line_items: [{ price: plan.stripePriceId, quantity: 1 }],
      success_url: `${config.publicUrl}/settings/billing?checkout=success`,
      cancel_url: `${config.publicUrl}/settings/billing?checkout=cancelled`,
      metadata: { organization_id: org, plan: plan.name },
      subscription_data: { metadata: { organization_id: org, plan: plan.name } },
    });
    if (!session.url) throw new AppError('unavailable', 'Stripe returned a checkout session without a URL');
    return { id: session.id, url: session.url };
  } catch (err) {
    throw stripeFailure(err);
  }
}

/** A Stripe customer portal session (payment method, invoices, cancellation); 409 before the first checkout. */
export async function openPortal(tenant: Tenant, config: Config) {
  const stripe = requireStripe(config);
  const account = await tenant((tx, ctx) => readAccount(tx, ctx.organizationId));
  if (!account.stripe_customer_id) throw new AppError('conflict', 'This organization has no Stripe customer yet: subscribe to a plan through checkout first');
  try {
    const session = await stripe.billingPortal.sessions.create({ customer: account.stripe_customer_id, return_url: `${config.publicUrl}/settings/billing` });
    return { url: session.url };
  } catch (err) {
    throw stripeFailure(err);
  }
}
