// The development mailbox (GET /api/auth/dev-mail): without SMTP_URL, account mail lands in
// DATA_DIR/outbox/_account; a signed-in person reads the mail addressed to them, and nobody else's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressedTo } from '../src/modules/auth/dev-mail.js';
import { createApiKey, createTestApp, invite, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'ada');
  b = await signUpWithOrg(t.app, 'bob');
  await invite(t.app, a, b.email, 'member');
});
afterAll(async () => {
  await t?.close();
});

const list = async (who: Actor) => {
  const res = await t.app.inject({ url: '/api/auth/dev-mail', headers: who.headers });
  expect(res.statusCode).toBe(200);
  return res.json() as { data: { id: string; to: string; subject: string; date: string }[]; nextCursor: string | null };
};

describe('GET /api/auth/dev-mail', () => {
  it("lists only the signed-in user's own account mail, newest first", async () => {
    const mineA = await list(a);
    expect(mineA.data.map((m) => m.subject)).toEqual(['Confirm your email address']);
    expect(mineA.data.every((m) => m.to === a.email)).toBe(true);
    const mineB = await list(b);
    expect(mineB.data.map((m) => m.subject)).toEqual([`You are invited to join Org ada`, 'Confirm your email address']);
    expect(mineB.data.every((m) => m.to === b.email)).toBe(true);
    expect(Date.parse(mineB.data[0].date)).toBeGreaterThanOrEqual(Date.parse(mineB.data[1].date));
  });

  it('pages with the usual cursor', async () => {
    const first = await t.app.inject({ url: '/api/auth/dev-mail?limit=1', headers: b.headers });
    expect(first.json().data).toHaveLength(1);
    const next = await t.app.inject({ url: `/api/auth/dev-mail?limit=1&cursor=${encodeURIComponent(first.json().nextCursor)}`, headers: b.headers });
    expect(next.json().data.map((m: { subject: string }) => m.subject)).toEqual(['Confirm your email address']);
    expect(next.json().nextCursor).toBeNull();
  });

  it("reads one's own message raw (with its link) and answers 404 for anyone else's", async () => {
    const [invitation] = (await list(b)).data;
    const own = await t.app.inject({ url: `/api/auth/dev-mail/${invitation.id}`, headers: b.headers });
    expect(own.statusCode).toBe(200);
    expect(own.headers['content-type']).toMatch(/^message\/rfc822/);
    expect(own.headers['content-disposition']).toMatch(/^attachment/);
    expect(own.body).toMatch(/invitations\/accept\?token=/);
    const other = await t.app.inject({ url: `/api/auth/dev-mail/${invitation.id}`, headers: a.headers });
    expect(other.statusCode).toBe(404);
    expect(other.json()).toEqual({ error: 'Not found', code: 'not_found' });
    expect(other.body).not.toMatch(/token/);
    expect((await t.app.inject({ url: '/api/auth/dev-mail/..%2F..%2Fetc%2Fpasswd', headers: a.headers })).statusCode).toBe(404);
  });

  it('needs a signed-in person: no credential 401, an API key 403', async () => {
    expect((await t.app.inject({ url: '/api/auth/dev-mail' })).statusCode).toBe(401);
    const key = await createApiKey(t.app, a);
    expect((await t.app.inject({ url: '/api/auth/dev-mail', headers: key.headers })).statusCode).toBe(403);
  });

  it('is off (404, in words) when SMTP_URL sends account mail for real', async () => {
    const smtp = await createTestApp({ config: { email: { ...testConfig().email, smtpUrl: 'smtp://127.0.0.1:9' } } });
    try {
      const c = await signUpWithOrg(smtp.app, 'carol');
      const res = await smtp.app.inject({ url: '/api/auth/dev-mail', headers: c.headers });
      expect(res.statusCode).toBe(404);
      expect(res.json().error).toMatch(/development mailbox is off/);
    } finally {
      await smtp.close();
    }
  });

  it('matches the To address exactly, bare or with a name', () => {
    expect(addressedTo('ada@example.test', 'Ada@Example.test')).toBe(true);
    expect(addressedTo('"Ada L" <ada@example.test>', 'ada@example.test')).toBe(true);
    expect(addressedTo('ada@example.test.evil', 'ada@example.test')).toBe(false);
    expect(addressedTo('bob@example.test, ada@example.test', 'ada@example.test')).toBe(false);
  });
});
