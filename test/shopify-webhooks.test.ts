// POST /api/webhooks/shopify: deliveries signed exactly as Shopify signs them (base64 HMAC-SHA256 of the
// raw body with the app secret), two organizations each with their own shop.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createCustomer, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { postShopifyWebhook, shopifySignature, startFakeShopify, type FakeShopify } from './shopify-support.js';

const SECRET = 'shpss_webhook_secret_abcdef';
const SHOP_A = 'hooks-a.myshopify.com';
const SHOP_B = 'hooks-b.myshopify.com';
const TOKEN_A = 'shpat_hooks_a_000000000000000000';
const TOKEN_B = 'shpat_hooks_b_000000000000000000';

let t: TestApp;
let fake: FakeShopify;
let a: Actor;
let b: Actor;

beforeAll(async () => {
  fake = await startFakeShopify({ shops: { [SHOP_A]: { token: TOKEN_A }, [SHOP_B]: { token: TOKEN_B } } });
  const base = testConfig();
  t = await createTestApp({
    config: {
      shopify: { ...base.shopify, apiSecret: SECRET, adminBaseUrl: fake.url },
      jobs: { inProcess: false, pollMs: 50 },
      outboundWebhooks: { ...base.outboundWebhooks, allowPrivateRanges: ['127.0.0.0/8'] },
    },
  });
  a = await signUpWithOrg(t.app, 'hooks-a');
  b = await signUpWithOrg(t.app, 'hooks-b');
  for (const [actor, shop, token] of [[a, SHOP_A, TOKEN_A], [b, SHOP_B, TOKEN_B]] as const) {
    expect((await t.app.inject({ method: 'POST', url: '/api/integrations/shopify/connect', headers: actor.headers, payload: { shop, accessToken: token } })).statusCode).toBe(200);
  }
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

const hook = (topic: string, shop: string, body: unknown, extra: { webhookId?: string; signature?: string } = {}) => postShopifyWebhook(t.app, SECRET, { topic, shop, body, ...extra });

/** Every row of every tenant table of the organization, for "nothing else changed". */
async function snapshot(org: string) {
  const tables = await t.db.owner.query<{ table_name: string }>(
    `select table_name from information_schema.columns where table_schema = 'public' and column_name = 'organization_id' and table_name not in ('processed_webhook_events') order by 1`,
  );
  const out: Record<string, string> = {};
  for (const { table_name } of tables) {
    const [r] = await t.db.owner.query<{ h: string | null }>(`select md5(string_agg(x::text, ',' order by x::text)) as h from "${table_name}" x where organization_id = $1`, [org]);
    out[table_name] = r.h ?? '-';
  }
  return out;
}
const webhookRows = async () => Number((await t.db.owner.query<{ n: string }>(`select count(*)::text as n from processed_webhook_events where provider = 'shopify'`))[0].n);
const customersOf = async (org: string) =>
  t.db.owner.query<{ id: string; email: string | null; phone: string | null; first_name: string | null; email_opt_in: boolean; sms_opt_in: boolean; shopify_customer_id: string | null; tags: string[] }>(
    `select id, email, phone, first_name, email_opt_in, sms_opt_in, shopify_customer_id, tags from customers where organization_id = $1 order by created_at`,
    [org],
  );

const shopifyCustomer = (id: number, extra: Record<string, unknown> = {}) => ({
  id,
  email: `buyer${id}@example.com`,
  first_name: 'Grace',
  last_name: 'Hopper',
  phone: '+14155550188',
  tags: 'vip, newsletter',
  email_marketing_consent: { state: 'subscribed', opt_in_level: 'single_opt_in', consent_updated_at: '2025-07-01T10:00:00-04:00' },
  sms_marketing_consent: { state: 'not_subscribed', opt_in_level: 'single_opt_in', consent_updated_at: null, consent_collected_from: 'SHOPIFY' },
  admin_graphql_api_id: `gid://shopify/Customer/${id}`,
  ...extra,
});

describe('signature', () => {
  it('a forged or missing HMAC → 401 with nothing written; a signature over other bytes is refused too', async () => {
    const beforeA = await snapshot(a.organizationId);
    const rows = await webhookRows();
    const body = shopifyCustomer(101);
    const cases: Record<string, string>[] = [
      { 'x-shopify-hmac-sha256': shopifySignature('not-the-secret', JSON.stringify(body)) },
      { 'x-shopify-hmac-sha256': shopifySignature(SECRET, JSON.stringify({ ...body, email: 'other@example.com' })) },
      { 'x-shopify-hmac-sha256': '' },
      { 'x-shopify-hmac-sha256': 'A'.repeat(44) },
    ];
    for (const headers of cases) {
      const res = await t.app.inject({
        method: 'POST',
        url: '/api/webhooks/shopify',
        headers: { 'content-type': 'application/json', 'x-shopify-topic': 'customers/create', 'x-shopify-shop-domain': SHOP_A, 'x-shopify-webhook-id': randomUUID(), ...headers },
        payload: JSON.stringify(body),
      });
      expect(res.statusCode).toBe(401);
    }
    // The same bytes re-serialised differently (whitespace) do not match the signature of the original.
    const raw = JSON.stringify(body);
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/webhooks/shopify',
      headers: { 'content-type': 'application/json', 'x-shopify-topic': 'customers/create', 'x-shopify-shop-domain': SHOP_A, 'x-shopify-hmac-sha256': shopifySignature(SECRET, raw) },
      payload: JSON.stringify(body, null, 2),
    });
    expect(res.statusCode).toBe(401);
    expect(await snapshot(a.organizationId)).toEqual(beforeA);
    expect(await webhookRows()).toBe(rows);
  });

  it('a shop connected nowhere is acknowledged (200) and ignored', async () => {
    const res = await hook('customers/create', 'nobody.myshopify.com', shopifyCustomer(102));
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ received: 1, applied: 0, unknown: 1 });
  });
});

