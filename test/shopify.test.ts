// Connecting a Shopify store (custom-app token and the OAuth install) and its webhook subscriptions,
// against a local server speaking the Admin API's shape (test/shopify-support.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { signedCallbackQuery, startFakeShopify, type FakeShopify } from './shopify-support.js';

const SECRET = 'shpss_test_app_secret_0123456789';
const API_KEY = 'test-client-id';
const SHOP_A = 'store-a.myshopify.com';
const SHOP_B = 'store-b.myshopify.com';
const SHOP_C = 'store-c.myshopify.com';
const TOKEN_A = 'shpat_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const TOKEN_B = 'shpat_bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';
const TOKEN_C = 'shpat_cccccccccccccccccccccccccccccccc';

let t: TestApp;
let fake: FakeShopify;
let a: Actor;
let b: Actor;
let c: Actor;

beforeAll(async () => {
  fake = await startFakeShopify({
    shops: { [SHOP_A]: { token: TOKEN_A, name: 'Store A' }, [SHOP_B]: { token: TOKEN_B, name: 'Store B' }, [SHOP_C]: { token: TOKEN_C, name: 'Store C' } },
    clientId: API_KEY,
    clientSecret: SECRET,
  });
  const base = testConfig();
  t = await createTestApp({
    config: {
      publicUrl: 'https://sb.example.com',
      shopify: { ...base.shopify, apiKey: API_KEY, apiSecret: SECRET, adminBaseUrl: fake.url },
      jobs: { inProcess: false, pollMs: 50 },
    },
  });
  a = await signUpWithOrg(t.app, 'shopify-a');
  b = await signUpWithOrg(t.app, 'shopify-b');
  c = await signUpWithOrg(t.app, 'shopify-c');
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

const connect = (actor: Actor, shop: string, accessToken: string) =>
  t.app.inject({ method: 'POST', url: '/api/integrations/shopify/connect', headers: actor.headers, payload: { shop, accessToken } });
const status = async (actor: Actor) => (await t.app.inject({ url: '/api/integrations/shopify', headers: actor.headers })).json();

describe('POST /api/integrations/shopify/connect (custom-app token)', () => {
  it('refuses a token Shopify refuses (400) and a domain that is not a store, stores nothing', async () => {
    const bad = await connect(a, SHOP_A, 'shpat_wrong_wrong_wrong_wrong_wrong');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details[0].path).toBe('accessToken');
    for (const shop of ['evil.example.com', 'store-a.myshopify.com.evil.com', 'admin.shopify.com/store/x/../y', '-x.myshopify.com']) {
      const r = await connect(a, shop, TOKEN_A);
      expect(r.statusCode, shop).toBe(400);
    }
    expect(await status(a)).toMatchObject({ connected: false, shop: null });
  });

  it('checks the token with `{ shop { name } }`, stores it sealed and never returns it', async () => {
    const before = fake.requests.length;
    const res = await connect(a, `https://${SHOP_A.toUpperCase()}/`, TOKEN_A);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ connected: true, shop: SHOP_A, shopName: 'Store A', method: 'token' });
    expect(fake.requests.slice(before).map((r) => r.kind)).toEqual(['shop']);
    expect(res.body).not.toContain(TOKEN_A);
    expect(JSON.stringify(await status(a))).not.toContain(TOKEN_A);
    const [row] = await t.db.owner.query<{ credentials_encrypted: string }>(`select credentials_encrypted from integrations where provider = 'shopify' and organization_id = $1`, [a.organizationId]);
    expect(row.credentials_encrypted).toBeTruthy();
    expect(row.credentials_encrypted).not.toContain(TOKEN_A);
    const audit = (await t.app.inject({ url: '/api/audit-log?resourceType=integration', headers: a.headers })).json();
    expect(JSON.stringify(audit)).not.toContain(TOKEN_A);
  });

  it("another organization's shop → 409 without naming the organization; A keeps it", async () => {
    const res = await connect(b, SHOP_A, TOKEN_A);
    expect(res.statusCode).toBe(409);
    expect(res.body).not.toContain('shopify-a');
    expect(res.body).not.toContain(a.organizationId);
    expect(await status(a)).toMatchObject({ connected: true, shop: SHOP_A });
    expect(await status(b)).toMatchObject({ connected: false });
  });

  it('members cannot connect; disconnect forgets the shop (404 when nothing is connected)', async () => {
    const ok = await connect(b, SHOP_B, TOKEN_B);
    expect(ok.statusCode).toBe(200);
    const del = await t.app.inject({ method: 'DELETE', url: '/api/integrations/shopify', headers: b.headers });
    expect(del.statusCode).toBe(204);
    expect(await status(b)).toMatchObject({ connected: false, shop: null });
    expect((await t.app.inject({ method: 'DELETE', url: '/api/integrations/shopify', headers: b.headers })).statusCode).toBe(404);
    // The shop is free again: another organization may connect it.
    expect((await connect(c, SHOP_B, TOKEN_B)).statusCode).toBe(200);
    expect((await t.app.inject({ method: 'DELETE', url: '/api/integrations/shopify', headers: c.headers })).statusCode).toBe(204);
  });

  it('503 while the server has no Shopify app secret', async () => {
    const other = await createTestApp();
    try {
      const o = await signUpWithOrg(other.app, 'shopify-unconfigured');
      const res = await other.app.inject({ method: 'POST', url: '/api/integrations/shopify/connect', headers: o.headers, payload: { shop: SHOP_C, accessToken: TOKEN_C } });
      expect(res.statusCode).toBe(503);
    } finally {
      await other.close();
    }
  });
});

