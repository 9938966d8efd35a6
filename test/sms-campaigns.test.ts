import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/db/index.js';
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

const url = '/api/sms/campaigns';

async function createCampaign(actor: { headers: Record<string, string> }, body: Record<string, unknown>) {
  const res = await t.app.inject({ method: 'POST', url, headers: actor.headers, payload: body });
  if (res.statusCode !== 201) throw new Error(`create sms campaign failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** The row as stored, read inside its own organization (bypassing the API). */
async function storedRow(orgId: string, id: string) {
  const c = schema.smsCampaigns;
  const [row] = await t.db.withTenant(orgId, (tx) => tx.select().from(c).where(and(eq(c.organizationId, orgId), eq(c.id, id))));
  return row;
}

async function setStatus(orgId: string, id: string, status: 'sending' | 'sent' | 'draft') {
  const c = schema.smsCampaigns;
  await t.db.withTenant(orgId, (tx) => tx.update(c).set({ status }).where(and(eq(c.organizationId, orgId), eq(c.id, id))));
}

describe('sms campaigns', () => {
  it('creates a draft with the contract shape and zero stats, carrying the creator organization', async () => {
    const c = await createCampaign(a, { name: 'Spring sale', body: 'Hello! Reply STOP to opt out.', audience: { tags: ['vip'] } });
    expect(c).toMatchObject({
      name: 'Spring sale',
      body: 'Hello! Reply STOP to opt out.',
      audience: { tags: ['vip'] },
      status: 'draft',
      scheduledAt: null,
      sentAt: null,
      stats: { recipients: 0, sent: 0, delivered: 0, failed: 0, optedOut: 0 },
    });
    expect(new Date(c.createdAt).toISOString()).toBe(c.createdAt);
    expect((await storedRow(a.organizationId, c.id))?.organizationId).toBe(a.organizationId);
  });

  it('rejects an organizationId in the body (strict body) and writes nothing into the other organization', async () => {
    const res = await t.app.inject({ method: 'POST', url, headers: a.headers, payload: { name: 'Sneaky', organizationId: b.organizationId } });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: 'validation_failed' });
    const listB = (await t.app.inject({ url, headers: b.headers })).json();
    expect(listB.data.find((c: any) => c.name === 'Sneaky')).toBeUndefined();
    const listA = (await t.app.inject({ url, headers: a.headers })).json();
    expect(listA.data.find((c: any) => c.name === 'Sneaky')).toBeUndefined();
  });

  it('validates the body: SMS body at most 1600 characters, sending statuses not settable, scheduled needs a time', async () => {
    const ok = await t.app.inject({ method: 'POST', url, headers: a.headers, payload: { name: 'Long', body: 'x'.repeat(1600) } });
    expect(ok.statusCode).toBe(201);
    const tooLong = await t.app.inject({ method: 'POST', url, headers: a.headers, payload: { name: 'Too long', body: 'x'.repeat(1601) } });
    expect(tooLong.statusCode).toBe(400);
    expect(tooLong.json().details[0]).toMatchObject({ in: 'body', path: 'body' });
    const sent = await t.app.inject({ method: 'POST', url, headers: a.headers, payload: { name: 'Fake', status: 'sent' } });
    expect(sent.statusCode).toBe(400);
    const noName = await t.app.inject({ method: 'POST', url, headers: a.headers, payload: { body: 'hi' } });
    expect(noName.statusCode).toBe(400);
    const unscheduled = await t.app.inject({ method: 'POST', url, headers: a.headers, payload: { name: 'S', status: 'scheduled' } });
    expect(unscheduled.statusCode).toBe(400);
    const at = '2030-01-02T03:04:05.000Z';
    const scheduled = await createCampaign(a, { name: 'S', status: 'scheduled', scheduledAt: at });
    expect(scheduled).toMatchObject({ status: 'scheduled', scheduledAt: at });
    // PATCH to scheduled after clearing the time is refused and leaves the row as it was.
    const clear = await t.app.inject({ method: 'PATCH', url: `${url}/${scheduled.id}`, headers: a.headers, payload: { scheduledAt: null } });
    expect(clear.statusCode).toBe(400);
    expect((await storedRow(a.organizationId, scheduled.id)).scheduledAt?.toISOString()).toBe(at);
    const badTag = await t.app.inject({ method: 'POST', url, headers: a.headers, payload: { name: 'T', audience: { tags: ['ok'], segment: 'x' } } });
    expect(badTag.statusCode).toBe(400);
  });

  it('each organization sees only its own campaigns; a foreign id reads, updates and deletes as 404 with the row unchanged', async () => {
    const mine = await createCampaign(a, { name: 'A only', body: 'from A' });
    const theirs = await createCampaign(b, { name: 'B only', body: 'from B' });
    const listA = (await t.app.inject({ url: `${url}?limit=200`, headers: a.headers })).json();
    const listB = (await t.app.inject({ url: `${url}?limit=200`, headers: b.headers })).json();
    expect(listA.data.map((c: any) => c.id)).toContain(mine.id);
    expect(listA.data.map((c: any) => c.id)).not.toContain(theirs.id);
    expect(listB.data.map((c: any) => c.id)).toEqual([theirs.id]);

    const before = await storedRow(b.organizationId, theirs.id);
    const key = await createApiKey(t.app, a, 'admin');
    for (const headers of [a.headers, key.headers]) {
      const attempts = [
        t.app.inject({ url: `${url}/${theirs.id}`, headers }),
        t.app.inject({ method: 'PUT', url: `${url}/${theirs.id}`, headers, payload: { name: 'hijacked', body: 'x' } }),
        t.app.inject({ method: 'PATCH', url: `${url}/${theirs.id}`, headers, payload: { body: 'hijacked' } }),
        t.app.inject({ method: 'DELETE', url: `${url}/${theirs.id}`, headers }),
      ];
      for (const res of await Promise.all(attempts)) {
        expect(res.statusCode).toBe(404);
        expect(res.json()).toEqual({ error: 'Not found', code: 'not_found' });
      }
    }
    expect(await storedRow(b.organizationId, theirs.id)).toEqual(before);
    // A malformed id is a 404 too, never a 500.
    expect((await t.app.inject({ url: `${url}/not-a-uuid`, headers: a.headers })).statusCode).toBe(404);
  });

  it('supports PATCH (partial) and PUT (replace)', async () => {
    const c = await createCampaign(a, { name: 'Edit me', body: 'v1', audience: { tags: ['x'] } });
    const patched = await t.app.inject({ method: 'PATCH', url: `${url}/${c.id}`, headers: a.headers, payload: { body: 'v2' } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'Edit me', body: 'v2', audience: { tags: ['x'] } });
    const replaced = await t.app.inject({ method: 'PUT', url: `${url}/${c.id}`, headers: a.headers, payload: { name: 'Replaced' } });
    expect(replaced.statusCode).toBe(200);
    expect(replaced.json()).toMatchObject({ name: 'Replaced', body: '', audience: {}, status: 'draft' });
    expect(new Date(replaced.json().updatedAt).getTime()).toBeGreaterThanOrEqual(new Date(c.updatedAt).getTime());
  });

  it('refuses to edit or delete a campaign that is sending or sent with 409, leaving it unchanged', async () => {
    for (const status of ['sending', 'sent'] as const) {
      const c = await createCampaign(a, { name: `Locked ${status}`, body: 'original' });
      await setStatus(a.organizationId, c.id, status);
      const before = await storedRow(a.organizationId, c.id);
      const put = await t.app.inject({ method: 'PUT', url: `${url}/${c.id}`, headers: a.headers, payload: { name: 'changed', body: 'changed' } });
      const patch = await t.app.inject({ method: 'PATCH', url: `${url}/${c.id}`, headers: a.headers, payload: { body: 'changed' } });
      const del = await t.app.inject({ method: 'DELETE', url: `${url}/${c.id}`, headers: a.headers });
      for (const res of [put, patch, del]) {
        expect(res.statusCode).toBe(409);
        expect(res.json()).toMatchObject({ code: 'conflict', error: expect.any(String) });
      }
      expect(await storedRow(a.organizationId, c.id)).toEqual(before);
      // The other organization still gets 404 for the same locked campaign: existence is not revealed.
      const foreign = await t.app.inject({ method: 'PATCH', url: `${url}/${c.id}`, headers: b.headers, payload: { body: 'changed' } });
      expect(foreign.statusCode).toBe(404);
    }
    // Once it is editable again, the edit goes through: the 409 came from the status alone.
    const c = await createCampaign(a, { name: 'Unlocked', body: 'v1' });
    await setStatus(a.organizationId, c.id, 'sent');
    await setStatus(a.organizationId, c.id, 'draft');
    const ok = await t.app.inject({ method: 'PATCH', url: `${url}/${c.id}`, headers: a.headers, payload: { body: 'v2' } });
    expect(ok.statusCode).toBe(200);
    const gone = await t.app.inject({ method: 'DELETE', url: `${url}/${c.id}`, headers: a.headers });
    expect(gone.statusCode).toBe(204);
    expect(await storedRow(a.organizationId, c.id)).toBeUndefined();
    expect((await t.app.inject({ url: `${url}/${c.id}`, headers: a.headers })).statusCode).toBe(404);
  });

  it('filters by status and paginates with cursors without skipping or repeating rows', async () => {
    const org = await signUpWithOrg(t.app, 'pager');
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await createCampaign(org, { name: `P${i}` })).id);
    await setStatus(org.organizationId, ids[2], 'sent');
    await setStatus(org.organizationId, ids[5], 'sent');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.app.inject({ url: `${url}?limit=3${cursor ? `&cursor=${cursor}` : ''}`, headers: org.headers });
      expect(res.statusCode).toBe(200);
      const page: { data: { id: string }[]; nextCursor: string | null } = res.json();
      seen.push(...page.data.map((c) => c.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const sent = (await t.app.inject({ url: `${url}?status=sent`, headers: org.headers })).json();
    expect(sent.data.map((c: any) => c.id).sort()).toEqual([ids[2], ids[5]].sort());
    const drafts = (await t.app.inject({ url: `${url}?status=draft`, headers: org.headers })).json();
    expect(drafts.data).toHaveLength(5);
    expect((await t.app.inject({ url: `${url}?status=bogus`, headers: org.headers })).statusCode).toBe(400);
    expect((await t.app.inject({ url: `${url}?cursor=garbage`, headers: org.headers })).statusCode).toBe(400);
  });

  it('derives stats from message rows: recipients, sent, delivered, failed, opted out', async () => {
    const c = await createCampaign(a, { name: 'Stats', body: 'hi' });
    const other = await createCampaign(a, { name: 'Other', body: 'hi' });
    const statuses = ['queued', 'sent', 'delivered', 'delivered', 'undelivered', 'failed'];
    const people: { id: string; phone: string }[] = [];
    for (let i = 0; i < statuses.length; i++) {
      people.push(await createCustomer(t.app, a.headers, { phone: `+1555010${i}`, smsOptIn: i !== 3 }));
    }
    const m = schema.smsMessages;
    await t.db.withTenant(a.organizationId, async (tx) => {
      await tx.insert(m).values(
        statuses.map((status, i) => ({ organizationId: a.organizationId, campaignId: c.id, customerId: people[i].id, toPhone: people[i].phone, body: 'hi', status })),
      );
      // A message of another campaign must not count towards this one.
      await tx.insert(m).values({ organizationId: a.organizationId, campaignId: other.id, customerId: people[0].id, toPhone: people[0].phone, body: 'hi', status: 'delivered' });
    });
    const expected = { recipients: 6, sent: 4, delivered: 2, failed: 2, optedOut: 1 };
    expect((await t.app.inject({ url: `${url}/${c.id}`, headers: a.headers })).json().stats).toEqual(expected);
    const listed = (await t.app.inject({ url: `${url}?limit=200`, headers: a.headers })).json().data;
    expect(listed.find((x: any) => x.id === c.id).stats).toEqual(expected);
    expect(listed.find((x: any) => x.id === other.id).stats).toEqual({ recipients: 1, sent: 1, delivered: 1, failed: 0, optedOut: 0 });
    // Opting out later is reflected: stats are read, not stored.
    await t.app.inject({ method: 'PATCH', url: `/api/customers/${people[0].id}`, headers: a.headers, payload: { smsOptIn: false } });
    expect((await t.app.inject({ url: `${url}/${c.id}`, headers: a.headers })).json().stats.optedOut).toBe(2);
  });

  it('writes audit entries for create, update and delete in the same transaction', async () => {
    const c = await createCampaign(a, { name: 'Audited', body: 'v1' });
    await t.app.inject({ method: 'PATCH', url: `${url}/${c.id}`, headers: a.headers, payload: { body: 'v2' } });
    await t.app.inject({ method: 'DELETE', url: `${url}/${c.id}`, headers: a.headers });
    const res = await t.app.inject({ url: `/api/audit-log?resourceType=sms_campaign&resourceId=${c.id}`, headers: a.headers });
    expect(res.statusCode).toBe(200);
    const entries = res.json().data;
    expect(entries.map((e: any) => e.action)).toEqual(['sms_campaign.deleted', 'sms_campaign.updated', 'sms_campaign.created']);
    for (const e of entries) expect(e).toMatchObject({ actorType: 'user', actorId: a.userId, resourceId: c.id });
    expect(entries[1].changes).toEqual({ body: 'v2' });
    // A refused change (409) leaves no audit entry behind.
    const locked = await createCampaign(a, { name: 'Locked', body: 'v1' });
    await setStatus(a.organizationId, locked.id, 'sending');
    await t.app.inject({ method: 'PATCH', url: `${url}/${locked.id}`, headers: a.headers, payload: { body: 'v2' } });
    const lockedLog = (await t.app.inject({ url: `/api/audit-log?resourceId=${locked.id}`, headers: a.headers })).json().data;
    expect(lockedLog.map((e: any) => e.action)).toEqual(['sms_campaign.created']);
    // The other organization's audit log holds none of this.
    const bLog = (await t.app.inject({ url: `/api/audit-log?resourceId=${c.id}`, headers: b.headers })).json().data;
    expect(bLog).toEqual([]);
  });
});