describe('customers/create and customers/update', () => {
  it("upserts into the shop's organization only, with consent; a repeated X-Shopify-Webhook-Id is applied once", async () => {
    const beforeB = await snapshot(b.organizationId);
    const id = randomUUID();
    const first = await hook('customers/create', SHOP_A, shopifyCustomer(201), { webhookId: id });
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ received: 1, applied: 1, duplicates: 0 });
    const again = await hook('customers/create', SHOP_A, shopifyCustomer(201, { first_name: 'Changed' }), { webhookId: id });
    expect(again.json()).toMatchObject({ received: 1, applied: 0, duplicates: 1 });
    let rows = (await customersOf(a.organizationId)).filter((c) => c.shopify_customer_id === '201');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ email: 'buyer201@example.com', phone: '+14155550188', first_name: 'Grace', email_opt_in: true, sms_opt_in: false });
    expect([...rows[0].tags].sort()).toEqual(['newsletter', 'vip']);

    // customers/update: unsubscribed from email → opted out and on A's suppression list.
    const upd = await hook('customers/update', SHOP_A, shopifyCustomer(201, { first_name: 'Grace B.', email_marketing_consent: { state: 'unsubscribed' }, sms_marketing_consent: { state: 'subscribed' } }));
    expect(upd.json()).toMatchObject({ applied: 1 });
    rows = (await customersOf(a.organizationId)).filter((c) => c.shopify_customer_id === '201');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ first_name: 'Grace B.', email_opt_in: false, sms_opt_in: true });
    const sup = (await t.app.inject({ url: '/api/suppressions', headers: a.headers })).json().data;
    expect(sup).toEqual([expect.objectContaining({ channel: 'email', address: 'buyer201@example.com', reason: 'unsubscribed', source: 'shopify' })]);
    // B saw nothing of it.
    expect(await snapshot(b.organizationId)).toEqual(beforeB);
    // Audited as the system actor.
    const audit = (await t.app.inject({ url: `/api/audit-log?resourceType=customer&resourceId=${rows[0].id}`, headers: a.headers })).json().data;
    expect(audit.length).toBeGreaterThanOrEqual(2);
    expect(audit[0]).toMatchObject({ actorType: 'system' });
  });

  it('links an existing customer by email instead of creating a second one', async () => {
    const existing = await createCustomer(t.app, a.headers, { email: 'Known.Buyer@example.com', firstName: 'Known' });
    await hook('customers/create', SHOP_A, shopifyCustomer(202, { email: 'known.buyer@example.com', first_name: null, phone: null }));
    const rows = (await customersOf(a.organizationId)).filter((c) => c.email?.toLowerCase() === 'known.buyer@example.com');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ id: existing.id, shopify_customer_id: '202', first_name: 'Known' });
  });
});

