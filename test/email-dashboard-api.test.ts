import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiKey, createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

// Routes the dashboard needed: POST /api/email/audience/count (the editor's live recipient count, with
// the send's own condition) and GET /api/customers/:id/email-messages (the customer page's history).
let t: TestApp;
let a: Actor;
let b: Actor;
let campaignId: string;
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

describe('email routes for the dashboard', () => {
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
    campaignId = id;
  });

  it("lists the email a customer was sent, with the campaign and timeline; another organization's customer is a 404", async () => {
    const find = async (email: string) => (await t.app.inject({ url: `/api/customers?q=${email}`, headers: a.headers })).json().data[0].id as string;
    const n1 = await find('n1@example.com');
    await expect.poll(async () => (await t.app.inject({ url: `/api/customers/${n1}/email-messages`, headers: a.headers })).json().data[0]?.status, { timeout: 15_000 }).toBe('sent');
    const res = await t.app.inject({ url: `/api/customers/${n1}/email-messages`, headers: a.headers });
    expect(res.statusCode).toBe(200);
    const { data, nextCursor } = res.json();
    expect(nextCursor).toBeNull();
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ campaignId, campaignName: 'Count check', email: 'n1@example.com', customerId: n1, status: 'sent' });
    expect(data[0].timeline.map((e: { type: string }) => e.type)).toEqual(['queued', 'sent']);
    // Not in the audience: nothing sent.
    const plain = await find('plain@example.com');
    expect((await t.app.inject({ url: `/api/customers/${plain}/email-messages`, headers: a.headers })).json().data).toEqual([]);
    // B asking for A's customer, and a malformed id: not found.
    for (const url of [`/api/customers/${n1}/email-messages`, '/api/customers/not-a-uuid/email-messages']) {
      const other = await t.app.inject({ url, headers: b.headers });
      expect(other.statusCode, url).toBe(404);
      expect(other.json()).toEqual({ error: 'Not found', code: 'not_found' });
    }
  });

  it('refuses an invalid body and anyone without an organization', async () => {
    const bad = await t.app.inject({ method: 'POST', url: '/api/email/audience/count', headers: a.headers, payload: { tags: [''], organizationId: b.organizationId } });
    expect(bad.statusCode).toBe(400);
    expect((await t.app.inject({ method: 'POST', url: '/api/email/audience/count', payload: {} })).statusCode).toBe(401);
  });
});
