import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCustomer as createCustomerService } from '../src/modules/customers/service.js';
import { addMember, createApiKey, createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';
import { startReceiver, verify, waitFor, type Receiver } from './webhook-receiver.js';

let t: TestApp;
let a: Actor;
let b: Actor;
let rx: Receiver;

const register = (actor: Actor, body: Record<string, unknown>) => t.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: actor.headers, payload: body });

beforeAll(async () => {
  rx = await startReceiver();
  t = await createTestApp({
    config: {
      jobs: { inProcess: true, pollMs: 25 },
      outboundWebhooks: { allowPrivateRanges: ['127.0.0.0/8'], secretOverlapHours: 24, retryBaseMs: 50, timeoutMs: 2000, disableAfterFailures: 100, disableAfterSeconds: 0 },
    },
  });
  a = await signUpWithOrg(t.app, 'wha');
  b = await signUpWithOrg(t.app, 'whb');
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

describe('webhook endpoints', () => {
  it('creates an endpoint and returns its Standard Webhooks secret once; the secret is stored sealed', async () => {
    const res = await register(a, { url: rx.url('/crud'), eventTypes: ['customer.created', 'customer.created'], description: 'CRM' });
    expect(res.statusCode).toBe(201);
    const ep = res.json();
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(ep.secret.slice(6), 'base64')).toHaveLength(24);
    expect(ep.eventTypes).toEqual(['customer.created']);
    expect(ep.enabled).toBe(true);

    const got = await t.app.inject({ url: `/api/webhook-endpoints/${ep.id}`, headers: a.headers });
    expect(got.statusCode).toBe(200);
    expect(got.json()).not.toHaveProperty('secret');
    expect(JSON.stringify(got.json())).not.toContain(ep.secret.slice(6));
    const list = (await t.app.inject({ url: '/api/webhook-endpoints', headers: a.headers })).json();
    expect(list.data.map((e: { id: string }) => e.id)).toContain(ep.id);
    expect(JSON.stringify(list)).not.toContain(ep.secret.slice(6));
    const [row] = await t.db.owner.query<{ secret_sealed: string }>('select secret_sealed from webhook_endpoints where id = $1', [ep.id]);
    expect(row.secret_sealed.startsWith('v1.')).toBe(true);
    expect(row.secret_sealed).not.toContain(ep.secret.slice(6));

    const patched = await t.app.inject({ method: 'PATCH', url: `/api/webhook-endpoints/${ep.id}`, headers: a.headers, payload: { eventTypes: ['*'], description: null, enabled: false } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ eventTypes: ['*'], description: null, enabled: false });
    const audit = (await t.app.inject({ url: `/api/audit-log?resourceType=webhook_endpoint&resourceId=${ep.id}`, headers: a.headers })).json();
    expect(audit.data.map((e: { action: string }) => e.action).sort()).toEqual(['webhook_endpoint.created', 'webhook_endpoint.updated']);
    expect(JSON.stringify(audit)).not.toContain(ep.secret.slice(6));

    expect((await t.app.inject({ method: 'DELETE', url: `/api/webhook-endpoints/${ep.id}`, headers: a.headers })).statusCode).toBe(204);
    expect((await t.app.inject({ url: `/api/webhook-endpoints/${ep.id}`, headers: a.headers })).statusCode).toBe(404);
  });

  it('pages the list with a cursor', async () => {
    const org = await signUpWithOrg(t.app, 'whpage');
    for (let i = 0; i < 3; i++) expect((await register(org, { url: `https://hooks.example.com/${i}`, eventTypes: ['*'] })).statusCode).toBe(201);
    const p1 = (await t.app.inject({ url: '/api/webhook-endpoints?limit=2', headers: org.headers })).json();
    expect(p1.data).toHaveLength(2);
    const p2 = (await t.app.inject({ url: `/api/webhook-endpoints?limit=2&cursor=${p1.nextCursor}`, headers: org.headers })).json();
    expect(p2.data).toHaveLength(1);
    expect(p2.nextCursor).toBeNull();
    expect(new Set([...p1.data, ...p2.data].map((e: { url: string }) => e.url)).size).toBe(3);
  });

  it('refuses bad URLs and unknown event types with a 400', async () => {
    const strict = await createTestApp();
    try {
      const o = await signUpWithOrg(strict.app, 'whstrict');
      const cases: [string, RegExp][] = [
        ['not a url', /valid URL/],
        ['ftp://hooks.example.com/x', /https/],
        ['http://hooks.example.com/x', /https/], // plain http only where private ranges are allowed (tests, on-premises)
        ['https://user:pass@hooks.example.com/x', /credentials/],
        ['https://127.0.0.1/x', /Refused/],
        ['https://10.1.2.3/x', /Refused/],
        ['https://169.254.169.254/latest/meta-data', /Refused/],
        ['https://[::1]/x', /Refused/],
        ['https://[::ffff:127.0.0.1]/x', /Refused/],
        ['https://[fd00:ec2::254]/x', /Refused/],
        ['https://100.100.100.200/x', /Refused/],
        ['https://0.0.0.0/x', /Refused/],
        ['https://localhost:8443/x', /Refused/],
      ];
      for (const [url, message] of cases) {
        const res = await strict.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: o.headers, payload: { url, eventTypes: ['*'] } });
        expect(res.statusCode, url).toBe(400);
        expect(res.json().error, url).toMatch(message);
      }
      const bad = await strict.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: o.headers, payload: { url: 'https://hooks.example.com/x', eventTypes: ['customer.exploded'] } });
      expect(bad.statusCode).toBe(400);
      const none = await strict.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: o.headers, payload: { url: 'https://hooks.example.com/x', eventTypes: [] } });
      expect(none.statusCode).toBe(400);
      expect((await strict.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: o.headers, payload: { url: 'https://hooks.example.com/x', eventTypes: ['*'] } })).statusCode).toBe(201);
    } finally {
      await strict.close();
    }
  });

  it('takes an admin to change endpoints; members may read', async () => {
    const member = await addMember(t.app, a, 'member', 'whmember');
    const memberKey = await createApiKey(t.app, a, 'member');
    expect((await register(member, { url: 'https://hooks.example.com/m', eventTypes: ['*'] })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: memberKey.headers, payload: { url: 'https://hooks.example.com/m', eventTypes: ['*'] } })).statusCode).toBe(403);
    const ep = (await register(a, { url: 'https://hooks.example.com/admin', eventTypes: ['*'] })).json();
    expect((await t.app.inject({ method: 'POST', url: `/api/webhook-endpoints/${ep.id}/rotate-secret`, headers: member.headers })).statusCode).toBe(403);
    expect((await t.app.inject({ url: `/api/webhook-endpoints/${ep.id}`, headers: member.headers })).statusCode).toBe(200);
    expect((await t.app.inject({ url: `/api/webhook-endpoints/${ep.id}/deliveries`, headers: member.headers })).statusCode).toBe(200);
  });
});

