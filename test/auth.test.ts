/**
 * Accounts, sessions, CSRF, roles, invitations, API keys and the error model.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, cookieFrom, createApiKey, createCustomer, createTestApp, invite, signUpWithOrg, signUpWithoutOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
const PASSWORD = 'correct horse battery';
let n = 0;
const email = (label: string) => `${label}-${Date.now().toString(36)}-${++n}@auth.example`;

const signUp = (app: TestApp['app'], body: Record<string, unknown>, headers: Record<string, string> = {}) =>
  app.inject({ method: 'POST', url: '/api/auth/sign-up', payload: body, headers });
const signIn = (app: TestApp['app'], body: Record<string, unknown>, opts: { headers?: Record<string, string>; remoteAddress?: string } = {}) =>
  app.inject({ method: 'POST', url: '/api/auth/sign-in', payload: body, headers: opts.headers ?? {}, remoteAddress: opts.remoteAddress });
const session = (headers: Record<string, string>) => t.app.inject({ url: '/api/auth/session', headers });
const setCookieOf = (res: { headers: Record<string, unknown> }) => {
  const raw = res.headers['set-cookie'];
  return (Array.isArray(raw) ? raw : [raw]).find((c) => typeof c === 'string' && c.startsWith('sb_session=')) as string;
};

/** No 4xx/5xx body may carry a stack trace or internals. */
function expectNoLeak(res: { statusCode: number; body: string }) {
  expect(res.body).not.toMatch(/\bat .+\.(ts|js|mjs):\d+/);
  expect(res.body).not.toMatch(/"stack"|node_modules|\/work\/|\/src\//);
}
function expectErrorShape(res: { statusCode: number; body: string; json(): any }, status: number, code: string) {
  expect(res.statusCode, res.body).toBe(status);
  const body = res.json();
  expect(typeof body.error).toBe('string');
  expect(body.code).toBe(code);
  expectNoLeak(res);
}

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

describe('sign-up and sign-in', () => {
  it('signs up with an organization: the caller is its owner, with a session on it', async () => {
    const addr = email('with-org');
    const res = await signUp(t.app, { email: addr, password: PASSWORD, name: 'Ada', organizationName: 'Acme' });
    expect(res.statusCode).toBe(201);
    const body = res.json();
    expect(body.user).toMatchObject({ email: addr, name: 'Ada', emailVerified: false });
    expect(body.user.passwordHash).toBeUndefined();
    expect(body.organization).toMatchObject({ name: 'Acme', plan: 'free' });
    const s = (await session({ cookie: cookieFrom(res) })).json();
    expect(s).toMatchObject({ activeOrganizationId: body.organization.id, role: 'owner', organizations: [{ id: body.organization.id, name: 'Acme', role: 'owner' }] });
  });

  it('signs up without an organization: a session without one, 403 on organization routes', async () => {
    const res = await signUp(t.app, { email: email('no-org'), password: PASSWORD, name: 'Solo' });
    expect(res.statusCode).toBe(201);
    expect(res.json().organization).toBeNull();
    const cookie = cookieFrom(res);
    expect((await session({ cookie })).json()).toMatchObject({ activeOrganizationId: null, role: null, organizations: [] });
    const customers = await t.app.inject({ url: '/api/customers', headers: { cookie } });
    expect(customers.statusCode).toBe(403);
    expect(customers.json()).toEqual({ error: 'Forbidden - No organization', code: 'no_organization' });
    // ... and can create one, which becomes active.
    const org = await t.app.inject({ method: 'POST', url: '/api/organizations', headers: { cookie }, payload: { name: 'Later Ltd' } });
    expect(org.statusCode).toBe(201);
    expect((await session({ cookie })).json()).toMatchObject({ activeOrganizationId: org.json().id, role: 'owner' });
  });

  it('a duplicate email is a 409, case-insensitively', async () => {
    const addr = email('dup');
    expect((await signUp(t.app, { email: addr, password: PASSWORD, name: 'One' })).statusCode).toBe(201);
    for (const variant of [addr, addr.toUpperCase(), addr.replace(/^./, (c) => c.toUpperCase())]) {
      const res = await signUp(t.app, { email: variant, password: PASSWORD, name: 'Two' });
      expectErrorShape(res, 409, 'conflict');
    }
    const [row] = await t.db.owner.query<{ n: string }>('SELECT count(*)::text AS n FROM users WHERE lower(email) = lower($1)', [addr]);
    expect(row.n).toBe('1');
  });

  it('rejects weak or malformed sign-up bodies with 400', async () => {
    expectErrorShape(await signUp(t.app, { email: email('short'), password: 'short', name: 'X' }), 400, 'validation_failed');
    expectErrorShape(await signUp(t.app, { email: 'not-an-email', password: PASSWORD, name: 'X' }), 400, 'validation_failed');
    expectErrorShape(await signUp(t.app, { email: email('extra'), password: PASSWORD, name: 'X', role: 'owner' }), 400, 'validation_failed');
  });

  it('stores the password as argon2id with the OWASP parameters (m=19456, t=2, p=1), never in clear', async () => {
    const addr = email('argon');
    await signUp(t.app, { email: addr, password: PASSWORD, name: 'Argon' });
    const [row] = await t.db.owner.query<{ password_hash: string }>('SELECT password_hash FROM users WHERE email = $1', [addr]);
    expect(row.password_hash.startsWith('$argon2id$')).toBe(true);
    expect(row.password_hash).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
    expect(row.password_hash).not.toContain(PASSWORD);
  });

  it('a wrong password and an unknown email give the same 401', async () => {
    const addr = email('signin');
    await signUp(t.app, { email: addr, password: PASSWORD, name: 'S' });
    const wrong = await signIn(t.app, { email: addr, password: 'wrong password!' });
    const unknown = await signIn(t.app, { email: email('nobody'), password: PASSWORD });
    expectErrorShape(wrong, 401, 'unauthorized');
    expectErrorShape(unknown, 401, 'unauthorized');
    expect(wrong.json()).toEqual(unknown.json());
    expect(wrong.headers['set-cookie']).toBeUndefined();
    const ok = await signIn(t.app, { email: addr.toUpperCase(), password: PASSWORD });
    expect(ok.statusCode).toBe(200);
    expect(ok.json().user.email).toBe(addr);
  });

  it('sign-in rotates the session: the cookie presented stops working, the new one works', async () => {
    const owner = await signUpWithOrg(t.app, 'rotate');
    const res = await signIn(t.app, { email: owner.email, password: PASSWORD }, { headers: { cookie: owner.cookie } });
    expect(res.statusCode).toBe(200);
    const fresh = cookieFrom(res);
    expect(fresh).not.toBe(owner.cookie);
    expectErrorShape(await session({ cookie: owner.cookie }), 401, 'unauthorized');
    const s = await session({ cookie: fresh });
    expect(s.statusCode).toBe(200);
    expect(s.json()).toMatchObject({ activeOrganizationId: owner.organizationId, role: 'owner' });
  });

  it('sign-out ends the session and clears the cookie', async () => {
    const owner = await signUpWithOrg(t.app, 'signout');
    expect((await session(owner.headers)).statusCode).toBe(200);
    const out = await t.app.inject({ method: 'POST', url: '/api/auth/sign-out', headers: owner.headers });
    expect(out.statusCode).toBe(204);
    expect(setCookieOf(out)).toMatch(/^sb_session=;.*(Expires=Thu, 01 Jan 1970|Max-Age=0)/i);
    expectErrorShape(await session(owner.headers), 401, 'unauthorized');
    expectErrorShape(await t.app.inject({ url: '/api/customers', headers: owner.headers }), 401, 'unauthorized');
    const [row] = await t.db.owner.query<{ n: string }>('SELECT count(*)::text AS n FROM sessions WHERE user_id = $1', [owner.userId]);
    expect(row.n).toBe('0');
  });

  it('the session cookie is HttpOnly and SameSite=Lax, not Secure outside production, and only a hash is stored', async () => {
    const res = await signUp(t.app, { email: email('cookie'), password: PASSWORD, name: 'C' });
    const c = setCookieOf(res);
    expect(c).toMatch(/; HttpOnly/i);
    expect(c).toMatch(/; SameSite=Lax/i);
    expect(c).toMatch(/; Path=\//i);
    expect(c).not.toMatch(/; Secure/i);
    const token = decodeURIComponent(cookieFrom(res).slice('sb_session='.length));
    expect(token.length).toBeGreaterThanOrEqual(40);
    const rows = await t.db.owner.query<{ r: string }>('SELECT t::text AS r FROM sessions t WHERE token_hash = $1', [createHash('sha256').update(token).digest('hex')]);
    expect(rows).toHaveLength(1);
    expect(rows[0].r).not.toContain(token);
  });

  it('the session cookie is Secure in production', async () => {
    const prod = await createTestApp({ config: { env: 'production' } });
    try {
      const res = await signUp(prod.app, { email: email('prod'), password: PASSWORD, name: 'P' });
      expect(res.statusCode).toBe(201);
      const c = setCookieOf(res);
      expect(c).toMatch(/; Secure/i);
      expect(c).toMatch(/; HttpOnly/i);
      expect(c).toMatch(/; SameSite=Lax/i);
    } finally {
      await prod.close();
    }
  });
});

describe('sign-in throttling', () => {
  it('per account and address: the 4th attempt from that address is a 429 with Retry-After, even with the right password', async () => {
    const app = await createTestApp({ config: { signIn: { maxPerAccount: 3, maxPerIp: 1000, windowSeconds: 900, accountBackoffAfter: 100, backoffSeconds: 30 } } });
    try {
      const addr = email('throttle');
      const other = email('throttle-other');
      await signUp(app.app, { email: addr, password: PASSWORD, name: 'T' });
      await signUp(app.app, { email: other, password: PASSWORD, name: 'U' });
      for (let i = 0; i < 3; i++) expect((await signIn(app.app, { email: i === 1 ? addr.toUpperCase() : addr, password: 'wrong password!' })).statusCode).toBe(401);
      const limited = await signIn(app.app, { email: addr, password: PASSWORD });
      expectErrorShape(limited, 429, 'rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(limited.headers['set-cookie']).toBeUndefined();
      // Another account from the same address is not affected.
      expect((await signIn(app.app, { email: other, password: PASSWORD })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });

  it('per IP: many accounts from one address are throttled; another address is not; X-Forwarded-For does not reset it', async () => {
    const app = await createTestApp({ config: { signIn: { maxPerAccount: 1000, maxPerIp: 5, windowSeconds: 900, accountBackoffAfter: 1000, backoffSeconds: 30 } } });
    try {
      const addr = email('ip');
      await signUp(app.app, { email: addr, password: PASSWORD, name: 'I' }, {});
      const from = '203.0.113.7';
      for (let i = 0; i < 5; i++) {
        const res = await signIn(app.app, { email: email('spray'), password: PASSWORD }, { remoteAddress: from, headers: { 'x-forwarded-for': `198.51.100.${i}` } });
        expect(res.statusCode).toBe(401);
      }
      const limited = await signIn(app.app, { email: addr, password: PASSWORD }, { remoteAddress: from, headers: { 'x-forwarded-for': '198.51.100.99' } });
      expectErrorShape(limited, 429, 'rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect((await signIn(app.app, { email: addr, password: PASSWORD }, { remoteAddress: '203.0.113.8' })).statusCode).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('CSRF (cookie-authenticated unsafe requests)', () => {
  let owner: Actor;
  let key: { headers: Record<string, string> };
  const countCustomers = async () =>
    Number((await t.db.owner.query<{ n: string }>('SELECT count(*)::text AS n FROM customers WHERE organization_id = $1', [owner.organizationId]))[0].n);
  beforeAll(async () => {
    owner = await signUpWithOrg(t.app, 'csrf');
    key = await createApiKey(t.app, owner, 'admin');
  });

  it('cross-site Fetch Metadata or a foreign Origin → 403 and nothing created', async () => {
    const before = await countCustomers();
    for (const h of [{ 'sec-fetch-site': 'cross-site' }, { 'sec-fetch-site': 'same-site' }, { origin: 'https://evil.example' }, { origin: 'null' }, { origin: 'https://evil.example', referer: 'https://evil.example/' }]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/customers', headers: { ...owner.headers, ...h }, payload: { email: 'csrf@example.com' } });
      expectErrorShape(res, 403, 'forbidden');
      const del = await t.app.inject({ method: 'DELETE', url: `/api/customers/${crypto.randomUUID()}`, headers: { ...owner.headers, ...h } });
      expect(del.statusCode).toBe(403);
    }
    expect(await countCustomers()).toBe(before);
    // Sign-out cannot be forced cross-site either.
    const out = await t.app.inject({ method: 'POST', url: '/api/auth/sign-out', headers: { ...owner.headers, 'sec-fetch-site': 'cross-site' } });
    expect(out.statusCode).toBe(403);
    expect((await session(owner.headers)).statusCode).toBe(200);
  });

  it('same-origin requests work (Fetch Metadata, or Origin of the public URL)', async () => {
    const before = await countCustomers();
    const a = await t.app.inject({ method: 'POST', url: '/api/customers', headers: { ...owner.headers, 'sec-fetch-site': 'same-origin' }, payload: { email: 'same1@example.com' } });
    expect(a.statusCode).toBe(201);
    const b = await t.app.inject({ method: 'POST', url: '/api/customers', headers: { ...owner.headers, origin: t.config.publicUrl }, payload: { email: 'same2@example.com' } });
    expect(b.statusCode).toBe(201);
    // Safe methods are not subject to it.
    expect((await t.app.inject({ url: '/api/customers', headers: { ...owner.headers, 'sec-fetch-site': 'cross-site' } })).statusCode).toBe(200);
    expect(await countCustomers()).toBe(before + 2);
  });

  it('API-key requests are not subject to it', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/customers', headers: { ...key.headers, 'sec-fetch-site': 'cross-site', origin: 'https://evil.example' }, payload: { email: 'bykey@example.com' } });
    expect(res.statusCode).toBe(201);
  });
});

describe('organizations, roles and invitations', () => {
  it('a user in two organizations lists both and switches between them', async () => {
    const owner = await signUpWithOrg(t.app, 'multi', 'First');
    const other = await signUpWithOrg(t.app, 'multi-other', 'Second');
    const { token } = await invite(t.app, other, owner.email.toUpperCase(), 'admin');
    expect((await t.app.inject({ method: 'POST', url: `/api/invitations/${token}/accept`, headers: owner.headers })).statusCode).toBe(200);
    const back0 = await t.app.inject({ method: 'POST', url: '/api/organizations/current/switch', headers: owner.headers, payload: { organizationId: owner.organizationId } });
    expect(back0.statusCode).toBe(200);
    const s = (await session(owner.headers)).json();
    expect(s.organizations).toEqual([
      { id: owner.organizationId, name: 'First', role: 'owner' },
      { id: other.organizationId, name: 'Second', role: 'admin' },
    ]);
    expect(s.activeOrganizationId).toBe(owner.organizationId);
    await createCustomer(t.app, owner.headers, { email: 'in-first@example.com' });

    const sw = await t.app.inject({ method: 'POST', url: '/api/organizations/current/switch', headers: owner.headers, payload: { organizationId: other.organizationId } });
    expect(sw.statusCode).toBe(200);
    expect(sw.json()).toMatchObject({ activeOrganizationId: other.organizationId, role: 'admin' });
    expect((await session(owner.headers)).json()).toMatchObject({ activeOrganizationId: other.organizationId, role: 'admin' });
    const current = (await t.app.inject({ url: '/api/organizations/current', headers: owner.headers })).json();
    expect(current).toMatchObject({ id: other.organizationId, name: 'Second', role: 'admin' });
    expect((await t.app.inject({ url: '/api/customers', headers: owner.headers })).json().data).toEqual([]);

    const back = await t.app.inject({ method: 'POST', url: '/api/organizations/current/switch', headers: owner.headers, payload: { organizationId: owner.organizationId } });
    expect(back.json()).toMatchObject({ activeOrganizationId: owner.organizationId, role: 'owner' });
    expect((await t.app.inject({ url: '/api/customers', headers: owner.headers })).json().data.map((c: any) => c.email)).toEqual(['in-first@example.com']);
  });

  it('a member cannot invite or remove members or manage keys; an admin can', async () => {
    const owner = await signUpWithOrg(t.app, 'roles');
    const member = await addMember(t.app, owner, 'member');
    const admin = await addMember(t.app, owner, 'admin');
    const memberKey = await createApiKey(t.app, owner, 'member');
    const members = (await t.app.inject({ url: '/api/organizations/current/members', headers: owner.headers })).json().data;
    const membershipOf = (userId: string) => members.find((m: any) => m.userId === userId).id;

    for (const headers of [member.headers, memberKey.headers]) {
      expectErrorShape(await t.app.inject({ method: 'POST', url: '/api/organizations/current/members', headers, payload: { email: email('by-member'), role: 'member' } }), 403, 'forbidden');
      expectErrorShape(await t.app.inject({ method: 'DELETE', url: `/api/organizations/current/members/${membershipOf(admin.userId)}`, headers }), 403, 'forbidden');
      expectErrorShape(await t.app.inject({ method: 'POST', url: '/api/api-keys', headers, payload: { name: 'nope', role: 'member' } }), 403, 'forbidden');
      expectErrorShape(await t.app.inject({ url: '/api/api-keys', headers }), 403, 'forbidden');
      expectErrorShape(await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${memberKey.id}`, headers }), 403, 'forbidden');
    }
    // Members still read the member list.
    expect((await t.app.inject({ url: '/api/organizations/current/members', headers: member.headers })).statusCode).toBe(200);

    const invite = await t.app.inject({ method: 'POST', url: '/api/organizations/current/members', headers: admin.headers, payload: { email: email('by-admin'), role: 'member' } });
    expect(invite.statusCode).toBe(201);
    expect(invite.json().status).toBe('invited');
    const k = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: admin.headers, payload: { name: 'admin key', role: 'admin' } });
    expect(k.statusCode).toBe(201);
    const rm = await t.app.inject({ method: 'DELETE', url: `/api/organizations/current/members/${membershipOf(member.userId)}`, headers: admin.headers });
    expect(rm.statusCode).toBe(204);
    // The removed member's session no longer reaches the organization.
    expectErrorShape(await t.app.inject({ url: '/api/customers', headers: member.headers }), 403, 'no_organization');
    // Revoking a pending invitation by its id.
    const revoke = await t.app.inject({ method: 'DELETE', url: `/api/organizations/current/members/${invite.json().invitation.id}`, headers: admin.headers });
    expect(revoke.statusCode).toBe(204);
  });

  it('an admin cannot remove the owner; the last owner cannot be removed (409)', async () => {
    const owner = await signUpWithOrg(t.app, 'owner-guard');
    const admin = await addMember(t.app, owner, 'admin');
    const members = (await t.app.inject({ url: '/api/organizations/current/members', headers: owner.headers })).json().data;
    const ownerMembership = members.find((m: any) => m.userId === owner.userId).id;
    expectErrorShape(await t.app.inject({ method: 'DELETE', url: `/api/organizations/current/members/${ownerMembership}`, headers: admin.headers }), 403, 'forbidden');
    expectErrorShape(await t.app.inject({ method: 'DELETE', url: `/api/organizations/current/members/${ownerMembership}`, headers: owner.headers }), 409, 'conflict');
    const after = (await t.app.inject({ url: '/api/organizations/current/members', headers: owner.headers })).json().data;
    expect(after.find((m: any) => m.userId === owner.userId)).toMatchObject({ role: 'owner' });
    // An admin key cannot mint a key above admin, nor a member create an admin key.
    const memberKey = await createApiKey(t.app, owner, 'member');
    expect((await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: memberKey.headers, payload: { name: 'x', role: 'admin' } })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: owner.headers, payload: { name: 'x', role: 'owner' } })).statusCode).toBe(400);
  });

  it('an invitation to an address not yet registered is pending, listed, and not duplicated', async () => {
    const owner = await signUpWithOrg(t.app, 'inviter', 'Inviting Org');
    const addr = email('invitee');
    const inv = await t.app.inject({ method: 'POST', url: '/api/organizations/current/members', headers: owner.headers, payload: { email: addr, role: 'admin' } });
    expect(inv.statusCode).toBe(201);
    expect(inv.json()).toMatchObject({ status: 'invited', invitation: { email: addr, role: 'admin' } });
    const dup = await t.app.inject({ method: 'POST', url: '/api/organizations/current/members', headers: owner.headers, payload: { email: addr.toUpperCase(), role: 'member' } });
    expectErrorShape(dup, 409, 'conflict');
    const list = (await t.app.inject({ url: '/api/organizations/current/invitations', headers: owner.headers })).json();
    expect(list).toMatchObject({ data: [{ email: addr, role: 'admin' }], nextCursor: null });
  });

  it('an invitation does not let anyone else in, and one organization’s invitation is not another’s', async () => {
    const owner = await signUpWithOrg(t.app, 'inv-a');
    const stranger = await signUpWithOrg(t.app, 'inv-b');
    const addr = email('target');
    await t.app.inject({ method: 'POST', url: '/api/organizations/current/members', headers: owner.headers, payload: { email: addr, role: 'member' } });
    // Another address signing up joins nothing.
    const res = await signUp(t.app, { email: email('not-target'), password: PASSWORD, name: 'N' });
    expect((await session({ cookie: cookieFrom(res) })).json().organizations).toEqual([]);
    // The other organization's admin cannot revoke it.
    const invitationId = (await t.app.inject({ url: '/api/organizations/current/invitations', headers: owner.headers })).json().data[0].id;
    expect((await t.app.inject({ url: '/api/organizations/current/invitations', headers: stranger.headers })).json().data).toEqual([]);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/organizations/current/members/${invitationId}`, headers: stranger.headers })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/api/organizations/current/invitations', headers: owner.headers })).json().data).toHaveLength(1);
  });
});

describe('API keys', () => {
  let owner: Actor;
  beforeAll(async () => {
    owner = await signUpWithOrg(t.app, 'keys');
  });

  it('the secret is shown once; only its SHA-256 is stored; lists show only a prefix', async () => {
    const created = await t.app.inject({ method: 'POST', url: '/api/api-keys', headers: owner.headers, payload: { name: 'CI', role: 'member' } });
    expect(created.statusCode).toBe(201);
    const { key, id, prefix } = created.json();
    expect(key).toMatch(/^sb_[A-Za-z0-9_-]{22}_[A-Za-z0-9_-]{43}$/);
    const hash = createHash('sha256').update(key).digest('hex');
    const secret = key.slice(26);

    const [row] = await t.db.owner.query<{ key_hash: string; r: string }>('SELECT key_hash, t::text AS r FROM api_keys t WHERE organization_id = $1 AND id = $2', [owner.organizationId, id]);
    expect(row.key_hash).toBe(hash);
    const all = await t.db.owner.query<{ r: string }>('SELECT t::text AS r FROM api_keys t');
    for (const r of all) {
      expect(r.r).not.toContain(key);
      expect(r.r).not.toContain(secret);
      expect(r.r).not.toContain(secret.slice(0, 16));
    }

    const list = await t.app.inject({ url: '/api/api-keys', headers: owner.headers });
    expect(list.statusCode).toBe(200);
    const listed = list.json().data.find((k: any) => k.id === id);
    expect(listed).toMatchObject({ id, name: 'CI', role: 'member', prefix, revokedAt: null });
    expect(Object.keys(listed).sort()).toEqual(['createdAt', 'createdBy', 'id', 'lastUsedAt', 'name', 'prefix', 'revokedAt', 'role']);
    expect(listed.createdBy).toEqual({ userId: owner.userId, name: 'keys', email: owner.email });
    expect(list.body).not.toContain(key);
    expect(list.body).not.toContain(secret);
    expect(list.body).not.toContain(hash);
    // The prefix is enough to recognise it, far too little to use it.
    expect(prefix.length).toBeLessThan(20);
  });

  it('last_used_at is set after use; revocation is a 401 at once', async () => {
    const k = await createApiKey(t.app, owner, 'admin');
    const lastUsed = async () =>
      (await t.db.owner.query<{ l: string | null }>('SELECT last_used_at::text AS l FROM api_keys WHERE organization_id = $1 AND id = $2', [owner.organizationId, k.id]))[0].l;
    expect(await lastUsed()).toBeNull();
    expect((await t.app.inject({ url: '/api/customers', headers: k.headers })).statusCode).toBe(200);
    expect(await lastUsed()).not.toBeNull();
    const listed = (await t.app.inject({ url: '/api/api-keys', headers: owner.headers })).json().data.find((x: any) => x.id === k.id);
    expect(Date.now() - Date.parse(listed.lastUsedAt)).toBeLessThan(60_000);

    const rev = await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${k.id}`, headers: owner.headers });
    expect(rev.statusCode).toBe(204);
    expectErrorShape(await t.app.inject({ url: '/api/customers', headers: k.headers }), 401, 'unauthorized');
    expect((await t.app.inject({ method: 'POST', url: '/api/customers', headers: k.headers, payload: { email: 'after-revoke@example.com' } })).statusCode).toBe(401);
    // Revoking twice is a 404 (there is no live key with that id), and the list shows it revoked.
    expect((await t.app.inject({ method: 'DELETE', url: `/api/api-keys/${k.id}`, headers: owner.headers })).statusCode).toBe(404);
    const after = (await t.app.inject({ url: '/api/api-keys', headers: owner.headers })).json().data.find((x: any) => x.id === k.id);
    expect(after.revokedAt).not.toBeNull();
  });

  it('a key is bound to one organization and acts as its own actor in the audit log', async () => {
    const k = await createApiKey(t.app, owner, 'member');
    const c = await createCustomer(t.app, k.headers, { email: 'audited@example.com' });
    const [row] = await t.db.owner.query<{ organization_id: string; actor_type: string; actor_id: string }>(
      `SELECT organization_id::text, actor_type, actor_id::text FROM audit_log WHERE resource_id = $1 AND action = 'customer.created'`,
      [c.id],
    );
    expect(row).toEqual({ organization_id: owner.organizationId, actor_type: 'api_key', actor_id: k.id });
    // A key cannot use the user-only routes.
    expect((await t.app.inject({ url: '/api/auth/session', headers: k.headers })).statusCode).toBe(403);
  });
});

describe('errors', () => {
  let owner: Actor;
  beforeAll(async () => {
    owner = await signUpWithOrg(t.app, 'errors');
  });

  it('malformed JSON → 400 in the contract shape', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/customers', headers: { ...owner.headers, 'content-type': 'application/json' }, payload: '{"email": "x@example.com",' });
    expectErrorShape(res, 400, 'bad_request');
    const empty = await t.app.inject({ method: 'POST', url: '/api/customers', headers: { ...owner.headers, 'content-type': 'application/json' }, payload: '' });
    expect(empty.statusCode).toBe(400);
    expectNoLeak(empty);
    const proto = await t.app.inject({ method: 'POST', url: '/api/customers', headers: { ...owner.headers, 'content-type': 'application/json' }, payload: '{"email":"p@example.com","__proto__":{"admin":true}}' });
    expect(proto.statusCode).toBe(400);
    expectNoLeak(proto);
  });

  it('validation errors → 400 with details', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/customers', headers: owner.headers, payload: { email: 'not-an-email' } });
    expectErrorShape(res, 400, 'validation_failed');
    expect(res.json().details).toEqual(expect.arrayContaining([expect.objectContaining({ path: 'email' })]));
  });

  it('a JSON body over the limit → 413, and nothing is written', async () => {
    const big = { email: 'big@example.com', attributes: { blob: 'x'.repeat(t.config.bodyLimitBytes + 10) } };
    const res = await t.app.inject({ method: 'POST', url: '/api/customers', headers: owner.headers, payload: big });
    expectErrorShape(res, 413, 'payload_too_large');
    const rows = await t.db.owner.query('SELECT 1 FROM customers WHERE email = $1', ['big@example.com']);
    expect(rows).toHaveLength(0);
  });

  it('a wrong content type → 415', async () => {
    for (const type of ['text/plain', 'application/xml', 'application/x-www-form-urlencoded']) {
      const res = await t.app.inject({ method: 'POST', url: '/api/customers', headers: { ...owner.headers, 'content-type': type }, payload: 'email=x@example.com' });
      expectErrorShape(res, 415, 'unsupported_media_type');
    }
  });

  it('a malformed id → 404; an unknown route → 404 in the contract shape', async () => {
    for (const id of ['123', 'not-a-uuid', '00000000-0000-0000-0000', "1' OR '1'='1"]) {
      const res = await t.app.inject({ url: `/api/customers/${encodeURIComponent(id)}`, headers: owner.headers });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: 'Not found', code: 'not_found' });
    }
    // (A GET outside /api is the dashboard's: its client routes fall back to index.html — test/dashboard-serving.test.ts.)
    for (const [method, url] of [['GET', '/api/nope'], ['POST', '/api/customers/extra/segments'], ['DELETE', '/api/customers'], ['PUT', '/nothing-here']] as const) {
      const res = await t.app.inject({ method, url, headers: owner.headers });
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: 'Not found', code: 'not_found' });
    }
  });

  it('bad query values → 400, never a 500; no stack trace in any error body', async () => {
    const cases = [
      { url: '/api/customers?limit=abc' },
      { url: '/api/customers?limit=-1' },
      { url: '/api/customers?cursor=%00%01' },
      { url: '/api/customers?emailOptIn=maybe' },
      { url: '/api/customers?unknown=1' },
      { url: `/api/customers?q=${'x'.repeat(500)}` },
    ];
    for (const c of cases) {
      const res = await t.app.inject({ url: c.url, headers: owner.headers });
      expect(res.statusCode, c.url).toBe(400);
      expectNoLeak(res);
    }
    const nul = await t.app.inject({ method: 'POST', url: '/api/customers', headers: owner.headers, payload: { email: 'nul@example.com', firstName: 'a\u0000b' } });
    expect(nul.statusCode).toBeLessThan(500);
    expectNoLeak(nul);
    const attrs = await t.app.inject({ method: 'POST', url: '/api/customers', headers: owner.headers, payload: { email: 'attrs@example.com', attributes: { k: '\u0000' } } });
    expect(attrs.statusCode).toBeLessThan(500);
    expectNoLeak(attrs);
  });
});
