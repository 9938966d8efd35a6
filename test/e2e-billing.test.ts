// Billing and the Shopify integration in a real browser against the real server: two organizations;
// A's billing page shows its usage bars and the plan's limit in words when the customers form hits
// it; B (an operator put it on an unlimited plan) connects a store through the Shopify page against
// the local Shopify stand-in, syncs its customers, and disconnects after a confirmation. axe on every page.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../src/config.js';
import { systemContext } from '../src/http/access.js';
import { setPlan } from '../src/modules/billing/index.js';
import { expectAccessible, hasChromium, newUser, screenshot, screenshotsOnFailure, signUp, startE2E, type E2E } from './e2e-support.js';
import { testConfig } from './helpers.js';
import { makeCustomers, startFakeShopify, type FakeShopify } from './shopify-support.js';
import { signedStripeEvent, startFakeStripe } from './stripe-support.js';

const SHOP = 'e2e-store.myshopify.com';
const TOKEN = 'shpat_e2e0000000000000000000000000000';

let e: E2E;
let shopify: FakeShopify;
let a: Awaited<ReturnType<typeof newUser>>;
let b: Awaited<ReturnType<typeof newUser>>;
const stamp = Date.now().toString(36);
const orgA = `Billing Org A ${stamp}`;
const orgB = `Billing Org B ${stamp}`;

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  shopify = await startFakeShopify({ shops: { [SHOP]: { token: TOKEN, name: 'E2E Store', customers: makeCustomers(3) } }, clientId: 'e2e-key', clientSecret: 'e2e-secret' });
  const base = testConfig();
  e = await startE2E({
    billing: loadConfig({
      NODE_ENV: 'test',
      DATA_DIR: base.dataDir,
      BILLING_PLANS: JSON.stringify({ free: { customers: 1, emailsPerMonth: 100, smsPerMonth: 10, members: 3, phoneNumbers: 1 }, growth: { label: 'Growth' } }),
    }).billing,
    shopify: { ...base.shopify, apiKey: 'e2e-key', apiSecret: 'e2e-secret', adminBaseUrl: shopify.url },
  });
  a = await newUser(e);
  b = await newUser(e);
});
afterEach((ctx) => screenshotsOnFailure(ctx, 'billing', { a, b }));
afterAll(async () => {
  await e?.close();
  await shopify?.close();
});