describe('orders/create', () => {
  it('records the order once against the customer (by Shopify id, else by email), with number, total, currency and items', async () => {
    const order = {
      id: 820982911946154500,
      admin_graphql_api_id: 'gid://shopify/Order/820982911946154508',
      name: '#1001',
      order_number: 1001,
      email: 'buyer201@example.com',
      currency: 'EUR',
      total_price: '59.90',
      created_at: '2025-07-02T12:00:00+02:00',
      line_items: [{ quantity: 2 }, { quantity: 1 }],
      customer: { id: 201, email: 'buyer201@example.com' },
    };
    const id = randomUUID();
    expect((await hook('orders/create', SHOP_A, order, { webhookId: id })).json()).toMatchObject({ applied: 1 });
    expect((await hook('orders/create', SHOP_A, order)).statusCode).toBe(200); // a new delivery id of the same order: still one row
    const byEmail = { ...order, id: 820982911946154600, admin_graphql_api_id: 'gid://shopify/Order/820982911946154600', name: '#1002', total_price: '10.00', line_items: [{ quantity: 1 }], customer: null, email: 'known.buyer@example.com' };
    await hook('orders/create', SHOP_A, byEmail);
    const orders = await t.db.owner.query<any>(
      `select o.number, o.total::text as total, o.currency, o.items_count, o.ordered_at, c.email from orders o left join customers c on c.organization_id = o.organization_id and c.id = o.customer_id
        where o.organization_id = $1 order by o.number`,
      [a.organizationId],
    );
    expect(orders).toEqual([
      expect.objectContaining({ number: '#1001', total: '59.90', currency: 'EUR', items_count: 3, email: 'buyer201@example.com' }),
      expect.objectContaining({ number: '#1002', total: '10.00', items_count: 1, email: 'known.buyer@example.com' }),
    ]);
    expect(new Date(orders[0].ordered_at).toISOString()).toBe('2025-07-02T10:00:00.000Z');
    expect((await t.db.owner.query(`select 1 from orders where organization_id = $1`, [b.organizationId])).length).toBe(0);
  });
});

