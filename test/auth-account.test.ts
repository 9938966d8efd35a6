/**
 * Issue 6, account flows: sign-in throttling a stranger cannot turn into a lockout, password reset
 * and change, common passwords, the user's sessions, and the __Host- cookie over https.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cookieFrom, createTestApp, RESET_TOKEN, signUpWithOrg, TEST_PASSWORD, tokenFromMail, accountMailTo, type TestApp } from './helpers.js';

let t: TestApp;
const NEW_PASSWORD = 'a brand new passphrase';
const post = (app: TestApp, url: string, payload?: unknown, opts: { headers?: Record<string, string>; remoteAddress?: string } = {}) =>
  app.app.inject({ method: 'POST', url, headers: opts.headers ?? {}, remoteAddress: opts.remoteAddress, ...(payload !== undefined && { payload: payload as any }) });
const signIn = (app: TestApp, email: string, password: string, remoteAddress = '127.0.0.1') => post(app, '/api/auth/sign-in', { email, password }, { remoteAddress });
const sessionStatus = async (headers: Record<string, string>) => (await t.app.inject({ url: '/api/auth/session', headers })).statusCode;

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

describe('sign-in throttling cannot lock the owner out', () => {
  it('reproduction: an attacker failing many times from one address does not stop the owner signing in from another', async () => {
    const app = await createTestApp({ config: { signIn: { maxPerAccount: 10, maxPerIp: 1000, windowSeconds: 900, accountBackoffAfter: 100, backoffSeconds: 30 } } });
    try {
      const owner = await signUpWithOrg(app.app, 'locked');
      for (let i = 0; i < 15; i++) expect([401, 429]).toContain((await signIn(app, owner.email, 'wrong password!', '198.51.100.66')).statusCode);
      expect((await signIn(app, owner.email, TEST_PASSWORD, '198.51.100.66')).statusCode).toBe(429);
      const ok = await signIn(app, owner.email, TEST_PASSWORD, '203.0.113.10');
      expect(ok.statusCode, ok.body).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('past the account-wide threshold every address is slowed to one attempt per backoff, but a fresh address always gets its attempt', async () => {
    const app = await createTestApp({ config: { signIn: { maxPerAccount: 3, maxPerIp: 1000, windowSeconds: 900, accountBackoffAfter: 6, backoffSeconds: 60 } } });
    try {
      const owner = await signUpWithOrg(app.app, 'backoff');
      // A spray from many addresses passes the account-wide threshold.
      for (let i = 0; i < 8; i++) expect((await signIn(app, owner.email, 'wrong password!', `192.0.2.${i}`)).statusCode).toBe(401);
      // Now one attempt per address per minute: the second wrong guess from a new address is held back.
      expect((await signIn(app, owner.email, 'wrong password!', '192.0.2.100')).statusCode).toBe(401);
      const held = await signIn(app, owner.email, 'wrong password!', '192.0.2.100');
      expect(held.statusCode).toBe(429);
      expect(Number(held.headers['retry-after'])).toBeGreaterThan(0);
      expect(Number(held.headers['retry-after'])).toBeLessThanOrEqual(60);
      // The owner, from an address that has not just tried, gets in.
      expect((await signIn(app, owner.email, TEST_PASSWORD, '203.0.113.20')).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('passwords', () => {
  it('refuses common passwords (case-insensitively) at sign-up with a clear 400', async () => {
    for (const password of ['password123', 'QWERTYUIOP', 'iloveyou12']) {
      const res = await post(t, '/api/auth/sign-up', { email: `common-${password}@example.test`, password, name: 'C' });
      expect(res.statusCode).toBe(400);
      expect(res.json()).toMatchObject({ code: 'validation_failed', details: [{ path: 'password', message: expect.stringMatching(/common passwords/) }] });
    }
  });

  it('reset: the same 202 whatever the address; the mailed token sets a new password once and ends every session', async () => {
    const owner = await signUpWithOrg(t.app, 'reset');
    const other = await post(t, '/api/auth/sign-in', { email: owner.email, password: TEST_PASSWORD });
    const otherHeaders = { cookie: cookieFrom(other) };
    const known = await post(t, '/api/auth/password-reset', { email: owner.email.toUpperCase() });
    const unknown = await post(t, '/api/auth/password-reset', { email: 'nobody-here@example.test' });
    expect(known.statusCode).toBe(202);
    expect(unknown.statusCode).toBe(202);
    expect(known.body).toBe(unknown.body);
    const token = await tokenFromMail(t.app, owner.email, RESET_TOKEN);
    expect(accountMailTo(t.app, 'nobody-here@example.test')).toEqual([]);

    const weak = await post(t, '/api/auth/password-reset/confirm', { token, password: 'password123' });
    expect(weak.statusCode).toBe(400);
    expect(weak.json().code).toBe('validation_failed');
    const res = await post(t, '/api/auth/password-reset/confirm', { token, password: NEW_PASSWORD });
    expect(res.statusCode, res.body).toBe(204);
    expect(await sessionStatus(owner.headers)).toBe(401);
    expect(await sessionStatus(otherHeaders)).toBe(401);
    expect((await post(t, '/api/auth/password-reset/confirm', { token, password: 'yet another passphrase' })).statusCode).toBe(400);
    expect((await signIn(t, owner.email, TEST_PASSWORD)).statusCode).toBe(401);
    expect((await signIn(t, owner.email, NEW_PASSWORD)).statusCode).toBe(200);
  });

  it('an address squatted by an unconfirmed sign-up is taken back by its owner through a reset: confirmed, squatter signed out', async () => {
    const addr = `squatted-${Date.now()}@example.test`;
    const squat = await post(t, '/api/auth/sign-up', { email: addr, password: 'squatter passphrase', name: 'Squatter' });
    const squatter = { cookie: cookieFrom(squat) };
    expect((await post(t, '/api/auth/password-reset', { email: addr })).statusCode).toBe(202);
    const token = await tokenFromMail(t.app, addr, RESET_TOKEN);
    expect((await post(t, '/api/auth/password-reset/confirm', { token, password: NEW_PASSWORD })).statusCode).toBe(204);
    expect(await sessionStatus(squatter)).toBe(401);
    expect((await signIn(t, addr, 'squatter passphrase')).statusCode).toBe(401);
    const mine = { cookie: cookieFrom(await signIn(t, addr, NEW_PASSWORD)) };
    expect((await t.app.inject({ url: '/api/auth/session', headers: mine })).json().user.emailVerified).toBe(true);
  });

  it('change: the current password is required; other sessions end, this one stays', async () => {
    const owner = await signUpWithOrg(t.app, 'change');
    const other = { cookie: cookieFrom(await signIn(t, owner.email, TEST_PASSWORD)) };
    const wrong = await post(t, '/api/auth/password', { currentPassword: 'not the password', newPassword: NEW_PASSWORD }, { headers: owner.headers });
    expect(wrong.statusCode).toBe(401);
    const weak = await post(t, '/api/auth/password', { currentPassword: TEST_PASSWORD, newPassword: '1234567890' }, { headers: owner.headers });
    expect(weak.statusCode).toBe(400);
    const ok = await post(t, '/api/auth/password', { currentPassword: TEST_PASSWORD, newPassword: NEW_PASSWORD }, { headers: owner.headers });
    expect(ok.statusCode, ok.body).toBe(204);
    expect(await sessionStatus(owner.headers)).toBe(200);
    expect(await sessionStatus(other)).toBe(401);
    expect((await signIn(t, owner.email, NEW_PASSWORD)).statusCode).toBe(200);
  });
});

describe('sessions', () => {
  it('lists the user’s sessions, revokes one, and signs out everywhere', async () => {
    const owner = await signUpWithOrg(t.app, 'sessions');
    const second = { cookie: cookieFrom(await signIn(t, owner.email, TEST_PASSWORD)) };
    const third = { cookie: cookieFrom(await signIn(t, owner.email, TEST_PASSWORD)) };
    const list = await t.app.inject({ url: '/api/auth/sessions', headers: owner.headers });
    expect(list.statusCode).toBe(200);
    const data = list.json().data;
    expect(data).toHaveLength(3);
    expect(data.filter((s: any) => s.current)).toHaveLength(1);
    expect(list.body).not.toMatch(/token/i);

    const secondId = (await t.app.inject({ url: '/api/auth/sessions', headers: second })).json().data.find((s: any) => s.current).id;
    expect((await t.app.inject({ method: 'DELETE', url: `/api/auth/sessions/${secondId}`, headers: owner.headers })).statusCode).toBe(204);
    expect(await sessionStatus(second)).toBe(401);
    // Another user's session id is simply not there.
    const stranger = await signUpWithOrg(t.app, 'sessions-stranger');
    const thirdId = (await t.app.inject({ url: '/api/auth/sessions', headers: third })).json().data.find((s: any) => s.current).id;
    expect((await t.app.inject({ method: 'DELETE', url: `/api/auth/sessions/${thirdId}`, headers: stranger.headers })).statusCode).toBe(404);
    expect(await sessionStatus(third)).toBe(200);

    const out = await post(t, '/api/auth/sign-out-everywhere', undefined, { headers: third });
    expect(out.statusCode).toBe(204);
    expect(await sessionStatus(third)).toBe(401);
    expect(await sessionStatus(owner.headers)).toBe(401);
    expect(await sessionStatus(stranger.headers)).toBe(200);
  });

  it('over https the cookie is __Host-sb_session, Secure, Path=/ and no Domain; the OpenAPI scheme names it', async () => {
    const app = await createTestApp({ config: { publicUrl: 'https://switchboard.example' } });
    try {
      const res = await post(app, '/api/auth/sign-up', { email: 'host@example.test', password: TEST_PASSWORD, name: 'H' });
      const raw = ([] as string[]).concat(res.headers['set-cookie'] as string[]).find((c) => c.includes('sb_session='))!;
      expect(raw).toMatch(/^__Host-sb_session=[^;]+;/);
      expect(raw).toMatch(/; Secure/i);
      expect(raw).toMatch(/; Path=\//i);
      expect(raw).not.toMatch(/Domain=/i);
      const value = raw.split(';')[0].split('=')[1];
      expect((await app.app.inject({ url: '/api/auth/session', headers: { cookie: `__Host-sb_session=${value}` } })).statusCode).toBe(200);
      // The plain name means nothing there.
      expect((await app.app.inject({ url: '/api/auth/session', headers: { cookie: `sb_session=${value}` } })).statusCode).toBe(401);
      const doc = (await app.app.inject({ url: '/api/openapi.json' })).json();
      expect(doc.components.securitySchemes.session.name).toBe('__Host-sb_session');
    } finally {
      await app.close();
    }
  });
});