describe.skipIf(!hasChromium && !process.env.CI)('billing and Shopify pages end to end (Chromium)', () => {
  it('two organizations sign up; the Billing page shows the free plan, a usage bar per limit, and that Stripe is not set up', async () => {
    await signUp(a.page, { name: 'Ada', email: `ada-bill-${stamp}@example.test`, org: orgA });
    await signUp(b.page, { name: 'Bob', email: `bob-bill-${stamp}@example.test`, org: orgB });
    await a.page.getByRole('link', { name: 'Billing' }).click();
    await a.page.getByRole('heading', { level: 2, name: 'Free plan' }).waitFor();
    for (const name of ['Customers', 'Emails this month', 'SMS this month', 'Members and pending invitations', 'Phone numbers']) {
      await expect(a.page.getByRole('progressbar', { name }).count()).resolves.toBe(1);
    }
    expect(await a.page.getByRole('progressbar', { name: 'Members and pending invitations' }).getAttribute('aria-valuetext')).toBe('1 of 3');
    await a.page.getByText('Online payment is not set up on this server').waitFor();
    expect(await a.page.getByRole('button', { name: /Upgrade/ }).count()).toBe(0);
    await expectAccessible(a.page, 'billing');
    await screenshot(a.page, 'billing-free-plan');
  });

  it("a plan limit reached shows its message in words on the customers form, and the billing bar says it's full", async () => {
    for (const [i, expectOk] of [[1, true], [2, false]] as const) {
      await a.page.goto('/customers/new');
      await a.page.getByLabel('Email', { exact: true }).fill(`limit-${i}@a.example`);
      await a.page.getByRole('button', { name: 'Create customer' }).click();
      if (expectOk) await a.page.getByRole('heading', { level: 1, name: `limit-${i}@a.example` }).waitFor();
    }
    const alert = a.page.getByRole('alert').filter({ hasText: 'The Free plan allows 1 customers' });
    await alert.waitFor();
    expect(await alert.textContent()).toMatch(/this organization has used 1\. Upgrade the plan/);
    await expect(alert.getByRole('link', { name: 'See plans and usage' }).count()).resolves.toBe(1);
    await expectAccessible(a.page, 'customer form at the plan limit');
    await screenshot(a.page, 'billing-plan-limit-customer-form');
    await alert.getByRole('link', { name: 'See plans and usage' }).click();
    const bar = a.page.getByRole('progressbar', { name: 'Customers' });
    await bar.waitFor();
    expect(await bar.getAttribute('aria-valuetext')).toBe('1 of 1, limit reached');
    // B's page counts B's own customers only.
    await b.page.goto('/settings/billing');
    expect(await b.page.getByRole('progressbar', { name: 'Customers' }).getAttribute('aria-valuetext')).toBe('0 of 1');
    await screenshot(a.page, 'billing-limit-reached');
  });

  it('Shopify: the not-connected state, validation in words, connect with a custom-app token, sync, disconnect after a confirmation', async () => {
    // The operator's unlimited plan for B (npm run cli -- plan set), so the store's customers fit.
    const session = await (await b.page.request.get('/api/auth/session')).json();
    const orgId = session.activeOrganizationId as string;
    await e.t.db.withTenant(orgId, (tx) => setPlan(tx, systemContext(orgId, 'cli-plan-set'), 'growth', e.t.config.billing.plans));

    await b.page.getByRole('link', { name: 'Shopify' }).click();
    await b.page.getByRole('heading', { level: 2, name: 'Connect a store' }).waitFor();
    await expectAccessible(b.page, 'shopify not connected');
    await b.page.getByRole('button', { name: 'Connect with token' }).click();
    await b.page.getByText("Enter the store's myshopify.com domain").waitFor();
    await b.page.getByText('Paste the Admin API access token').waitFor();
    await b.page.getByLabel('Store domain', { exact: true }).fill('not a shop');
    await b.page.getByLabel('Store domain for the app install').fill('nope');
    await b.page.getByText('Not a myshopify.com domain').waitFor();
    expect(await b.page.getByRole('button', { name: 'Install on Shopify' }).isDisabled()).toBe(true);
    await expectAccessible(b.page, 'shopify validation');
    await screenshot(b.page, 'shopify-validation');

    // A token Shopify refuses: the server's words.
    await b.page.getByLabel('Store domain', { exact: true }).fill(SHOP);
    await b.page.getByLabel('Admin API access token').fill('shpat_wrong_token_000000');
    await b.page.getByRole('button', { name: 'Connect with token' }).click();
    await b.page.getByRole('alert').filter({ hasText: /token|Shopify/i }).first().waitFor();

    await b.page.getByLabel('Admin API access token').fill(TOKEN);
    await b.page.getByRole('button', { name: 'Connect with token' }).click();
    await b.page.getByRole('heading', { level: 2, name: 'E2E Store' }).waitFor();
    await b.page.getByText(SHOP).first().waitFor();
    await b.page.getByRole('heading', { level: 2, name: 'Webhook subscriptions' }).waitFor();
    await b.page.getByText('No webhook subscriptions').waitFor();

    await b.page.getByRole('button', { name: 'Sync customers' }).click();
    await b.page.locator('.badge-completed').waitFor({ timeout: 20_000 });
    const facts = await b.page.locator('section[aria-labelledby="sync-h"] dl').textContent();
    expect(facts).toMatch(/Customers seen3/);
    expect(facts).toMatch(/Created3/);
    await expectAccessible(b.page, 'shopify connected');
    await screenshot(b.page, 'shopify-connected-synced');

    await b.page.getByRole('button', { name: 'Disconnect' }).click();
    const dialog = b.page.getByRole('dialog', { name: 'Disconnect the store?' });
    await dialog.waitFor();
    await expectAccessible(b.page, 'shopify disconnect dialog');
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await b.page.getByRole('heading', { level: 2, name: 'E2E Store' }).waitFor();
    await b.page.getByRole('button', { name: 'Disconnect' }).click();
    await dialog.getByRole('button', { name: 'Disconnect' }).click();
    await b.page.getByRole('heading', { level: 2, name: 'Connect a store' }).waitFor();
    expect(await b.page.getByText('E2E Store').count()).toBe(0);

    // A never sees B's store.
    await a.page.goto('/integrations/shopify');
    await a.page.getByRole('heading', { level: 2, name: 'Connect a store' }).waitFor();
    expect(await a.page.getByText(SHOP).count()).toBe(0);
    expect(a.problems).toEqual([]);
    expect(b.problems).toEqual([]);
  });
});

