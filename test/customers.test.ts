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
