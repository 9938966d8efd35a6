// The Shopify customer sync as a durable job: pages of 250 through the Admin GraphQL `customers`
// connection of a local fake (test/shopify-support.ts), throttle-aware, resumable from the stored cursor.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobRunner } from '../src/jobs/index.js';
import { modules } from '../src/modules/index.js';
import { waitFor } from './email-support.js';
import { createCustomer, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { makeCustomers, startFakeShopify, type FakeShopify, type State } from './shopify-support.js';

const SECRET = 'shpss_sync_secret';
const SHOP_A = 'sync-a.myshopify.com';
const SHOP_B = 'sync-b.myshopify.com';
const TOKEN_A = 'shpat_sync_a_0000000000000000000000';
const TOKEN_B = 'shpat_sync_b_0000000000000000000000';

let t: TestApp;
let fake: FakeShopify;
let a: Actor;
let b: Actor;

beforeAll(async () => {
  fake = await startFakeShopify({ shops: { [SHOP_A]: { token: TOKEN_A, customers: makeCustomers(1200) }, [SHOP_B]: { token: TOKEN_B } } });
  const base = testConfig();
  t = await createTestApp({
    config: { shopify: { ...base.shopify, apiSecret: SECRET, adminBaseUrl: fake.url }, jobs: { inProcess: false, pollMs: 50, leaseMs: 5000 } },
  });
  a = await signUpWithOrg(t.app, 'sync-a');
  b = await signUpWithOrg(t.app, 'sync-b');
  for (const [actor, shop, token] of [[a, SHOP_A, TOKEN_A], [b, SHOP_B, TOKEN_B]] as const) {
    const res = await t.app.inject({ method: 'POST', url: '/api/integrations/shopify/connect', headers: actor.headers, payload: { shop, accessToken: token } });
    expect(res.statusCode).toBe(200);
  }
}, 60_000);
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

const progress = async (actor: Actor) => (await t.app.inject({ url: '/api/integrations/shopify/customers/sync', headers: actor.headers })).json();
const start = (actor: Actor) => t.app.inject({ method: 'POST', url: '/api/integrations/shopify/customers', headers: actor.headers });
const count = async (org: string, where = 'true') =>
  Number((await t.db.owner.query<{ n: string }>(`select count(*)::text as n from customers where organization_id = $1 and ${where}`, [org]))[0].n);
const customersRequests = () => fake.requests.filter((r) => r.kind === 'customers');

/** Runs a job worker until the actor's customer sync has completed. */
async function syncUntilDone(actor: Actor, timeoutMs = 30_000) {
  const runner = createJobRunner({ db: t.db, config: t.config, modules }).start();
  try {
    await waitFor(async () => (await progress(actor)).status === 'completed', timeoutMs);
  } finally {
    await runner.stop();
  }
}

describe('POST /api/integrations/shopify/customers', () => {
  it('409 without a connected store; 404 progress before any sync', async () => {
    const other = await signUpWithOrg(t.app, 'sync-none');
    expect((await start(other)).statusCode).toBe(409);
    expect((await t.app.inject({ url: '/api/integrations/shopify/customers/sync', headers: other.headers })).statusCode).toBe(404);
  });

  it('syncs 1,200 customers over five pages of 250, backing off a THROTTLED answer, resumable from the stored cursor without duplicates', async () => {
    // One customer exists already by email: the sync links it instead of creating another.
    await createCustomer(t.app, a.headers, { email: 'customer7@shop.example', firstName: 'Known', tags: ['vip'] });
    const res = await start(a);
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ status: 'queued', pages: 0 });
    // Asking again while it is queued returns the same sync.
    expect((await start(a)).json().id).toBe(res.json().id);

    fake.throttleCustomers(1);
    fake.pauseAfter(2);
    const first = createJobRunner({ db: t.db, config: t.config, modules }).start();
    await waitFor(async () => (await progress(a)).pages === 2, 30_000);
    await new Promise((r) => setTimeout(r, 300));
    // Stopped mid-way (the third page is in flight): the worker hands the job back.
    await first.stop();
    const mid = await progress(a);
    expect(mid).toMatchObject({ status: 'running', pages: 2, customersSeen: 500, throttled: 1 });
    expect(await count(a.organizationId)).toBe(500);
    const before = customersRequests().length;
    fake.release();

    await syncUntilDone(a, 60_000);
    // The second run started after the cursor stored with page two.
    const resumed = customersRequests().slice(before).filter((r) => !r.throttled);
    expect(Buffer.from(String(resumed[0].variables.after), 'base64').toString()).toBe('{"last":500}');
    expect(resumed.every((r) => r.variables.first === 250)).toBe(true);

    const done = await progress(a);
    expect(done).toMatchObject({ status: 'completed', pages: 5, customersSeen: 1200, customersCreated: 1199, customersUpdated: 1, throttled: 1, error: null });
    expect(await count(a.organizationId)).toBe(1200);
    expect(await count(a.organizationId, 'shopify_customer_id is not null')).toBe(1200);
    const [known] = await t.db.owner.query<{ first_name: string; tags: string[]; shopify_customer_id: string }>(
      `select first_name, tags, shopify_customer_id from customers where organization_id = $1 and email = 'customer7@shop.example'`,
      [a.organizationId],
    );
    expect(known).toMatchObject({ first_name: 'First7', shopify_customer_id: '7000007' });
    expect([...known.tags].sort()).toEqual(['odd', 'shopify', 'vip']);
    expect(await count(b.organizationId)).toBe(0);

    // Syncing again updates everyone and creates no one.
    fake.shops.get(SHOP_A)!.customers[0].firstName = 'Renamed';
    expect((await start(a)).statusCode).toBe(202);
    await syncUntilDone(a, 60_000);
    expect(await progress(a)).toMatchObject({ customersSeen: 1200, customersCreated: 0, customersUpdated: 1200 });
    expect(await count(a.organizationId)).toBe(1200);
    expect(await count(a.organizationId, `first_name = 'Renamed'`)).toBe(1);
  }, 120_000);

  it('waits for the cost bucket: never asks for a page the bucket cannot pay for', async () => {
    fake.shops.get(SHOP_B)!.customers = makeCustomers(500, { from: 50_000, domain: 'b.example' });
    // A small bucket that refills slowly: 600 points, 100 per second; a page costs 502, so the second must wait about four seconds.
    Object.assign(fake.bucket, { maximumAvailable: 600, currentlyAvailable: 600, restoreRate: 100 });
    const before = customersRequests().length;
    expect((await start(b)).statusCode).toBe(202);
    try {
      await syncUntilDone(b);
    } finally {
      Object.assign(fake.bucket, { maximumAvailable: 2000, currentlyAvailable: 2000, restoreRate: 100_000 });
    }
    const mine = customersRequests().slice(before);
    expect(mine.filter((r) => r.throttled)).toEqual([]);
    expect(mine).toHaveLength(2);
    expect(await progress(b)).toMatchObject({ pages: 2, customersSeen: 500, customersCreated: 500, throttled: 0 });
  }, 60_000);
});

