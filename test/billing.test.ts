/**
 * Billing: plan limits at every place that adds what a plan limits (402 plan_limit, nothing written),
 * the usage counters, GET /api/billing, Stripe Checkout and portal against a local stand-in speaking
 * Stripe's wire format, Stripe webhooks signed by the SDK (forged and stale refused with nothing
 * written, duplicates, out-of-order events, grace period then free's limits), a webhook for A's
 * customer changing exactly A's billing (the seed's scenario 5), and the operator's `plan set` command.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig, type Config } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { systemContext } from '../src/http/access.js';
import { setPlan } from '../src/modules/billing/index.js';
import { accountMailTo, createCustomer, createTestApp, createTestDatabase, onPostgres, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { makeCustomers, postShopifyWebhook, startFakeShopify } from './shopify-support.js';
import { signedStripeEvent, startFakeStripe, type FakeStripe } from './stripe-support.js';

const WEBHOOK_SECRET = 'whsec_test_billing_secret';
const PLANS = JSON.stringify({
  free: { customers: 3, emailsPerMonth: 2, smsPerMonth: 2, members: 2, phoneNumbers: 1 },
  starter: { customers: 5, emailsPerMonth: 10, smsPerMonth: 10, members: 5, phoneNumbers: 2 },
  growth: { label: 'Growth' },
});

function billingConfig(env: Record<string, string>): Config['billing'] {
  return loadConfig({ NODE_ENV: 'test', DATA_DIR: os.tmpdir(), BILLING_PLANS: PLANS, BILLING_GRACE_DAYS: '3', ...env }).billing;
}

let stripe: FakeStripe;
let t: TestApp;
let a: Actor;
let b: Actor;

beforeAll(async () => {
  stripe = await startFakeStripe();
  t = await createTestApp({
    config: {
      jobs: { inProcess: false, pollMs: 1000 },
      billing: billingConfig({
        STRIPE_SECRET_KEY: 'sk_test_switchboard',
        STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
        STRIPE_API_BASE_URL: stripe.url,
        STRIPE_PRICE_STARTER: 'price_starter',
        STRIPE_PRICE_GROWTH: 'price_growth',
      }),
    },
  });
  a = await signUpWithOrg(t.app, 'bill-a', 'Billing A');
  b = await signUpWithOrg(t.app, 'bill-b', 'Billing B');
});
afterAll(async () => {
  await t?.close();
  await stripe?.close();
});

const billing = async (actor: Actor) => {
  const res = await t.app.inject({ url: '/api/billing', headers: actor.headers });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
};
const usageOf = (body: any, limit: string) => body.usage.find((u: any) => u.limit === limit);
const post = (actor: Actor, url: string, payload?: unknown) => t.app.inject({ method: 'POST', url, headers: actor.headers, ...(payload !== undefined && { payload: payload as any }) });
const ownerCount = async (sql: string, params: unknown[]) => Number((await t.db.owner.query<{ n: number }>(sql, params))[0].n);

function expectPlanLimit(res: { statusCode: number; json(): any; body: string }, limit: string, usage: number, allowed: number) {
  expect(res.statusCode, res.body).toBe(402);
  expect(res.json()).toMatchObject({ code: 'plan_limit', details: { limit, usage, allowed, plan: 'free' } });
  expect(res.json().error).toMatch(/Free plan allows/);
}

describe('plan limits, enforced where the work happens', () => {
  it('GET /api/billing: the free plan, its status, usage against each limit, the month', async () => {
    const got = await billing(a);
    expect(got).toMatchObject({ plan: 'free', subscribedPlan: 'free', status: 'none', stripeConfigured: true, stripeCustomer: false, grace: null });
    expect(got.usage).toEqual([
      { limit: 'customers', used: 0, allowed: 3 },
      { limit: 'emailsPerMonth', used: 0, allowed: 2 },
      { limit: 'smsPerMonth', used: 0, allowed: 2 },
      { limit: 'members', used: 1, allowed: 2 },
      { limit: 'phoneNumbers', used: 0, allowed: 1 },
    ]);
    expect(new Date(got.usagePeriod.start).getUTCDate()).toBe(1);
    expect(got.plans.map((p: any) => [p.name, p.purchasable])).toEqual([['free', false], ['starter', true], ['growth', true]]);
  });

  it('customer create: the fourth customer on a three-customer plan is a 402 and is not written; a deletion frees the slot', async () => {
    const made = [];
    for (const [i, tag] of [[1, 'vip'], [2, 'vip'], [3, 'other']] as const) {
      made.push(await createCustomer(t.app, a.headers, { email: `c${i}@a.example`, phone: `+1415555010${i}`, emailOptIn: true, smsOptIn: true, tags: [tag] }));
    }
    const res = await post(a, '/api/customers', { email: 'c4@a.example' });
    expectPlanLimit(res, 'customers', 3, 3);
    expect(await ownerCount(`select count(*)::int n from customers where organization_id = $1`, [a.organizationId])).toBe(3);
    expect(usageOf(await billing(a), 'customers').used).toBe(3);
    // The organization page reads the same counter.
    const org = (await t.app.inject({ url: '/api/organizations/current', headers: a.headers })).json();
    expect(org.usage.customers).toBe(3);

    expect((await t.app.inject({ method: 'DELETE', url: `/api/customers/${made[2].id}`, headers: a.headers })).statusCode).toBe(204);
    expect(usageOf(await billing(a), 'customers').used).toBe(2);
    await createCustomer(t.app, a.headers, { email: 'c3@a.example', phone: '+14155550103', emailOptIn: true, smsOptIn: true, tags: ['other'] });
    expect(usageOf(await billing(a), 'customers').used).toBe(3);
  });

  it('import: new rows beyond the limit come back rejected with their lines, the rest is imported; updates still go through', async () => {
    const csv = ['email,first_name', 'i1@b.example,One', 'i2@b.example,Two', 'i3@b.example,Three', 'i4@b.example,Four', 'i5@b.example,Five'].join('\n');
    const res = await t.app.inject({ method: 'POST', url: '/api/customers/import', headers: { ...b.headers, 'content-type': 'text/csv' }, payload: csv });
    expect(res.statusCode, res.body).toBe(200);
    const out = res.json();
    expect(out).toMatchObject({ created: 3, updated: 0, rejectedCount: 2 });
    expect(out.rejected).toEqual([
      { row: 5, error: 'plan limit: the Free plan allows 3 customers' },
      { row: 6, error: 'plan limit: the Free plan allows 3 customers' },
    ]);
    const emails = (await t.db.owner.query<{ email: string }>(`select email from customers where organization_id = $1 order by email`, [b.organizationId])).map((r) => r.email);
    expect(emails).toEqual(['i1@b.example', 'i2@b.example', 'i3@b.example']);
    expect(usageOf(await billing(b), 'customers').used).toBe(3);

    const again = (await t.app.inject({ method: 'POST', url: '/api/customers/import', headers: { ...b.headers, 'content-type': 'text/csv' }, payload: csv })).json();
    expect(again).toMatchObject({ created: 0, updated: 3, rejectedCount: 2 });
    expect(usageOf(await billing(b), 'customers').used).toBe(3);
  });

  it('events: an event naming an unknown person at the limit is rejected by index (plan_limit) and creates no one; events about customers are stored', async () => {
    // B holds its three customers (the import above).
    const res = await post(b, '/api/analytics/events', {
      batch: [
        { type: 'track', userId: 'newcomer-1', event: 'Signed Up', messageId: 'pl-1' },
        { type: 'track', email: 'i1@b.example', event: 'Order Completed', messageId: 'pl-2' },
        { type: 'track', anonymousId: 'anon-over', event: 'Viewed', messageId: 'pl-3' },
      ],
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(res.json().rejected.map((r: any) => [r.index, r.error])).toEqual([
      [0, 'plan_limit'],
      [2, 'plan_limit'],
    ]);
    expect(await ownerCount(`select count(*)::int n from customers where organization_id = $1`, [b.organizationId])).toBe(3);
    expect(usageOf(await billing(b), 'customers').used).toBe(3);
  });

  it('email campaign send: an audience over the month\'s remaining emails is refused before it starts; one within is accepted and counted', async () => {
    const create = async (tags: string[]) => {
      const res = await post(a, '/api/email/campaigns', { name: `to ${tags.join() || 'all'}`, subject: 'Hi', fromEmail: t.config.email.from, html: '<p>Hello</p>', audience: { tags } });
      expect(res.statusCode, res.body).toBe(201);
      return res.json().id as string;
    };
    const all = await create([]);
    const refused = await post(a, `/api/email-campaigns/${all}/send`);
    expectPlanLimit(refused, 'emailsPerMonth', 0, 2);
    expect(refused.json().details.adding).toBe(3);
    const stored = (await t.app.inject({ url: `/api/email/campaigns/${all}`, headers: a.headers })).json();
    expect(stored.status).toBe('draft');
    expect(await ownerCount(`select count(*)::int n from email_messages where organization_id = $1`, [a.organizationId])).toBe(0);
    expect(await ownerCount(`select count(*)::int n from jobs where organization_id = $1`, [a.organizationId])).toBe(0);
    expect(usageOf(await billing(a), 'emailsPerMonth').used).toBe(0);

    const vip = await create(['vip']);
    const ok = await post(a, `/api/email-campaigns/${vip}/send`);
    expect(ok.statusCode, ok.body).toBe(202);
    expect(usageOf(await billing(a), 'emailsPerMonth').used).toBe(2);
    expect((await t.app.inject({ url: '/api/organizations/current', headers: a.headers })).json().usage.emailsThisMonth).toBe(2);

    // A test send is one email of the allowance too: none is left.
    const test = await post(a, `/api/email/campaigns/${all}/test`, { to: a.email });
    expectPlanLimit(test, 'emailsPerMonth', 2, 2);
  });

  it('phone numbers and SMS campaign send: the second number and an audience over the month\'s SMS are 402s', async () => {
    const first = await post(a, '/api/phone-numbers', { number: '+14155559001', smsEnabled: true });
    expect(first.statusCode, first.body).toBe(201);
    const second = await post(a, '/api/phone-numbers', { number: '+14155559002', smsEnabled: true });
    expectPlanLimit(second, 'phoneNumbers', 1, 1);
    expect(await ownerCount(`select count(*)::int n from phone_numbers where organization_id = $1`, [a.organizationId])).toBe(1);

    const create = async (tags: string[]) => {
      const res = await post(a, '/api/sms/campaigns', { name: `sms ${tags.join() || 'all'}`, body: 'Hello! Reply STOP to opt out.', audience: { tags } });
      expect(res.statusCode, res.body).toBe(201);
      return res.json().id as string;
    };
    const all = await create([]);
    const refused = await post(a, `/api/sms-campaigns/${all}/send`);
    expectPlanLimit(refused, 'smsPerMonth', 0, 2);
    expect(refused.json().details.adding).toBe(3);
    expect((await t.app.inject({ url: `/api/sms/campaigns/${all}`, headers: a.headers })).json().status).toBe('draft');
    expect(await ownerCount(`select count(*)::int n from sms_messages where organization_id = $1`, [a.organizationId])).toBe(0);

    const vip = await create(['vip']);
    expect((await post(a, `/api/sms-campaigns/${vip}/send`)).statusCode).toBe(202);
    expect(usageOf(await billing(a), 'smsPerMonth').used).toBe(2);
  });

  it('member invite: a pending invitation holds its seat; the next one over the limit is a 402 and nothing is mailed', async () => {
    const first = await post(a, '/api/organizations/current/members', { email: 'seat-1@example.test', role: 'member' });
    expect(first.statusCode, first.body).toBe(201);
    const second = await post(a, '/api/organizations/current/members', { email: 'seat-2@example.test', role: 'member' });
    expectPlanLimit(second, 'members', 2, 2);
    expect(await ownerCount(`select count(*)::int n from invitations where organization_id = $1`, [a.organizationId])).toBe(1);
    expect(accountMailTo(t.app, 'seat-1@example.test')).toHaveLength(1);
    expect(accountMailTo(t.app, 'seat-2@example.test')).toEqual([]);
    expect(usageOf(await billing(a), 'members').used).toBe(2);
  });

  it('the customer count is kept per statement: a 2,000-row import on an unlimited plan matches count(*)', async () => {
    const c = await signUpWithOrg(t.app, 'bill-c', 'Billing C');
    await t.db.withTenant(c.organizationId, (tx) => setPlan(tx, systemContext(c.organizationId, 'test'), 'growth', t.config.billing.plans));
    const rows = ['email,first_name', ...Array.from({ length: 2000 }, (_, i) => `bulk${i}@c.example,N${i}`)].join('\n');
    const res = await t.app.inject({ method: 'POST', url: '/api/customers/import', headers: { ...c.headers, 'content-type': 'text/csv' }, payload: rows });
    expect(res.json()).toMatchObject({ created: 2000, rejectedCount: 0 });
    const counter = await ownerCount(`select total n from customer_counts where organization_id = $1`, [c.organizationId]);
    expect(counter).toBe(2000);
    expect(await ownerCount(`select count(*)::int n from customers where organization_id = $1`, [c.organizationId])).toBe(2000);
    expect((await billing(c)).usage[0]).toEqual({ limit: 'customers', used: 2000, allowed: null });
  });
});

describe('Stripe checkout and portal (local stand-in through the SDK host/port/protocol options)', () => {
  it('the portal before any checkout is a 409', async () => {
    const res = await post(a, '/api/billing/portal');
    expect(res.statusCode).toBe(409);
  });

  it('checkout creates the Stripe customer once, then a subscription session for the plan\'s price, and answers its URL', async () => {
    const res = await post(a, '/api/billing/checkout', { plan: 'starter' });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ id: expect.stringMatching(/^cs_test_/), url: expect.stringMatching(/^https:\/\/checkout\.stripe\.test\//) });
    const customers = stripe.requests.filter((r) => r.path === '/v1/customers');
    expect(customers).toHaveLength(1);
    expect(customers[0].form).toMatchObject({ name: 'Billing A', 'metadata[organization_id]': a.organizationId });
    expect(customers[0].idempotencyKey).toBe(`switchboard-customer-${a.organizationId}`);
    expect(customers[0].authorization).toBe('Bearer sk_test_switchboard');
    const session = stripe.requests.find((r) => r.path === '/v1/checkout/sessions')!;
    const [row] = await t.db.owner.query<{ stripe_customer_id: string }>(`select stripe_customer_id from billing_accounts where organization_id = $1`, [a.organizationId]);
    expect(session.form).toMatchObject({
      mode: 'subscription',
      customer: row.stripe_customer_id,
      client_reference_id: a.organizationId,
      'line_items[0][price]': 'price_starter',
      'line_items[0][quantity]': '1',
      'metadata[plan]': 'starter',
      'subscription_data[metadata][organization_id]': a.organizationId,
    });
    expect(row.stripe_customer_id).toMatch(/^cus_test_/);

    // Again: the stored customer is reused.
    expect((await post(a, '/api/billing/checkout', { plan: 'growth' })).statusCode).toBe(200);
    expect(stripe.requests.filter((r) => r.path === '/v1/customers')).toHaveLength(1);
    expect(stripe.requests.filter((r) => r.path === '/v1/checkout/sessions').at(-1)!.form['line_items[0][price]']).toBe('price_growth');
  });

  it('refuses the free plan and unknown plans with a 400', async () => {
    expect((await post(a, '/api/billing/checkout', { plan: 'free' })).json()).toMatchObject({ code: 'validation_failed' });
    expect((await post(a, '/api/billing/checkout', { plan: 'platinum' })).statusCode).toBe(400);
  });

  it('the portal opens a session for the organization\'s own customer', async () => {
    const res = await post(a, '/api/billing/portal');
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().url).toMatch(/^https:\/\/billing\.stripe\.test\//);
    const [row] = await t.db.owner.query<{ stripe_customer_id: string }>(`select stripe_customer_id from billing_accounts where organization_id = $1`, [a.organizationId]);
    expect(stripe.requests.at(-1)!.form).toMatchObject({ customer: row.stripe_customer_id, return_url: `${t.config.publicUrl}/settings/billing` });
  });
});

describe('POST /api/webhooks/stripe', () => {
  const T0 = Math.floor(Date.now() / 1000) - 3600;
  let customerA: string;
  const deliver = (e: Parameters<typeof signedStripeEvent>[1], opts: { secret?: string; timestamp?: number } = {}) => {
    const s = signedStripeEvent(opts.secret ?? WEBHOOK_SECRET, e, opts);
    return t.app.inject({ method: 'POST', url: '/api/webhooks/stripe', headers: s.headers, payload: s.payload }).then((res) => ({ res, id: s.id }));
  };
  const subscription = (over: Record<string, unknown>) => ({
    id: 'sub_test_a', object: 'subscription', customer: customerA, status: 'active', cancel_at_period_end: false, metadata: {},
    items: { object: 'list', data: [{ id: 'si_1', object: 'subscription_item', price: { id: 'price_starter', object: 'price' }, current_period_end: T0 + 30 * 86400 }] },
    ...over,
  });
  /** Everything of an organization a billing event could touch, read as the owner. */
  const billingState = async (org: string) => ({
    account: (await t.db.owner.query(`select * from billing_accounts where organization_id = $1`, [org]))[0],
    subscriptions: await t.db.owner.query(`select * from subscriptions where organization_id = $1 order by stripe_subscription_id`, [org]),
    organization: (await t.db.owner.query(`select * from organizations where id = $1`, [org]))[0],
    audit: await ownerCount(`select count(*)::int n from audit_log where organization_id = $1`, [org]),
    dedupe: await ownerCount(`select count(*)::int n from processed_webhook_events where organization_id = $1`, [org]),
  });

  beforeAll(async () => {
    customerA = (await t.db.owner.query<{ c: string }>(`select stripe_customer_id c from billing_accounts where organization_id = $1`, [a.organizationId]))[0].c;
  });

  it('forged and stale signatures are 401 with nothing written', async () => {
    const before = { a: await billingState(a.organizationId), b: await billingState(b.organizationId) };
    const event = { type: 'customer.subscription.updated', object: subscription({ status: 'canceled' }), created: T0 };
    const forged = await deliver(event, { secret: 'whsec_not_the_secret' });
    expect(forged.res.statusCode).toBe(401);
    const stale = await deliver(event, { timestamp: Math.floor(Date.now() / 1000) - 3600 });
    expect(stale.res.statusCode).toBe(401);
    const unsigned = await t.app.inject({ method: 'POST', url: '/api/webhooks/stripe', headers: { 'content-type': 'application/json' }, payload: JSON.stringify({ id: 'evt_x' }) });
    expect(unsigned.statusCode).toBe(401);
    // A body changed after signing.
    const s = signedStripeEvent(WEBHOOK_SECRET, event);
    const tampered = await t.app.inject({ method: 'POST', url: '/api/webhooks/stripe', headers: s.headers, payload: s.payload.replace('"canceled"', '"active"') });
    expect(tampered.statusCode).toBe(401);
    expect({ a: await billingState(a.organizationId), b: await billingState(b.organizationId) }).toEqual(before);
    expect(await ownerCount(`select count(*)::int n from processed_webhook_events where provider = 'stripe'`, [])).toBe(0);
  });

  it("scenario 5: checkout.session.completed for A's customer changes exactly A's billing row, nothing of B", async () => {
    const beforeB = await billingState(b.organizationId);
    const { res } = await deliver({
      type: 'checkout.session.completed',
      created: T0,
      object: { id: 'cs_test_a', object: 'checkout.session', customer: customerA, client_reference_id: a.organizationId, subscription: 'sub_test_a', metadata: { plan: 'starter' } },
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ received: 1, applied: 1, duplicates: 0, unknown: 0 });
    const got = await billing(a);
    expect(got).toMatchObject({ plan: 'starter', subscribedPlan: 'starter', status: 'active' });
    expect(usageOf(got, 'customers').allowed).toBe(5);
    expect(await billingState(b.organizationId)).toEqual(beforeB);
    expect((await billing(b)).plan).toBe('free');
    const audit = await t.db.owner.query<{ action: string; actor_type: string; actor_reason: string }>(
      `select action, actor_type, actor_reason from audit_log where organization_id = $1 and action = 'billing.subscription_changed'`, [a.organizationId]);
    expect(audit).toEqual([{ action: 'billing.subscription_changed', actor_type: 'system', actor_reason: 'stripe-webhook' }]);
  });

  it('a first checkout is placed by client_reference_id and links the Stripe customer to that organization only', async () => {
    const beforeA = await billingState(a.organizationId);
    const { res } = await deliver({
      type: 'checkout.session.completed',
      created: T0,
      object: { id: 'cs_test_b', object: 'checkout.session', customer: 'cus_test_new_for_b', client_reference_id: b.organizationId, subscription: 'sub_test_b', metadata: { plan: 'starter' } },
    });
    expect(res.json()).toMatchObject({ applied: 1 });
    const [rowB] = await t.db.owner.query<{ stripe_customer_id: string; plan: string }>(`select stripe_customer_id, plan from billing_accounts where organization_id = $1`, [b.organizationId]);
    expect(rowB).toEqual({ stripe_customer_id: 'cus_test_new_for_b', plan: 'starter' });
    expect(await billingState(a.organizationId)).toEqual(beforeA);
  });

  it('is idempotent on the event id', async () => {
    const e = { id: 'evt_test_once', type: 'customer.subscription.updated', created: T0 + 10, object: subscription({}) };
    expect((await deliver(e)).res.json()).toMatchObject({ applied: 1, duplicates: 0 });
    const audit = await ownerCount(`select count(*)::int n from audit_log where organization_id = $1`, [a.organizationId]);
    expect((await deliver(e)).res.json()).toMatchObject({ applied: 0, duplicates: 1 });
    expect(await ownerCount(`select count(*)::int n from audit_log where organization_id = $1`, [a.organizationId])).toBe(audit);
  });

  it('out of order: an older event never overwrites newer state', async () => {
    await deliver({ type: 'customer.subscription.updated', created: T0 + 100, object: subscription({ items: { object: 'list', data: [{ price: { id: 'price_growth' }, current_period_end: T0 + 40 * 86400 }] } }) });
    expect(await billing(a)).toMatchObject({ plan: 'growth', status: 'active', currentPeriodEnd: new Date((T0 + 40 * 86400) * 1000).toISOString() });
    // Older (created earlier), delivered later: skipped.
    await deliver({ type: 'customer.subscription.updated', created: T0 + 50, object: subscription({ status: 'past_due' }) });
    expect(await billing(a)).toMatchObject({ plan: 'growth', status: 'active', grace: null });
    const [sub] = await t.db.owner.query<{ last_event_at: Date; status: string }>(`select last_event_at, status from subscriptions where organization_id = $1 and stripe_subscription_id = 'sub_test_a'`, [a.organizationId]);
    expect(sub.status).toBe('active');
    expect(new Date(sub.last_event_at).getTime()).toBe((T0 + 100) * 1000);
  });

  it('out of order: an invoice before any event naming the plan; the older subscription event still fills the plan in', async () => {
    const customerB = 'cus_test_new_for_b';
    const invoice = await deliver({ type: 'invoice.paid', created: T0 + 1000, object: { id: 'in_b', object: 'invoice', customer: customerB, parent: { subscription_details: { subscription: 'sub_test_b2' } } } });
    expect(invoice.res.json()).toMatchObject({ applied: 1 });
    expect(await billing(b)).toMatchObject({ status: 'active', subscribedPlan: 'starter' });
    await deliver({ type: 'customer.subscription.created', created: T0 + 900, object: subscription({ id: 'sub_test_b2', customer: customerB, status: 'incomplete', items: { data: [{ price: { id: 'price_growth' } }] } }) });
    // The plan is taken from it; its older status is not.
    expect(await billing(b)).toMatchObject({ plan: 'growth', subscribedPlan: 'growth', status: 'active' });
  });

  it('invoice.payment_failed opens a grace period; after it the paid plan\'s limits fall back to free (nothing deleted); invoice.paid restores it', async () => {
    const failed = await deliver({ type: 'invoice.payment_failed', created: T0 + 200, object: { id: 'in_1', object: 'invoice', customer: customerA, parent: { type: 'subscription_details', subscription_details: { subscription: 'sub_test_a' } } } });
    expect(failed.res.json()).toMatchObject({ applied: 1 });
    const inGrace = await billing(a);
    expect(inGrace).toMatchObject({ plan: 'growth', status: 'past_due', grace: { active: true, ended: false, until: new Date((T0 + 200 + 3 * 86400) * 1000).toISOString() } });
    expect((await post(a, '/api/customers', { email: 'grace@a.example' })).statusCode).toBe(201);

    // The grace period runs out (moved into the past as the clock would): free's limits, nothing deleted.
    await t.db.owner.query(`update billing_accounts set grace_until = now() - interval '1 minute' where organization_id = $1`, [a.organizationId]);
    const lapsed = await billing(a);
    expect(lapsed).toMatchObject({ plan: 'free', subscribedPlan: 'growth', status: 'past_due', grace: { active: false, ended: true } });
    expect(usageOf(lapsed, 'customers')).toEqual({ limit: 'customers', used: 4, allowed: 3 });
    expectPlanLimit(await post(a, '/api/customers', { email: 'over@a.example' }), 'customers', 4, 3);
    expect(await ownerCount(`select count(*)::int n from customers where organization_id = $1`, [a.organizationId])).toBe(4);

    await deliver({ type: 'invoice.paid', created: T0 + 300, object: { id: 'in_1', object: 'invoice', customer: customerA, parent: { subscription_details: { subscription: 'sub_test_a' } }, lines: { data: [{ period: { end: T0 + 60 * 86400 } }] } } });
    expect(await billing(a)).toMatchObject({ plan: 'growth', status: 'active', grace: null });
    expect((await post(a, '/api/customers', { email: 'paid@a.example' })).statusCode).toBe(201);
  });

  it('customer.subscription.deleted: back to free, final (a later event does not revive it)', async () => {
    await deliver({ type: 'customer.subscription.deleted', created: T0 + 400, object: subscription({ status: 'canceled' }) });
    expect(await billing(a)).toMatchObject({ plan: 'free', subscribedPlan: 'starter', status: 'canceled' });
    await deliver({ type: 'customer.subscription.updated', created: T0 + 500, object: subscription({ status: 'active' }) });
    expect((await billing(a)).status).toBe('canceled');
  });

  it('an event for a customer no organization holds is acknowledged and ignored; other types too', async () => {
    const before = await billingState(a.organizationId);
    expect((await deliver({ type: 'customer.subscription.updated', object: subscription({ customer: 'cus_nobody' }) })).res.json()).toMatchObject({ received: 1, applied: 0, unknown: 1 });
    expect((await deliver({ type: 'charge.succeeded', object: { id: 'ch_1', customer: customerA } })).res.json()).toMatchObject({ received: 1, applied: 0, unknown: 0 });
    expect(await billingState(a.organizationId)).toEqual(before);
  });
});