describe('OAuth install (GET /api/integrations/shopify/install → Shopify → /callback)', () => {
  async function install(actor: Actor, shop: string) {
    const res = await t.app.inject({ url: `/api/integrations/shopify/install?shop=${shop}`, headers: actor.headers });
    expect(res.statusCode).toBe(302);
    const url = new URL(String(res.headers.location));
    return url;
  }
  const callback = (actor: Actor, qs: string) => t.app.inject({ url: `/api/integrations/shopify/callback?${qs}`, headers: actor.headers });
  const now = () => String(Math.floor(Date.now() / 1000));

  it("redirects to the shop's authorize URL with our client id, scopes, callback and a state", async () => {
    const url = await install(b, SHOP_B);
    expect(url.origin).toBe(`https://${SHOP_B}`);
    expect(url.pathname).toBe('/admin/oauth/authorize');
    expect(url.searchParams.get('client_id')).toBe(API_KEY);
    expect(url.searchParams.get('scope')).toBe('read_customers,read_orders');
    expect(url.searchParams.get('redirect_uri')).toBe('https://sb.example.com/api/integrations/shopify/callback');
    expect(url.searchParams.get('state')?.length).toBeGreaterThan(40);
    expect((await t.app.inject({ url: '/api/integrations/shopify/install?shop=evil.example.com', headers: b.headers })).statusCode).toBe(400);
  });

  it('an API key cannot start an install (a session is what the state binds to)', async () => {
    const key = await createApiKey(t.app, b, 'admin');
    expect((await t.app.inject({ url: `/api/integrations/shopify/install?shop=${SHOP_B}`, headers: key.headers })).statusCode).toBe(403);
  });

  it('refuses a bad state, a state of another organization, a forged HMAC and a stale timestamp — no token exchanged', async () => {
    const state = (await install(b, SHOP_B)).searchParams.get('state')!;
    const stateOfC = (await install(c, SHOP_C)).searchParams.get('state')!;
    const exchanges = () => fake.requests.filter((r) => r.kind === 'token').length;
    const before = exchanges();
    const code = fake.issueCode(SHOP_B);
    const cases = [
      signedCallbackQuery(SECRET, { code, shop: SHOP_B, state: 'forged.state', timestamp: now() }),
      signedCallbackQuery(SECRET, { code, shop: SHOP_B, state: `${state.split('.')[0]}.${'A'.repeat(43)}`, timestamp: now() }),
      signedCallbackQuery(SECRET, { code, shop: SHOP_C, state: stateOfC, timestamp: now() }),
      signedCallbackQuery(SECRET, { code, shop: SHOP_C, state, timestamp: now() }),
      signedCallbackQuery('not-the-app-secret', { code, shop: SHOP_B, state, timestamp: now() }),
      signedCallbackQuery(SECRET, { code, shop: SHOP_B, state, timestamp: String(Math.floor(Date.now() / 1000) - 600) }),
    ];
    for (const qs of cases) {
      const res = await callback(b, qs);
      expect(res.statusCode, qs).toBe(400);
    }
    // Right query, wrong session (C's owner replays B's callback).
    expect((await callback(c, signedCallbackQuery(SECRET, { code, shop: SHOP_B, state, timestamp: now() }))).statusCode).toBe(400);
    expect(exchanges()).toBe(before);
    expect(await status(b)).toMatchObject({ connected: false });
  });

  it('a signed callback with the state exchanges the code and connects the shop (token sealed, never returned)', async () => {
    const state = (await install(b, SHOP_B)).searchParams.get('state')!;
    const code = fake.issueCode(SHOP_B);
    const res = await callback(b, signedCallbackQuery(SECRET, { code, host: 'YWRtaW4uc2hvcGlmeS5jb20vc3RvcmUvYg', shop: SHOP_B, state, timestamp: now() }));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ connected: true, shop: SHOP_B, method: 'oauth', scopes: 'read_customers,read_orders' });
    expect(res.body).not.toContain(TOKEN_B);
    // The code was used: replaying the callback fails at Shopify's exchange.
    expect((await callback(b, signedCallbackQuery(SECRET, { code, shop: SHOP_B, state, timestamp: now() }))).statusCode).toBe(400);
  });
});

describe('GET|POST /api/integrations/shopify/webhooks', () => {
  it('409 without a connected store', async () => {
    expect((await t.app.inject({ url: '/api/integrations/shopify/webhooks', headers: c.headers })).statusCode).toBe(409);
  });

  it('registers the four topics at PUBLIC_URL/api/webhooks/shopify once, then lists them', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/integrations/shopify/webhooks', headers: a.headers });
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.created.sort()).toEqual(['APP_UNINSTALLED', 'CUSTOMERS_CREATE', 'CUSTOMERS_UPDATE', 'ORDERS_CREATE']);
    expect(body.data.every((s: any) => s.callbackUrl === 'https://sb.example.com/api/webhooks/shopify')).toBe(true);
    expect(fake.shops.get(SHOP_A)!.subscriptions).toHaveLength(4);
    expect(fake.shops.get(SHOP_B)!.subscriptions).toHaveLength(0);
    const again = (await t.app.inject({ method: 'POST', url: '/api/integrations/shopify/webhooks', headers: a.headers })).json();
    expect(again.created).toEqual([]);
    expect(fake.shops.get(SHOP_A)!.subscriptions).toHaveLength(4);
    const list = (await t.app.inject({ url: '/api/integrations/shopify/webhooks', headers: a.headers })).json();
    expect(list.data.map((s: any) => s.topic).sort()).toEqual(['APP_UNINSTALLED', 'CUSTOMERS_CREATE', 'CUSTOMERS_UPDATE', 'ORDERS_CREATE']);
    expect((await t.app.inject({ url: '/api/integrations/shopify/webhooks', headers: b.headers })).json().data).toEqual([]);
  });
});