describe('consent mapping', () => {
  it('SUBSCRIBED → opted in; UNSUBSCRIBED → opted out and suppressed (source shopify); NOT_SUBSCRIBED and PENDING → opted out', async () => {
    const org = await signUpWithOrg(t.app, 'sync-consent');
    const shop = 'consent.myshopify.com';
    const states: [State, State][] = [
      ['SUBSCRIBED', 'SUBSCRIBED'],
      ['UNSUBSCRIBED', 'UNSUBSCRIBED'],
      ['NOT_SUBSCRIBED', 'PENDING'],
      ['PENDING', 'NOT_SUBSCRIBED'],
    ];
    fake.shops.set(shop, { name: 'Consent', token: 'shpat_consent_000000000000', customers: makeCustomers(4, { from: 90_001, domain: 'consent.example', state: (i) => states[i - 90_001] }), subscriptions: [] });
    expect((await t.app.inject({ method: 'POST', url: '/api/integrations/shopify/connect', headers: org.headers, payload: { shop, accessToken: 'shpat_consent_000000000000' } })).statusCode).toBe(200);
    // The opted-out customer already exists opted in: the store's UNSUBSCRIBED wins.
    await createCustomer(t.app, org.headers, { email: 'customer90002@consent.example', emailOptIn: true, smsOptIn: true });
    expect((await start(org)).statusCode).toBe(202);
    await syncUntilDone(org);
    const list = (await t.app.inject({ url: '/api/customers?limit=10', headers: org.headers })).json().data;
    const by = (n: number) => list.find((c: any) => c.email === `customer${n}@consent.example`);
    expect(by(90_001)).toMatchObject({ emailOptIn: true, smsOptIn: true, emailSuppressed: false, smsSuppressed: false });
    expect(by(90_002)).toMatchObject({ emailOptIn: false, smsOptIn: false, emailSuppressed: true, smsSuppressed: true });
    expect(by(90_003)).toMatchObject({ emailOptIn: false, smsOptIn: false, emailSuppressed: false, smsSuppressed: false });
    expect(by(90_004)).toMatchObject({ emailOptIn: false, smsOptIn: false, emailSuppressed: false });
    const sup = (await t.app.inject({ url: '/api/suppressions', headers: org.headers })).json().data;
    expect(sup.map((s: any) => [s.channel, s.address, s.reason, s.source]).sort()).toEqual([
      ['email', 'customer90002@consent.example', 'unsubscribed', 'shopify'],
      ['sms', by(90_002).phone, 'unsubscribed', 'shopify'],
    ]);
    // Nobody else's suppression list changed.
    expect((await t.app.inject({ url: '/api/suppressions', headers: a.headers })).json().data).toEqual([]);
  }, 60_000);
});

describe('matching by phone', () => {
  it('a store customer with a number and no email is the customer whose number was typed with spaces and brackets', async () => {
    const org = await signUpWithOrg(t.app, 'sync-phone');
    const shop = 'phone.myshopify.com';
    const [storeCustomer] = makeCustomers(1, { from: 91_001, domain: 'phone.example' });
    expect(storeCustomer.phone).toBe('+14155091001');
    fake.shops.set(shop, { name: 'Phone', token: 'shpat_phone_00000000000000', customers: [{ ...storeCustomer, email: null }], subscriptions: [] });
    expect((await t.app.inject({ method: 'POST', url: '/api/integrations/shopify/connect', headers: org.headers, payload: { shop, accessToken: 'shpat_phone_00000000000000' } })).statusCode).toBe(200);
    const known = await createCustomer(t.app, org.headers, { phone: '+1 (415) 509-1001', firstName: 'Known' });
    expect((await start(org)).statusCode).toBe(202);
    await syncUntilDone(org);
    expect(await progress(org)).toMatchObject({ customersSeen: 1, customersCreated: 0, customersUpdated: 1 });
    const list = (await t.app.inject({ url: '/api/customers', headers: org.headers })).json().data;
    expect(list.map((c: any) => c.id)).toEqual([known.id]);
  }, 60_000);
});