describe('events and organizations', () => {
  it("delivers A's events to A's endpoints only; B's ids are 404 for A and A's for B", async () => {
    const epA = (await register(a, { url: rx.url('/a'), eventTypes: ['customer.created', 'customer.updated', 'customer.deleted'] })).json();
    const epB = (await register(b, { url: rx.url('/b'), eventTypes: ['*'] })).json();
    const c = await createCustomer(t.app, a.headers, { email: 'iso@a.example', firstName: 'Ann' });
    await t.app.inject({ method: 'PATCH', url: `/api/customers/${c.id}`, headers: a.headers, payload: { firstName: 'Anne' } });
    await t.app.inject({ method: 'DELETE', url: `/api/customers/${c.id}`, headers: a.headers });
    const got = await waitFor(() => rx.at('/a').length >= 3 && rx.at('/a'));
    const events = got.map((r) => verify(epA.secret, r) as { type: string; organizationId: string; version: number; data: any });
    expect(events.map((e) => e.type).sort()).toEqual(['customer.created', 'customer.deleted', 'customer.updated']);
    expect(events.every((e) => e.organizationId === a.organizationId && e.version === 1)).toBe(true);
    expect(events.find((e) => e.type === 'customer.updated')!.data.customer).toMatchObject({ id: c.id, firstName: 'Anne', email: 'iso@a.example' });
    // A's secret is not B's: nothing of A's could be verified (or even arrive) at B.
    expect(() => verify(epB.secret, got[0])).toThrow();
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.at('/b')).toHaveLength(0);
    expect((await t.app.inject({ url: `/api/webhook-endpoints/${epB.id}/deliveries`, headers: b.headers })).json().data).toHaveLength(0);

    // B's own customer reaches B only.
    await createCustomer(t.app, b.headers, { email: 'iso@b.example' });
    const atB = await waitFor(() => rx.at('/b').length >= 1 && rx.at('/b'));
    expect((verify(epB.secret, atB[0]) as { organizationId: string }).organizationId).toBe(b.organizationId);
    expect(rx.at('/a')).toHaveLength(3);

    const log = (await t.app.inject({ url: `/api/webhook-endpoints/${epA.id}/deliveries`, headers: a.headers })).json().data;
    expect(log).toHaveLength(3);
    for (const [method, url] of [
      ['GET', `/api/webhook-endpoints/${epA.id}`],
      ['PATCH', `/api/webhook-endpoints/${epA.id}`],
      ['DELETE', `/api/webhook-endpoints/${epA.id}`],
      ['POST', `/api/webhook-endpoints/${epA.id}/rotate-secret`],
      ['GET', `/api/webhook-endpoints/${epA.id}/deliveries`],
      ['POST', `/api/webhook-endpoints/${epA.id}/deliveries/${log[0].deliveryId}/replay`],
      ['POST', `/api/webhook-endpoints/${epB.id}/deliveries/${log[0].deliveryId}/replay`],
    ] as const) {
      const res = await t.app.inject({ method, url, headers: b.headers, ...(method === 'PATCH' && { payload: { enabled: false } }) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }
    expect((await t.app.inject({ url: `/api/webhook-endpoints/${epA.id}`, headers: a.headers })).json().enabled).toBe(true);
    expect(rx.at('/a')).toHaveLength(3);
    await t.app.inject({ method: 'DELETE', url: `/api/webhook-endpoints/${epA.id}`, headers: a.headers });
    await t.app.inject({ method: 'DELETE', url: `/api/webhook-endpoints/${epB.id}`, headers: b.headers });
  });

  it('emits only when the change commits: a rolled-back change leaves no event', async () => {
    const ep = (await register(a, { url: rx.url('/commit'), eventTypes: ['customer.created'] })).json();
    const ctx = { organizationId: a.organizationId, actor: { type: 'user' as const, id: a.userId }, requestId: 'test', role: 'owner' as const };
    await expect(
      t.db.withTenant(a.organizationId, async (tx) => {
        await createCustomerService(tx, ctx, { email: 'rolled-back@a.example' } as any, t.config.billing.plans);
        throw new Error('the rest of the change failed');
      }),
    ).rejects.toThrow('the rest of the change failed');
    const count = async () =>
      Number((await t.db.owner.query<{ n: number }>('select count(*)::int as n from webhook_deliveries where endpoint_id = $1', [ep.id]))[0].n);
    expect(await count()).toBe(0);
    await t.db.withTenant(a.organizationId, (tx) => createCustomerService(tx, ctx, { email: 'committed@a.example' } as any, t.config.billing.plans));
    expect(await count()).toBe(1);
    const got = await waitFor(() => rx.at('/commit')[0]);
    expect((verify(ep.secret, got) as any).data.customer.email).toBe('committed@a.example');
    await new Promise((r) => setTimeout(r, 200));
    expect(rx.at('/commit')).toHaveLength(1);
    // Nothing of the rolled-back change anywhere.
    const jobs = await t.db.withTenant(a.organizationId, (tx) => tx.execute(sql`select count(*)::int as n from webhook_deliveries where payload::text like '%rolled-back%'`));
    expect((jobs as any).rows[0].n).toBe(0);
  });

  it('sends only the subscribed event types; a disabled endpoint receives nothing', async () => {
    const only = (await register(a, { url: rx.url('/only-deleted'), eventTypes: ['customer.deleted'] })).json();
    const off = (await register(a, { url: rx.url('/off'), eventTypes: ['*'] })).json();
    await t.app.inject({ method: 'PATCH', url: `/api/webhook-endpoints/${off.id}`, headers: a.headers, payload: { enabled: false } });
    const c = await createCustomer(t.app, a.headers, { email: 'types@a.example' });
    await t.app.inject({ method: 'DELETE', url: `/api/customers/${c.id}`, headers: a.headers });
    const got = await waitFor(() => rx.at('/only-deleted')[0]);
    expect((verify(only.secret, got) as any).type).toBe('customer.deleted');
    await new Promise((r) => setTimeout(r, 300));
    expect(rx.at('/only-deleted')).toHaveLength(1);
    expect(rx.at('/off')).toHaveLength(0);
  });
});
