import { z } from 'zod';
import { PLAN_LIMITS, type Config } from '../../config.js';
import { ErrorOut, orgErrors, type App } from '../../http/types.js';
import { getBilling, openPortal, startCheckout } from './service.js';

const tags = ['billing'];
const Limits = z.object(Object.fromEntries(PLAN_LIMITS.map((k) => [k, z.number().nullable()])) as Record<(typeof PLAN_LIMITS)[number], z.ZodNullable<z.ZodNumber>>);

export const BillingOut = z.object({
  plan: z.string().describe('The plan in force (free while a paid one is canceled, incomplete, or unpaid past its grace period)'),
  planLabel: z.string(),
  subscribedPlan: z.string().describe('The plan subscribed to or set by an operator'),
  status: z.string().describe('none, manual (set by an operator), or the Stripe subscription status'),
  stripeConfigured: z.boolean(),
  stripeCustomer: z.boolean().describe('Whether the organization has a Stripe customer (the portal needs one)'),
  currentPeriodEnd: z.string().nullable(),
  usagePeriod: z.object({ start: z.string(), end: z.string() }).describe('The calendar month (UTC) monthly limits count in'),
  grace: z.object({ until: z.string().nullable(), active: z.boolean(), ended: z.boolean() }).nullable(),
  usage: z.array(z.object({ limit: z.enum(PLAN_LIMITS), used: z.number(), allowed: z.number().nullable() })),
  plans: z.array(z.object({ name: z.string(), label: z.string(), limits: Limits, purchasable: z.boolean() })),
});

const CheckoutIn = z.strictObject({ plan: z.string().min(1).max(32) }).meta({ example: { plan: 'starter' } });

export function registerBillingRoutes(app: App, config: Config) {
  app.get('/api/billing', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getBilling', summary: 'The plan in force, its status, usage against each limit, the billing period and any grace period', response: { 200: BillingOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getBilling(tx, ctx, config)),
  });

  app.post('/api/billing/checkout', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      operationId: 'createBillingCheckout',
      summary: 'A Stripe Checkout session subscribing the organization to a paid plan (admins): answers its URL; 503 billing_not_configured without Stripe or the plan\'s price',
      body: CheckoutIn,
      response: { 200: z.object({ id: z.string(), url: z.string() }), 503: ErrorOut, ...orgErrors },
    },
    handler: (req) => startCheckout(req.tenant.bind(req), config, req.body.plan),
  });

  app.post('/api/billing/portal', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      operationId: 'createBillingPortal',
      summary: 'A Stripe customer portal session (admins): payment method, invoices, cancellation; 409 before the first checkout, 503 billing_not_configured without Stripe',
      response: { 200: z.object({ url: z.string() }), 409: ErrorOut, 503: ErrorOut, ...orgErrors },
    },
    handler: (req) => openPortal(req.tenant.bind(req), config),
  });
}
