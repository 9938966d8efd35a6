import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

// POST /api/email/audience/count: the live recipient count of the campaign editor. It uses the send's
// own condition, so it counts exactly whom a send would reach, in the caller's organization only.
let t: TestApp;
let a: Actor;
let b: Actor;
beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'count-a');
  b = await signUpWithOrg(t.app, 'count-b');
});
afterAll(() => t?.close());

const count = async (who: Record<string, string>, tags?: string[]) => {
  const res = await t.app.inject({ method: 'POST', url: '/api/email/audience/count', headers: who, payload: tags ? { tags } : {} });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().recipients as number;
};

describe('email audience count', () => {
  it('counts opted-in, active, unsuppressed customers with any of the tags, and a send reaches exactly them', async () => {
    await createCustomer(t.app, a.headers, { email: 'n1@example.com', emailOptIn: true, tags: ['newsletter'] });
    await createCustomer(t.app, a.headers, { email: 'v1@example.com', emailOptIn: true, tags: ['vip'] });
    await createCustomer(t.app, a.headers, { email: 'plain@example.com', emailOptIn: true });
    await createCustomer(t.app, a.headers, { email: 'no@example.com', emailOptIn: false, tags: ['newsletter'] });
    await createCustomer(t.app, a.headers, { phone: '+4791234567', emailOptIn: true, tags: ['newsletter'] });
    await createCustomer(t.app, a.headers, { email: 'gone@example.com', emailOptIn: true, tags: ['newsletter'] });
    const sup = await t.app.inject({ method: 'POST', url: '/api/suppressions', headers: a.headers, payload: { address: 'GONE@example.com' } });
    expect(sup.statusCode).toBe(201);
    // B's customers carry the same tags and never count for A.
    for (let i = 0; i < 3; i++) await createCustomer(t.app, b.headers, { email: `b${i}@example.com`, emailOptIn: true, tags: ['newsletter', 'vip'] });

    expect(await count(a.headers, ['newsletter'])).toBe(1);
    expect(await count(a.headers, ['newsletter', 'vip'])).toBe(2);
    expect(await count(a.headers, [])).toBe(3);
    expect(await count(a.headers)).toBe(3);
    expect(await count(a.headers, ['nobody'])).toBe(0);
    expect(await count(b.headers, ['newsletter'])).toBe(3);
    const key = await createApiKey(t.app, a, 'member');
    expect(await count(key.headers, ['vip'])).toBe(1);

    const created = await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: a.headers, payload: { name: 'Count check', subject: 'Hi', html: '<p>Hi</p>', audience: { tags: ['newsletter', 'vip'] } } });
    expect(created.statusCode).toBe(201);
    const id = created.json().id;
    expect((await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${id}/send`, headers: a.headers })).statusCode).toBe(202);
    await expect
      .poll(async () => (await t.app.inject({ url: `/api/email/campaigns/${id}`, headers: a.headers })).json().stats.recipients, { timeout: 15_000 })
      .toBe(2);
  });

  it('refuses an invalid body and anyone without an organization', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/api/email/audience/count', headers: a.headers, payload: { tags: [''], organizationId: b.organizationId } });
    expect(bad.statusCode).toBe(400);
    expect((await t.app.inject({ method: 'POST', url: '/api/email/audience/count', payload: {} })).statusCode).toBe(401);
  });
});
