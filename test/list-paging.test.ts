// Every list speaks the contract's one shape, `?limit=&cursor=` → `{ data, nextCursor }` from the one
// keyset helper: the lists that gained it (API keys, members, invitations, sessions, a campaign's
// messages, the development outbox) are walked page by page here.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/db/index.js';
import { outboxDir } from '../src/modules/email/mailer.js';
import { addMember, createApiKey, createTestApp, invite, signUpWithOrg, TEST_PASSWORD, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

type Page = { data: { id: string }[]; nextCursor: string | null };

/** Walks a list `limit` at a time; returns the ids in order and the pages' sizes. */
async function walk(url: string, headers: Record<string, string>, limit: number) {
  const ids: string[] = [];
  const sizes: number[] = [];
  let cursor: string | null = null;
  do {
    const sep = url.includes('?') ? '&' : '?';
    const res = await t.app.inject({ url: `${url}${sep}limit=${limit}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, headers });
    expect(res.statusCode, res.body).toBe(200);
    const page: Page = res.json();
    expect(Object.keys(page).sort()).toEqual(['data', 'nextCursor']);
    ids.push(...page.data.map((x) => x.id));
    sizes.push(page.data.length);
    cursor = page.nextCursor;
  } while (cursor && sizes.length < 50);
  return { ids, sizes };
}

/** limit is 1..200 (default 50); a cursor that is not one of ours is a 400, never a 500. */
async function expectLimitBounds(url: string, headers: Record<string, string>) {
  for (const bad of ['0', '201', '-1', 'x']) {
    const res = await t.app.inject({ url: `${url}?limit=${bad}`, headers });
    expect(res.statusCode, `${url}?limit=${bad}`).toBe(400);
    expect(res.json().code).toBe('validation_failed');
  }
  for (const ok of ['1', '200']) expect((await t.app.inject({ url: `${url}?limit=${ok}`, headers })).statusCode, `${url}?limit=${ok}`).toBe(200);
  expect((await t.app.inject({ url: `${url}?cursor=garbage`, headers })).statusCode).toBe(400);
}

describe('list paging on every list', () => {
  let owner: Actor;
  let other: Actor;
  beforeAll(async () => {
    owner = await signUpWithOrg(t.app, 'pager');
    other = await signUpWithOrg(t.app, 'pager-other');
  });

  it('API keys: newest first, two pages, the cursor of one organization shows nothing of another', async () => {
    const made: string[] = [];
    for (let i = 0; i < 3; i++) made.push((await createApiKey(t.app, owner)).id);
    await createApiKey(t.app, other);
    const { ids, sizes } = await walk('/api/api-keys', owner.headers, 2);
    expect(ids).toEqual([...made].reverse());
    expect(sizes).toEqual([2, 1]);
    const first = (await t.app.inject({ url: '/api/api-keys?limit=2', headers: owner.headers })).json();
    expect(first.data[0]).toMatchObject({ createdBy: { userId: owner.userId } });
    // Another organization following A's cursor pages through its own keys only.
    const theirs = (await t.app.inject({ url: `/api/api-keys?cursor=${first.nextCursor}`, headers: other.headers })).json();
    expect(theirs.data.map((k: any) => k.id)).not.toEqual(expect.arrayContaining([made[0]]));
    await expectLimitBounds('/api/api-keys', owner.headers);
  });

  it('members: oldest first (the owner leads), paged; invitations are their own paged list', async () => {
    const org = await signUpWithOrg(t.app, 'members-pager');
    const m1 = await addMember(t.app, org, 'member', 'pm1');
    const m2 = await addMember(t.app, org, 'admin', 'pm2');
    const { ids, sizes } = await walk('/api/organizations/current/members', org.headers, 2);
    expect(sizes).toEqual([2, 1]);
    const page = (await t.app.inject({ url: '/api/organizations/current/members?limit=200', headers: org.headers })).json();
    expect(page.data.map((m: any) => m.userId)).toEqual([org.userId, m1.userId, m2.userId]);
    expect(page.data.map((m: any) => m.id)).toEqual(ids);
    expect(page.data[1]).toMatchObject({ email: m1.email, role: 'member' });
    expect(page).not.toHaveProperty('invitations');
    await expectLimitBounds('/api/organizations/current/members', org.headers);

    const pending: string[] = [];
    for (let i = 0; i < 3; i++) pending.push((await invite(t.app, org, `pending-${i}-${randomUUID()}@example.com`, 'member')).invitation.id);
    const inv = await walk('/api/organizations/current/invitations', org.headers, 2);
    expect(inv.ids).toEqual(pending);
    expect(inv.sizes).toEqual([2, 1]);
    // Another organization sees none of them.
    expect((await t.app.inject({ url: '/api/organizations/current/invitations', headers: other.headers })).json()).toEqual({ data: [], nextCursor: null });
    await expectLimitBounds('/api/organizations/current/invitations', org.headers);
  });

  it('sessions: newest first, paged, only the signed-in user’s', async () => {
    const cookies: string[] = [];
    for (let i = 0; i < 2; i++) {
      const res = await t.app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: { email: owner.email, password: TEST_PASSWORD } });
      expect(res.statusCode, res.body).toBe(200);
      cookies.push(String(res.headers['set-cookie']).split(';')[0]);
    }
    const { ids, sizes } = await walk('/api/auth/sessions', owner.headers, 2);
    expect(sizes).toEqual([2, 1]);
    const all = (await t.app.inject({ url: '/api/auth/sessions', headers: owner.headers })).json();
    expect(all.data.map((s: any) => s.id)).toEqual(ids);
    // The newest is the last sign-in; the oldest is the session the caller pages with.
    expect(all.data[2].current).toBe(true);
    const latest = (await t.app.inject({ url: '/api/auth/sessions', headers: { cookie: cookies[1] } })).json();
    expect(latest.data[0].current).toBe(true);
    expect((await t.app.inject({ url: '/api/auth/sessions', headers: other.headers })).json().data.map((s: any) => s.id)).not.toEqual(expect.arrayContaining(ids));
    await expectLimitBounds('/api/auth/sessions', owner.headers);
  });

  it("a campaign's messages: oldest first, paged without skipping or repeating rows that share a timestamp", async () => {
    const org = await signUpWithOrg(t.app, 'messages-pager');
    const c = (await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: org.headers, payload: { name: 'Paged' } })).json();
    // Five rows, three of them in the same microsecond: the id breaks the tie.
    const at = ['2026-01-01T00:00:00.000001Z', '2026-01-01T00:00:01Z', '2026-01-01T00:00:01Z', '2026-01-01T00:00:01Z', '2026-01-01T00:00:02Z'];
    const rows = await t.db.withTenant(org.organizationId, (tx) =>
      tx.insert(schema.emailMessages)
        .values(at.map((createdAt, i) => ({ organizationId: org.organizationId, campaignId: c.id, toEmail: `m${i}@example.com`, createdAt: new Date(createdAt) })))
        .returning({ id: schema.emailMessages.id, createdAt: schema.emailMessages.createdAt }),
    );
    const expected = [...rows].sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime() || (x.id < y.id ? -1 : 1)).map((r) => r.id);
    const url = `/api/email/campaigns/${c.id}/messages`;
    const { ids, sizes } = await walk(url, org.headers, 2);
    expect(ids).toEqual(expected);
    expect(sizes).toEqual([2, 2, 1]);
    const one = await walk(url, org.headers, 1);
    expect(one.ids).toEqual(expected);
    await expectLimitBounds(url, org.headers);
    expect((await t.app.inject({ url, headers: other.headers })).statusCode).toBe(404);
  });

  it('the development outbox: newest first, paged by file', async () => {
    const org = await signUpWithOrg(t.app, 'outbox-pager');
    const dir = outboxDir(t.config, org.organizationId);
    mkdirSync(dir, { recursive: true });
    const names: string[] = [];
    for (let i = 0; i < 3; i++) {
      const name = `${1_800_000_000_000 + i}-${randomUUID()}.eml`;
      writeFileSync(path.join(dir, name), `To: r${i}@example.com\r\nSubject: Hello ${i}\r\n\r\nBody\r\n`);
      names.push(name);
    }
    const { ids, sizes } = await walk('/api/email/outbox', org.headers, 2);
    expect(ids).toEqual([...names].reverse());
    expect(sizes).toEqual([2, 1]);
    const page = (await t.app.inject({ url: '/api/email/outbox?limit=1', headers: org.headers })).json();
    expect(page.data[0]).toMatchObject({ to: 'r2@example.com', subject: 'Hello 2' });
    // A cursor naming no message of this organization's outbox is refused.
    expect((await t.app.inject({ url: `/api/email/outbox?cursor=${page.nextCursor}`, headers: other.headers })).statusCode).toBe(400);
    await expectLimitBounds('/api/email/outbox', org.headers);
  });
});
