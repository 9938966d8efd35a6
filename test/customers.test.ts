import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'a');
  b = await signUpWithOrg(t.app, 'b');
});
afterAll(() => t?.close());

describe('customers', () => {
  it('keeps the same address in two organizations as two customers, each seeing only its own', async () => {
    const ca = await createCustomer(t.app, a.headers, { email: 'Shared@Example.com', firstName: 'Ann', emailOptIn: true });
    const cb = await createCustomer(t.app, b.headers, { email: 'shared@example.com', firstName: 'Ben' });
    expect(ca.id).not.toBe(cb.id);
    const listA = (await t.app.inject({ url: '/api/customers', headers: a.headers })).json();
    expect(listA.data.map((c: any) => c.id)).toEqual([ca.id]);
    const dup = await t.app.inject({ method: 'POST', url: '/api/customers', headers: a.headers, payload: { email: 'SHARED@example.com' } });
    expect(dup.statusCode).toBe(409);
    expect(dup.json()).toMatchObject({ code: 'conflict' });
  });

  it('paginates with cursors without skipping or repeating rows', async () => {
    const key = await createApiKey(t.app, a, 'member');
    for (let i = 0; i < 7; i++) await createCustomer(t.app, key.headers, { email: `page${i}@example.com` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await t.app.inject({ url: `/api/customers?limit=3${cursor ? `&cursor=${cursor}` : ''}`, headers: key.headers });
      expect(res.statusCode).toBe(200);
      const page: any = res.json();
      seen.push(...page.data.map((c: any) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(8);
  });

  it('rejects unknown keys, bad values and bad cursors with 400 and the contract shape', async () => {
    const extra = await t.app.inject({ method: 'POST', url: '/api/customers', headers: a.headers, payload: { email: 'x@example.com', organizationId: b.organizationId } });
    expect(extra.statusCode).toBe(400);
    expect(extra.json()).toMatchObject({ error: 'Validation failed', code: 'validation_failed' });
    const noContact = await t.app.inject({ method: 'POST', url: '/api/customers', headers: a.headers, payload: { firstName: 'Nobody' } });
    expect(noContact.statusCode).toBe(400);
    const cursor = await t.app.inject({ url: '/api/customers?cursor=garbage', headers: a.headers });
    expect(cursor.statusCode).toBe(400);
    const limit = await t.app.inject({ url: '/api/customers?limit=201', headers: a.headers });
    expect(limit.statusCode).toBe(400);
  });

  it('supports PUT (replace) and PATCH (partial) and filters', async () => {
    const c = await createCustomer(t.app, a.headers, { email: 'edit@example.com', firstName: 'E', lastName: 'Dit', tags: ['vip'], smsOptIn: true, phone: '+15550001' });
    const patched = await t.app.inject({ method: 'PATCH', url: `/api/customers/${c.id}`, headers: a.headers, payload: { firstName: 'Ed' } });
    expect(patched.json()).toMatchObject({ firstName: 'Ed', lastName: 'Dit', tags: ['vip'] });
    const vip = (await t.app.inject({ url: '/api/customers?tag=vip&smsOptIn=true', headers: a.headers })).json();
    expect(vip.data.map((x: any) => x.id)).toEqual([c.id]);
    const replaced = await t.app.inject({ method: 'PUT', url: `/api/customers/${c.id}`, headers: a.headers, payload: { email: 'edit@example.com' } });
    expect(replaced.json()).toMatchObject({ firstName: null, lastName: null, tags: [], smsOptIn: false });
    const q = (await t.app.inject({ url: '/api/customers?q=edit%40', headers: a.headers })).json();
    expect(q.data).toHaveLength(1);
  });
});

describe('attribute limits', () => {
  const nested = (levels: number, open = '{"a":', close = '}') => `${open.repeat(levels)}1${close.repeat(levels)}`;
  const send = (method: 'POST' | 'PUT' | 'PATCH', url: string, attributes: string) =>
    t.app.inject({ method, url, headers: { ...a.headers, 'content-type': 'application/json' }, payload: `{"email":"deep@example.com","attributes":${attributes}}` });

  it('answers 6,000 levels of nested attributes with a clear 400 on POST, PUT and PATCH, writing nothing', async () => {
    const existing = await createCustomer(t.app, a.headers, { email: 'shallow@example.com', attributes: { plan: 'pro' } });
    for (const [method, url] of [['POST', '/api/customers'], ['PUT', `/api/customers/${existing.id}`], ['PATCH', `/api/customers/${existing.id}`]] as const) {
      const res = await send(method, url, nested(6000));
      expect(res.statusCode, `${method} ${res.body.slice(0, 200)}`).toBe(400);
      expect(res.json()).toMatchObject({ code: 'validation_failed', details: [{ in: 'body', path: 'attributes', message: expect.stringMatching(/levels deep/) }] });
    }
    // As deep as a 1 MB body allows, as objects and as arrays: still a 400.
    for (const deep of [nested(150_000), `{"a":${nested(400_000, '[', ']')}}`]) {
      const res = await send('POST', '/api/customers', deep);
      expect(res.statusCode, res.body.slice(0, 200)).toBe(400);
    }
    expect((await t.app.inject({ url: '/api/customers?q=deep%40example.com', headers: a.headers })).json().data).toHaveLength(0);
    expect((await t.app.inject({ url: `/api/customers/${existing.id}`, headers: a.headers })).json().attributes).toEqual({ plan: 'pro' });
    // Reasonable nesting still works.
    const ok = await send('PATCH', `/api/customers/${existing.id}`, nested(10));
    expect(ok.statusCode, ok.body).toBe(200);
  });

  it('counts attribute size in UTF-8 bytes (16 KiB)', async () => {
    const big = await t.app.inject({ method: 'POST', url: '/api/customers', headers: a.headers, payload: { email: 'wide@example.com', attributes: { note: 'é'.repeat(9000) } } });
    expect(big.statusCode).toBe(400);
    expect(big.json().details[0].message).toMatch(/16384 bytes/);
  });
});