describe('privacy topics', () => {
  beforeEach(async () => {
    // The same person is a customer of B too (B's own shop): no topic of A's shop may touch B's copy.
    await hook('customers/create', SHOP_B, shopifyCustomer(201));
  });

  it("customers/data_request stores an export of that customer's data for the shop owner (list + detail), audited", async () => {
    const res = await hook('customers/data_request', SHOP_A, {
      shop_id: 954889,
      shop_domain: SHOP_A,
      orders_requested: [820982911946154500],
      customer: { id: 201, email: 'buyer201@example.com', phone: '+14155550188' },
      data_request: { id: 9999 },
    });
    expect(res.json()).toMatchObject({ applied: 1 });
    const list = (await t.app.inject({ url: '/api/integrations/shopify/data-requests', headers: a.headers })).json();
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).toMatchObject({ shop: SHOP_A, shopifyRequestId: '9999', shopifyCustomerId: '201', email: 'buyer201@example.com' });
    const detail = (await t.app.inject({ url: `/api/integrations/shopify/data-requests/${list.data[0].id}`, headers: a.headers })).json();
    expect(detail.export.customers).toHaveLength(1);
    expect(detail.export.customers[0]).toMatchObject({ email: 'buyer201@example.com', firstName: 'Grace B.' });
    expect(detail.export.orders).toEqual([expect.objectContaining({ number: '#1001', total: '59.90' })]);
    expect(detail.export.suppressions).toEqual([expect.objectContaining({ channel: 'email', source: 'shopify' })]);
    // B's owner does not see A's export.
    expect((await t.app.inject({ url: `/api/integrations/shopify/data-requests/${list.data[0].id}`, headers: b.headers })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/api/integrations/shopify/data-requests', headers: b.headers })).json().data).toEqual([]);
    const audit = (await t.app.inject({ url: '/api/audit-log?resourceType=shopify_data_request', headers: a.headers })).json().data;
    expect(audit[0]).toMatchObject({ action: 'shopify.data_request_exported', actorType: 'system' });
  });

  it("customers/redact erases that customer and their orders in that organization only", async () => {
    const beforeB = await snapshot(b.organizationId);
    const res = await hook('customers/redact', SHOP_A, {
      shop_id: 954889,
      shop_domain: SHOP_A,
      customer: { id: 201, email: 'buyer201@example.com', phone: '+14155550188' },
      orders_to_redact: [820982911946154500],
    });
    expect(res.json()).toMatchObject({ applied: 1 });
    const left = await customersOf(a.organizationId);
    expect(left.find((c) => c.shopify_customer_id === '201' || c.email === 'buyer201@example.com')).toBeUndefined();
    expect(left.find((c) => c.email === 'known.buyer@example.com')).toBeDefined();
    const orders = await t.db.owner.query<{ number: string }>(`select number from orders where organization_id = $1`, [a.organizationId]);
    expect(orders.map((o) => o.number)).toEqual(['#1002']);
    expect((await t.app.inject({ url: '/api/integrations/shopify/data-requests', headers: a.headers })).json().data).toEqual([]);
    expect(await snapshot(b.organizationId)).toEqual(beforeB);
    expect((await customersOf(b.organizationId)).filter((c) => c.shopify_customer_id === '201')).toHaveLength(1);
    const audit = (await t.app.inject({ url: '/api/audit-log?resourceType=customer', headers: a.headers })).json().data;
    expect(audit[0]).toMatchObject({ action: 'shopify.customer_redacted', actorType: 'system' });
  });

  it('app/uninstalled wipes the token at once; shop/redact then erases the orders and the link — only for that shop', async () => {
    const beforeB = await snapshot(b.organizationId);
    expect((await hook('app/uninstalled', SHOP_A, { id: 954889, domain: SHOP_A, myshopify_domain: SHOP_A })).json()).toMatchObject({ applied: 1 });
    const [row] = await t.db.owner.query<{ credentials_encrypted: string | null; status: string }>(
      `select credentials_encrypted, status from integrations where provider = 'shopify' and organization_id = $1`,
      [a.organizationId],
    );
    expect(row).toEqual({ credentials_encrypted: null, status: 'uninstalled' });
    expect((await t.app.inject({ url: '/api/integrations/shopify', headers: a.headers })).json()).toMatchObject({ connected: false, shop: SHOP_A });
    // Nothing can use the store any more.
    expect((await t.app.inject({ method: 'POST', url: '/api/integrations/shopify/customers', headers: a.headers })).statusCode).toBe(409);

    expect((await hook('shop/redact', SHOP_A, { shop_id: 954889, shop_domain: SHOP_A })).json()).toMatchObject({ applied: 1 });
    expect(await t.db.owner.query(`select 1 from orders where organization_id = $1`, [a.organizationId])).toEqual([]);
    expect(await t.db.owner.query(`select 1 from integrations where provider = 'shopify' and organization_id = $1`, [a.organizationId])).toEqual([]);
    expect((await customersOf(a.organizationId)).filter((c) => c.shopify_customer_id !== null)).toEqual([]);
    expect(await snapshot(b.organizationId)).toEqual(beforeB);
    expect((await t.app.inject({ url: '/api/integrations/shopify', headers: b.headers })).json()).toMatchObject({ connected: true, shop: SHOP_B });
    // Later deliveries for the forgotten shop are acknowledged and ignored.
    expect((await hook('customers/create', SHOP_A, shopifyCustomer(300))).json()).toMatchObject({ applied: 0, unknown: 1 });
    const audit = (await t.app.inject({ url: '/api/audit-log?resourceType=integration', headers: a.headers })).json().data;
    expect(audit.slice(0, 2).map((e: any) => [e.action, e.actorType])).toEqual([
      ['shopify.shop_redacted', 'system'],
      ['shopify.uninstalled', 'system'],
    ]);
  });
});

describe('outbound webhook events', () => {
  it("a customer the store creates, updates or has erased is announced to the organization's own endpoints", async () => {
    const ep = await t.app.inject({
      method: 'POST',
      url: '/api/webhook-endpoints',
      headers: b.headers,
      payload: { url: 'http://127.0.0.1:9/hook', eventTypes: ['customer.created', 'customer.updated', 'customer.deleted'] },
    });
    expect(ep.statusCode).toBe(201);
    await hook('customers/create', SHOP_B, shopifyCustomer(400));
    await hook('customers/update', SHOP_B, shopifyCustomer(400, { first_name: 'Ada' }));
    await hook('customers/redact', SHOP_B, { shop_id: 1, shop_domain: SHOP_B, customer: { id: 400, email: 'buyer400@example.com' }, orders_to_redact: [] });
    const rows = await t.db.owner.query<{ event_type: string; payload: any }>(
      `select event_type, payload from webhook_deliveries where organization_id = $1 order by created_at`,
      [b.organizationId],
    );
    expect(rows.map((r) => r.event_type)).toEqual(['customer.created', 'customer.updated', 'customer.deleted']);
    expect(rows[0].payload.data.customer).toMatchObject({ email: 'buyer400@example.com', firstName: 'Grace', emailOptIn: true });
    expect(rows[1].payload.data.customer).toMatchObject({ firstName: 'Ada' });
    expect(rows[2].payload.data.customer).toEqual({ id: rows[0].payload.data.customer.id, email: null });
    expect(await t.db.owner.query(`select 1 from webhook_deliveries where organization_id = $1`, [a.organizationId])).toEqual([]);
  });
});
