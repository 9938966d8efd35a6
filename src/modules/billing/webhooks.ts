import { sql } from 'drizzle-orm';
import { registerProviderWebhook } from '../../channels/webhook.js';
import type { Config } from '../../config.js';
import type { Database, Tx } from '../../db/index.js';
import { query } from '../../db/sql.js';
import type { AuditContext } from '../../http/access.js';
import { AppError } from '../../http/errors.js';
import type { App } from '../../http/types.js';
import { isUuid } from '../../lib/uuid.js';
import { applySubscriptionState, saveStripeCustomer } from './account.js';
import { verifyStripeEvent, type Stripe } from './stripe.js';

// Stripe webhooks on the provider-webhook pipeline (src/channels/webhook.ts): Stripe-Signature is
// checked on the raw bytes with the endpoint's secret before anything else; the organization is then
// found by the Stripe customer id (or a checkout session's client_reference_id) through the one
// reviewed system lookup, and the event is applied inside that organization's own transaction.

const BODY_LIMIT = 512 * 1024;
const TOLERANCE_SECONDS = 300;
const HANDLED = new Set([
  'checkout.session.completed',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_failed',
]);

const badSignature = (why = 'Invalid Stripe webhook signature') => new AppError('unauthorized', why);

interface StripeDelivery {
  id: string;
  type: string;
  created: Date;
  object: Record<string, any>;
}

const idOf = (v: unknown): string | null => (typeof v === 'string' ? v : v && typeof v === 'object' && typeof (v as any).id === 'string' ? (v as any).id : null);

/** The header's timestamp is there and recent (a stale or malformed one is refused before the body is read). */
function checkSignatureHeader(value: unknown) {
  if (typeof value !== 'string' || !/(^|,)v1=[0-9a-f]{64}/.test(value)) throw badSignature();
  const t = Number(/(?:^|,)t=(\d+)/.exec(value)?.[1]);
  if (!t || Math.abs(Date.now() / 1000 - t) > TOLERANCE_SECONDS) throw badSignature('Stale or malformed Stripe-Signature timestamp');
}

/** The plan a subscription is for: its price's plan (STRIPE_PRICE_<PLAN>), else the plan named in its metadata. */
function planOf(sub: Record<string, any>, config: Config): string | null {
  const prices: string[] = (sub.items?.data ?? []).map((i: any) => idOf(i.price)).filter(Boolean);
  for (const plan of Object.values(config.billing.plans)) if (plan.stripePriceId && prices.includes(plan.stripePriceId)) return plan.name;
  const named = sub.metadata?.plan;
  return typeof named === 'string' && config.billing.plans[named] ? named : null;
}

const seconds = (v: unknown) => (typeof v === 'number' ? new Date(v * 1000) : null);

async function applyStripeEvent(tx: Tx, ctx: AuditContext, e: StripeDelivery, config: Config) {
  const o = e.object;
  const customer = idOf(o.customer);
  if (customer) await saveStripeCustomer(tx, ctx, customer);
  switch (e.type) {
    case 'checkout.session.completed': {
      const subscription = idOf(o.subscription);
      if (!subscription) return 'ignored';
      // Paid at checkout: active from now, unless the subscription's own events said more already.
      return applySubscriptionState(tx, ctx, { subscriptionId: subscription, status: 'active', plan: o.metadata?.plan ?? null, periodEnd: null, at: e.created, event: e.type }, config);
    }
    case 'customer.subscription.created':
    case 'customer.subscription.updated':
    case 'customer.subscription.deleted': {
      const item = o.items?.data?.[0];
      return applySubscriptionState(tx, ctx, {
        subscriptionId: o.id,
        status: e.type === 'customer.subscription.deleted' ? 'canceled' : o.status,
        plan: planOf(o, config),
        periodEnd: seconds(item?.current_period_end ?? o.current_period_end),
        cancelAtPeriodEnd: Boolean(o.cancel_at_period_end),
        at: e.created,
        event: e.type,
      }, config);
    }
    case 'invoice.paid':
    case 'invoice.payment_failed': {
      const subscription = idOf(o.parent?.subscription_details?.subscription) ?? idOf(o.subscription);
      if (!subscription) return 'ignored';
      const line = o.lines?.data?.[0];
      return applySubscriptionState(tx, ctx, {
        subscriptionId: subscription,
        status: e.type === 'invoice.paid' ? 'active' : 'past_due',
        plan: null,
        periodEnd: e.type === 'invoice.paid' ? seconds(line?.period?.end) : null,
        at: e.created,
        event: e.type,
      }, config);
    }
  }
  return 'ignored';
}

export function registerStripeWebhooks(app: App, { db, config }: { db: Database; config: Config }) {
  registerProviderWebhook<StripeDelivery, string[]>(app, { db, config }, {
    path: '/api/webhooks/stripe',
    provider: 'stripe',
    operationId: 'stripeWebhook',
    summary: 'Stripe webhook (Stripe-Signature over the raw body with STRIPE_WEBHOOK_SECRET, 5-minute tolerance; deduplicated on the event id)',
    description:
      'Events: checkout.session.completed, customer.subscription.created / updated / deleted, invoice.paid, invoice.payment_failed (others are acknowledged and ignored). ' +
      "The organization is the one holding the event's Stripe customer, else a checkout session's client_reference_id; an older event never overwrites a subscription's newer state.",
    tags: ['webhooks'],
    contentTypes: ['application/json'],
    bodyLimit: BODY_LIMIT,
    lookup: (fn) => db.withSystem('resolve-stripe-webhook', fn),
    unavailable: () => (config.billing.stripe.webhookSecret ? null : 'Stripe webhooks are not configured on this server (STRIPE_WEBHOOK_SECRET)'),
    checkHeaders(headers) {
      checkSignatureHeader(headers['stripe-signature']);
    },
    async receive(delivery, lookup) {
      let event: Stripe.Event;
      try {
        event = verifyStripeEvent(delivery.raw, String(delivery.headers['stripe-signature']), config.billing.stripe.webhookSecret!);
      } catch {
        throw badSignature();
      }
      if (!HANDLED.has(event.type)) return { placed: [], unknown: 0, received: 1 };
      const object = event.data.object as unknown as Record<string, any>;
      const customer = idOf(object.customer);
      const reference = event.type === 'checkout.session.completed' && isUuid(object.client_reference_id) ? (object.client_reference_id as string) : null;
      // The customer's organization first (Stripe's own link); a first checkout's customer is not linked yet.
      const rows = await lookup((tx) =>
        query<{ organization_id: string; by: string }>(
          tx,
          sql`select organization_id::text, 'customer' as by from billing_accounts where ${customer}::text is not null and stripe_customer_id = ${customer}::text
            union all
            select id::text, 'reference' from organizations where id = ${reference}::uuid`,
        ),
      );
      const org = rows.find((r) => r.by === 'customer') ?? rows[0];
      if (!org) return { placed: [], unknown: 1 };
      return { placed: [{ organizationId: org.organization_id, eventId: event.id, event: { id: event.id, type: event.type, created: new Date(event.created * 1000), object } }], unknown: 0 };
    },
    async apply(tx, ctx, events) {
      const out: string[] = [];
      for (const e of events) out.push(await applyStripeEvent(tx, ctx, e, config));
      return out;
    },
  });
}