describe.skipIf(!hasChromium && !process.env.CI)('billing with Stripe configured (Chromium, local Stripe stand-in)', () => {
  it('upgrade goes to Stripe Checkout; once Stripe confirms, the page shows the paid plan and opens the portal', async () => {
    const stripe = await startFakeStripe();
    const base = testConfig();
    const s = await startE2E({
      billing: loadConfig({
        NODE_ENV: 'test',
        DATA_DIR: base.dataDir,
        BILLING_PLANS: JSON.stringify({ free: { customers: 10 }, starter: { label: 'Starter', customers: 100 } }),
        STRIPE_SECRET_KEY: 'sk_test_e2e',
        STRIPE_WEBHOOK_SECRET: 'whsec_e2e',
        STRIPE_API_BASE_URL: stripe.url,
        STRIPE_PRICE_STARTER: 'price_e2e_starter',
      }).billing,
    });
    try {
      const u = await newUser(s);
      // Stripe's hosted pages, as far as this browser can tell.
      await u.context.route('https://checkout.stripe.test/**', (r) => r.fulfill({ contentType: 'text/html', body: '<title>Stripe Checkout</title><h1>Stripe Checkout</h1>' }));
      await u.context.route('https://billing.stripe.test/**', (r) => r.fulfill({ contentType: 'text/html', body: '<title>Stripe portal</title><h1>Stripe customer portal</h1>' }));
      await signUp(u.page, { name: 'Cleo', email: `cleo-bill-${stamp}@example.test`, org: `Paying Org ${stamp}` });
      await u.page.goto('/settings/billing');
      await u.page.getByRole('heading', { level: 2, name: 'Free plan' }).waitFor();
      expect(await u.page.getByText('Online payment is not set up').count()).toBe(0);
      await expectAccessible(u.page, 'billing with Stripe');
      await screenshot(u.page, 'billing-stripe-upgrade');
      await u.page.getByRole('button', { name: 'Upgrade to Starter' }).click();
      await u.page.waitForURL(/checkout\.stripe\.test/);
      const session = stripe.requests.find((r) => r.path === '/v1/checkout/sessions')!;
      expect(session.form['line_items[0][price]']).toBe('price_e2e_starter');

      // Stripe's webhook after payment.
      const org = session.form.client_reference_id;
      const hook = signedStripeEvent('whsec_e2e', {
        type: 'checkout.session.completed',
        object: { id: 'cs_e2e', object: 'checkout.session', customer: session.form.customer, client_reference_id: org, subscription: 'sub_e2e', metadata: { plan: 'starter' } },
      });
      const res = await fetch(`${s.baseUrl}/api/webhooks/stripe`, { method: 'POST', headers: hook.headers, body: hook.payload });
      expect(await res.json()).toMatchObject({ applied: 1 });

      await u.page.goto('/settings/billing?checkout=success');
      await u.page.getByRole('heading', { level: 2, name: 'Starter plan' }).waitFor();
      await u.page.getByText('your subscription starts as soon as Stripe confirms').waitFor();
      expect(await u.page.getByRole('progressbar', { name: 'Customers' }).getAttribute('aria-valuemax')).toBe('100');
      await expectAccessible(u.page, 'billing on a paid plan');
      await screenshot(u.page, 'billing-stripe-paid');
      await u.page.getByRole('button', { name: 'Manage billing in Stripe' }).click();
      await u.page.waitForURL(/billing\.stripe\.test/);
      expect(stripe.requests.at(-1)!.path).toBe('/v1/billing_portal/sessions');
      expect(u.problems).toEqual([]);
    } finally {
      await s.close();
      await stripe.close();
    }
  });
});