describe('without Stripe configured', () => {
  it('checkout and portal answer 503 billing_not_configured; the webhook 503; the billing page data says so', async () => {
    const bare = await createTestApp();
    try {
      const o = await signUpWithOrg(bare.app, 'bare');
      for (const url of ['/api/billing/checkout', '/api/billing/portal']) {
        const res = await bare.app.inject({ method: 'POST', url, headers: o.headers, ...(url.endsWith('checkout') && { payload: { plan: 'free' } }) });
        if (url.endsWith('portal')) expect(res.json()).toMatchObject({ code: 'billing_not_configured' });
        expect([400, 503]).toContain(res.statusCode);
      }
      const hook = signedStripeEvent(WEBHOOK_SECRET, { type: 'invoice.paid', object: {} });
      expect((await bare.app.inject({ method: 'POST', url: '/api/webhooks/stripe', headers: hook.headers, payload: hook.payload })).statusCode).toBe(503);
      const got = (await bare.app.inject({ url: '/api/billing', headers: o.headers })).json();
      expect(got).toMatchObject({ stripeConfigured: false, plan: 'free' });
    } finally {
      await bare.close();
    }
  });
});

describe('a Shopify store under the plan\'s customer limit (it cannot be answered with a 402)', () => {
  it('the sync creates what fits and says the rest was left out; a customers/create webhook beyond it is skipped and audited', async () => {
    const SHOP = 'limited.myshopify.com';
    const TOKEN = 'shpat_limited000000000000000000000000';
    const fake = await startFakeShopify({ shops: { [SHOP]: { token: TOKEN, name: 'Limited', customers: makeCustomers(4) } }, clientId: 'k', clientSecret: 's' });
    const base = testConfig();
    const app = await createTestApp({
      config: { billing: billingConfig({}), shopify: { ...base.shopify, apiKey: 'k', apiSecret: 's', adminBaseUrl: fake.url }, jobs: { inProcess: true, pollMs: 50 } },
    });
    try {
      const o = await signUpWithOrg(app.app, 'shop-limited');
      const connect = await app.app.inject({ method: 'POST', url: '/api/integrations/shopify/connect', headers: o.headers, payload: { shop: SHOP, accessToken: TOKEN } });
      expect(connect.statusCode, connect.body).toBe(200);
      expect((await app.app.inject({ method: 'POST', url: '/api/integrations/shopify/customers', headers: o.headers })).statusCode).toBe(202);
      let sync: any;
      for (let i = 0; i < 100 && sync?.status !== 'completed' && sync?.status !== 'failed'; i++) {
        await new Promise((r) => setTimeout(r, 100));
        sync = (await app.app.inject({ url: '/api/integrations/shopify/customers/sync', headers: o.headers })).json();
      }
      expect(sync).toMatchObject({ status: 'completed', customersSeen: 4, customersCreated: 3, customersUpdated: 0 });
      expect(sync.error).toMatch(/plan's customer limit/);
      const count = async () => Number((await app.db.owner.query<{ n: number }>(`select count(*)::int n from customers where organization_id = $1`, [o.organizationId]))[0].n);
      expect(await count()).toBe(3);

      const hook = await postShopifyWebhook(app.app, 's', { topic: 'customers/create', shop: SHOP, body: { id: 99, email: 'late@shop.example', admin_graphql_api_id: 'gid://shopify/Customer/99' } });
      expect(hook.json()).toMatchObject({ received: 1, applied: 1 });
      expect(await count()).toBe(3);
      const [skipped] = await app.db.owner.query<{ changes: any }>(`select changes from audit_log where organization_id = $1 and action = 'customer.skipped'`, [o.organizationId]);
      expect(skipped.changes).toMatchObject({ source: 'shopify', reason: 'plan_limit', shopifyCustomerId: '99' });
    } finally {
      await app.close();
      await fake.close();
    }
  });
});

describe('npm run cli -- plan set', () => {
  it('sets an organization\'s plan by id or name, audited as the system actor', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-cli-'));
    const tdb = onPostgres ? await createTestDatabase() : null;
    const open = () => (tdb ? openDatabase({ databaseUrl: tdb.url, poolSize: 2, migrate: true }) : openDatabase({ dataDir: path.join(dir, 'pglite'), migrate: true }));
    let db = await open();
    const [org] = await db.owner.query<{ id: string }>(`insert into organizations (name) values ('Cli Corp') returning id::text`);
    await db.close();
    const env = { ...process.env, NODE_ENV: 'test', DATA_DIR: dir, LOG_LEVEL: 'silent', BILLING_PLANS: PLANS, DATABASE_URL: tdb?.url ?? '' };
    const cli = (...args: string[]) => promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'plan', ...args], { env, cwd: path.resolve(import.meta.dirname, '..') });
    const out = await cli('set', 'cli corp', 'starter');
    expect(out.stdout).toContain(`Cli Corp (${org.id}): plan starter, status manual`);
    await expect(cli('set', org.id, 'platinum')).rejects.toMatchObject({ code: 2 });
    await cli('set', org.id, 'growth');
    db = await open();
    try {
      const [row] = await db.owner.query(`select plan, status from billing_accounts where organization_id = $1`, [org.id]);
      expect(row).toEqual({ plan: 'growth', status: 'manual' });
      const audit = await db.owner.query(`select action, actor_type, actor_reason, changes from audit_log where organization_id = $1 order by created_at, id`, [org.id]);
      expect(audit).toMatchObject([
        { action: 'billing.plan_set', actor_type: 'system', actor_reason: 'cli-plan-set', changes: { from: 'free', to: 'starter' } },
        { action: 'billing.plan_set', actor_type: 'system', actor_reason: 'cli-plan-set', changes: { from: 'starter', to: 'growth' } },
      ]);
    } finally {
      await db.close();
      await tdb?.close();
    }
    // Four CLI processes, each starting Node and opening (and migrating) the database.
  }, 150_000);
});
