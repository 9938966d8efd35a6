import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';
import { fakeDns, verifiedDomain } from './sender-support.js';

let t: TestApp;
let a: Actor;
let b: Actor;

const dns = fakeDns();

beforeAll(async () => {
  t = await createTestApp({ dns: dns.resolver });
  a = await signUpWithOrg(t.app, 'ca');
  b = await signUpWithOrg(t.app, 'cb');
  await verifiedDomain(t.app, a.headers, dns, 'a.example');
});
afterAll(() => t?.close());

const body = {
  name: 'Spring',
  subject: 'Hi {{ customer.firstName | default: "there" }}',
  fromEmail: 'news@a.example',
  html: '<p>Hello {{ customer.firstName }}</p>',
  audience: { tags: ['vip'] },
};

async function create(actor: Actor, payload: Record<string, unknown> = body) {
  const res = await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: actor.headers, payload });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

describe('email campaign records', () => {
  it('creates, reads, lists, replaces, patches and deletes a campaign with derived stats', async () => {
    const c = await create(a);
    expect(c).toMatchObject({ name: 'Spring', status: 'draft', audience: { tags: ['vip'] }, preheader: null, scheduledAt: null, sentAt: null });
    expect(c.stats).toEqual({ recipients: 0, sent: 0, delivered: 0, opened: 0, clicked: 0, bounced: 0, complained: 0, unsubscribed: 0, failed: 0 });

    const got = await t.app.inject({ url: `/api/email/campaigns/${c.id}`, headers: a.headers });
    expect(got.json()).toMatchObject({ id: c.id, subject: body.subject });

    const patched = await t.app.inject({ method: 'PATCH', url: `/api/email/campaigns/${c.id}`, headers: a.headers, payload: { preheader: 'Sale' } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ preheader: 'Sale', name: 'Spring', audience: { tags: ['vip'] } });

    const replaced = await t.app.inject({ method: 'PUT', url: `/api/email/campaigns/${c.id}`, headers: a.headers, payload: { name: 'Renamed' } });
    expect(replaced.json()).toMatchObject({ name: 'Renamed', preheader: null, html: '', audience: {} });

    const list = (await t.app.inject({ url: '/api/email/campaigns?status=draft', headers: a.headers })).json();
    expect(list.data.map((x: any) => x.id)).toContain(c.id);

    const del = await t.app.inject({ method: 'DELETE', url: `/api/email/campaigns/${c.id}`, headers: a.headers });
    expect(del.statusCode).toBe(204);
    expect((await t.app.inject({ url: `/api/email/campaigns/${c.id}`, headers: a.headers })).statusCode).toBe(404);
  });

  it("never shows, changes or deletes another organization's campaign (404, row unchanged)", async () => {
    const c = await create(a);
    for (const [method, payload] of [['GET'], ['PUT', { name: 'x' }], ['PATCH', { name: 'x' }], ['DELETE']] as const) {
      const res = await t.app.inject({ method, url: `/api/email/campaigns/${c.id}`, headers: b.headers, payload });
      expect(res.statusCode, method).toBe(404);
    }
    expect((await t.app.inject({ url: '/api/email/campaigns', headers: b.headers })).json().data).toEqual([]);
    expect((await t.app.inject({ url: `/api/email/campaigns/${c.id}`, headers: a.headers })).json().name).toBe('Spring');
    expect((await t.app.inject({ url: '/api/email/campaigns/not-a-uuid', headers: a.headers })).statusCode).toBe(404);
  });

  it('rejects Liquid syntax errors, unknown filters, unknown keys and bad addresses with 400', async () => {
    const cases = [
      { ...body, html: '<p>{{ customer.firstName </p>' },
      { ...body, subject: '{% if x %}no end' },
      { ...body, text: '{{ customer.firstName | nosuchfilter }}' },
      { ...body, status: 'sent' },
      { ...body, organizationId: b.organizationId },
      { ...body, fromEmail: 'not an address' },
      { ...body, audience: { tags: ['x'], everyone: true } },
    ];
    for (const payload of cases) {
      const res = await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: a.headers, payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(400);
      expect(res.json().code).toBe('validation_failed');
    }
    const c = await create(a);
    const bad = await t.app.inject({ method: 'PATCH', url: `/api/email/campaigns/${c.id}`, headers: a.headers, payload: { html: '{% for %}' } });
    expect(bad.statusCode).toBe(400);
    expect(bad.json().details[0].message).toMatch(/Invalid Liquid template/);
  });

  it('refuses to edit or delete a campaign that is sending or sent (409)', async () => {
    for (const status of ['sending', 'sent'] as const) {
      const c = await create(a);
      await t.db.withTenant(a.organizationId, (tx) => tx.execute(sql.raw(`update email_campaigns set status = '${status}' where id = '${c.id}'`)));
      const put = await t.app.inject({ method: 'PUT', url: `/api/email/campaigns/${c.id}`, headers: a.headers, payload: { name: 'late' } });
      expect(put.statusCode).toBe(409);
      const patch = await t.app.inject({ method: 'PATCH', url: `/api/email/campaigns/${c.id}`, headers: a.headers, payload: { name: 'late' } });
      expect(patch.statusCode).toBe(409);
      const del = await t.app.inject({ method: 'DELETE', url: `/api/email/campaigns/${c.id}`, headers: a.headers });
      expect(del.statusCode).toBe(409);
      const after = (await t.app.inject({ url: `/api/email/campaigns/${c.id}`, headers: a.headers })).json();
      expect(after).toMatchObject({ name: 'Spring', status });
      // Another organization still sees nothing, not a conflict.
      expect((await t.app.inject({ method: 'DELETE', url: `/api/email/campaigns/${c.id}`, headers: b.headers })).statusCode).toBe(404);
    }
  });
});
