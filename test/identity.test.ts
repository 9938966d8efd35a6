/**
 * Issue 6, "Identity and membership": email ownership is proven before anyone joins an organization,
 * invitations are accepted only through their own token, API keys neither mint keys nor change
 * membership and die with their maker's membership, and role changes want a recent sign-in.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  accountMailTo, addMember, cookieFrom, createApiKey, createTestApp, INVITATION_LINK, invite, signUpWithOrg, signUpWithoutOrg,
  TEST_PASSWORD, tokenFromMail, VERIFY_LINK, type Actor, type TestApp,
} from './helpers.js';

let t: TestApp;
let n = 0;
const address = (label: string) => `${label}-${Date.now().toString(36)}-${++n}@identity.example`;
const post = (url: string, headers: Record<string, string>, payload?: unknown) =>
  t.app.inject({ method: 'POST', url, headers, ...(payload !== undefined && { payload: payload as any }) });
const session = async (headers: Record<string, string>) => (await t.app.inject({ url: '/api/auth/session', headers })).json();
const signUp = async (email: string, extra: Record<string, unknown> = {}) => {
  const res = await post('/api/auth/sign-up', {}, { email, password: TEST_PASSWORD, name: 'Someone', ...extra });
  expect(res.statusCode, res.body).toBe(201);
  return { res, headers: { cookie: cookieFrom(res) }, userId: res.json().user.id as string };
};
const membersOf = async (owner: Actor) => (await t.app.inject({ url: '/api/organizations/current/members', headers: owner.headers })).json();
const accept = (token: string, headers: Record<string, string>) => post(`/api/invitations/${token}/accept`, headers);

beforeAll(async () => {
  t = await createTestApp();
});
afterAll(() => t?.close());

describe('email ownership and invitations', () => {
  it('reproduction: a stranger signing up with an invited address does not become a member', async () => {
    const owner = await signUpWithOrg(t.app, 'acme-owner', 'Acme');
    const cfo = address('cfo');
    expect((await post('/api/organizations/current/members', owner.headers, { email: cfo, role: 'admin' })).statusCode).toBe(201);
    const stranger = await signUp(cfo);
    const s = await session(stranger.headers);
    expect(s).toMatchObject({ organizations: [], activeOrganizationId: null, role: null });
    expect((await t.app.inject({ url: '/api/customers', headers: stranger.headers })).statusCode).toBe(403);
    expect((await membersOf(owner)).data.map((m: any) => m.userId)).toEqual([owner.userId]);
    // Even holding the invitation's token, an unconfirmed address cannot accept it.
    const token = await tokenFromMail(t.app, cfo, INVITATION_LINK);
    const res = await accept(token, stranger.headers);
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('forbidden');
    expect((await membersOf(owner)).data).toHaveLength(1);
  });

  it('reproduction: inviting an existing account does not add it; the answer is the same as for an unknown address and names nobody', async () => {
    const owner = await signUpWithOrg(t.app, 'neutral-owner');
    const existing = await signUpWithoutOrg(t.app, 'existing');
    const unknown = address('unknown');
    const a = await post('/api/organizations/current/members', owner.headers, { email: existing.email, role: 'admin' });
    const b = await post('/api/organizations/current/members', owner.headers, { email: unknown, role: 'admin' });
    expect(a.statusCode).toBe(201);
    expect(b.statusCode).toBe(201);
    const shape = (body: any) => ({ status: body.status, keys: Object.keys(body).sort(), invitationKeys: Object.keys(body.invitation).sort() });
    expect(shape(a.json())).toEqual(shape(b.json()));
    expect(a.json().status).toBe('invited');
    expect(a.body).not.toContain(existing.userId);
    expect(a.body).not.toContain('existing"');
    // Not a member until they accept.
    expect((await session(existing.headers)).organizations).toEqual([]);
    expect((await membersOf(owner)).data.map((m: any) => m.userId)).not.toContain(existing.userId);
  });

  it('the invited, confirmed address accepts through its token once; the organization becomes active', async () => {
    const owner = await signUpWithOrg(t.app, 'accept-owner', 'Accepting Org');
    const user = await signUpWithoutOrg(t.app, 'accepter');
    const { token } = await invite(t.app, owner, user.email.toUpperCase(), 'admin');
    const res = await accept(token, user.headers);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ activeOrganizationId: owner.organizationId, role: 'admin' });
    expect((await t.app.inject({ url: '/api/customers', headers: user.headers })).statusCode).toBe(200);
    expect((await accept(token, user.headers)).statusCode).toBe(404);
    const list = await membersOf(owner);
    expect((await t.app.inject({ url: '/api/organizations/current/invitations', headers: owner.headers })).json()).toEqual({ data: [], nextCursor: null });
    expect(list.data.map((m: any) => m.role).sort()).toEqual(['admin', 'owner']);
    const [audit] = await t.db.owner.query<{ actor_id: string }>(
      `SELECT actor_id::text FROM audit_log WHERE organization_id = $1 AND action = 'member.joined'`, [owner.organizationId]);
    expect(audit.actor_id).toBe(user.userId);
  });

  it('another confirmed account cannot use the token; expired and forged tokens are refused', async () => {
    const owner = await signUpWithOrg(t.app, 'tok-owner');
    const other = await signUpWithoutOrg(t.app, 'tok-other');
    const target = await signUpWithoutOrg(t.app, 'tok-target');
    const { token, invitation } = await invite(t.app, owner, target.email, 'member');
    expect((await accept(token, other.headers)).statusCode).toBe(403);
    expect((await accept(token.slice(0, -2) + 'AA', target.headers)).statusCode).toBe(404);
    expect((await accept('not-a-token', target.headers)).statusCode).toBe(404);
    await t.db.owner.query(`UPDATE invitations SET expires_at = now() - interval '1 minute' WHERE organization_id = $1 AND id = $2`, [owner.organizationId, invitation.id]);
    expect((await accept(token, target.headers)).statusCode).toBe(404);
    expect((await session(target.headers)).organizations).toEqual([]);
    // An expired invitation does not block inviting again.
    const again = await invite(t.app, owner, target.email, 'member');
    expect((await accept(again.token, target.headers)).statusCode).toBe(200);
  });

  it('an unconfirmed account may create its own organization, and confirming through the mailed link lets it join one', async () => {
    const owner = await signUpWithOrg(t.app, 'later-owner');
    const addr = address('later');
    const user = await signUp(addr);
    expect(user.res.json().user.emailVerified).toBe(false);
    const own = await post('/api/organizations', user.headers, { name: 'Mine' });
    expect(own.statusCode).toBe(201);
    const { token } = await invite(t.app, owner, addr, 'member');
    expect((await accept(token, user.headers)).statusCode).toBe(403);

    // The verification mail went to the address, with a link to the API, into the account outbox
    // (no organization's outbox lists it: the link is a credential).
    const mails = accountMailTo(t.app, addr);
    expect(mails.some((m) => VERIFY_LINK.test(m))).toBe(true);
    const dir = path.join(t.config.dataDir, 'outbox', '_account');
    const files = readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8')).filter((m) => m.includes(`To: ${addr}`) && m.includes('Subject: Confirm your email address'));
    expect(files).toHaveLength(1);
    expect(files[0].replace(/=\r?\n/g, '')).toContain('/api/auth/verify-email?token=3D');
    const outbox = await t.app.inject({ url: '/api/email/outbox', headers: owner.headers });
    expect(outbox.body).not.toContain(addr);
    const verifyToken = await tokenFromMail(t.app, addr, VERIFY_LINK);
    const confirm = await post('/api/auth/verify-email', {}, { token: verifyToken });
    expect(confirm.statusCode, confirm.body).toBe(200);
    expect(confirm.json()).toEqual({ email: addr, verified: true });
    // Single use.
    expect((await post('/api/auth/verify-email', {}, { token: verifyToken })).json().code).toBe('bad_request');
    expect((await session(user.headers)).user.emailVerified).toBe(true);
    expect((await accept(token, user.headers)).statusCode).toBe(200);
  });

  it('resend mails a fresh link; an expired or garbage verification token is a 400', async () => {
    const addr = address('resend');
    const user = await signUp(addr);
    const first = await tokenFromMail(t.app, addr, VERIFY_LINK);
    await t.db.owner.query(`UPDATE user_tokens SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [user.userId]);
    expect((await t.app.inject({ url: `/api/auth/verify-email?token=${encodeURIComponent(first)}` })).statusCode).toBe(400);
    expect((await t.app.inject({ url: '/api/auth/verify-email?token=garbage' })).statusCode).toBe(400);
    const resend = await post('/api/auth/verify-email/resend', user.headers);
    expect(resend.statusCode).toBe(202);
    const second = await tokenFromMail(t.app, addr, VERIFY_LINK);
    expect(second).not.toBe(first);
    expect((await t.app.inject({ url: `/api/auth/verify-email?token=${encodeURIComponent(second)}` })).statusCode).toBe(200);
  });
});

describe('leaving an organization', () => {
  it('a member leaves (their keys die with it); the last owner cannot leave', async () => {
    const owner = await signUpWithOrg(t.app, 'leave-owner');
    const admin = await addMember(t.app, owner, 'admin');
    const key = await createApiKey(t.app, admin, 'admin');
    expect((await t.app.inject({ url: '/api/customers', headers: key.headers })).statusCode).toBe(200);
    const left = await post('/api/organizations/current/leave', admin.headers);
    expect(left.statusCode, left.body).toBe(204);
    expect((await session(admin.headers))).toMatchObject({ organizations: [], activeOrganizationId: null });
    expect((await t.app.inject({ url: '/api/customers', headers: key.headers })).statusCode).toBe(401);
    const last = await post('/api/organizations/current/leave', owner.headers);
    expect(last.statusCode).toBe(409);
    expect(last.json().code).toBe('conflict');
  });
});

describe('API keys and membership', () => {
  let owner: Actor;
  let adminKey: { id: string; headers: Record<string, string> };
  beforeAll(async () => {
    owner = await signUpWithOrg(t.app, 'keys-owner');
    adminKey = await createApiKey(t.app, owner, 'admin');
  });

  it('reproduction: an admin key cannot mint keys, invite, change or remove members', async () => {
    const minted = await post('/api/api-keys', adminKey.headers, { name: 'spawn', role: 'admin' });
    expect(minted.statusCode).toBe(403);
    expect((await post('/api/organizations/current/members', adminKey.headers, { email: address('by-key'), role: 'admin' })).statusCode).toBe(403);
    const member = await addMember(t.app, owner, 'member');
    const id = (await membersOf(owner)).data.find((m: any) => m.userId === member.userId).id;
    expect((await t.app.inject({ method: 'PATCH', url: `/api/organizations/current/members/${id}`, headers: adminKey.headers, payload: { role: 'admin' } })).statusCode).toBe(403);
    expect((await t.app.inject({ method: 'DELETE', url: `/api/organizations/current/members/${id}`, headers: adminKey.headers })).statusCode).toBe(403);
    const [n] = await t.db.owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM api_keys WHERE organization_id = $1`, [owner.organizationId]);
    expect(n.n).toBe(1);
  });

  it("reproduction: removing a member revokes the keys they made, in the same change, with an audit entry", async () => {
    const admin = await addMember(t.app, owner, 'admin');
    const k1 = await createApiKey(t.app, admin, 'admin');
    const k2 = await createApiKey(t.app, admin, 'member');
    for (const k of [k1, k2]) expect((await t.app.inject({ url: '/api/customers', headers: k.headers })).statusCode).toBe(200);
    const id = (await membersOf(owner)).data.find((m: any) => m.userId === admin.userId).id;
    expect((await t.app.inject({ method: 'DELETE', url: `/api/organizations/current/members/${id}`, headers: owner.headers })).statusCode).toBe(204);
    // At once, although the keys were just cached by their use above.
    for (const k of [k1, k2]) expect((await t.app.inject({ url: '/api/customers', headers: k.headers })).statusCode).toBe(401);
    const [audit] = await t.db.owner.query<{ changes: any }>(
      `SELECT changes FROM audit_log WHERE organization_id = $1 AND action = 'api_key.revoked' AND changes->>'userId' = $2`, [owner.organizationId, admin.userId]);
    expect([...audit.changes.apiKeyIds].sort()).toEqual([k1.id, k2.id].sort());
    expect(audit.changes.reason).toBe('member.removed');
    // The owner's own key is untouched; the list no longer names the former member.
    expect((await t.app.inject({ url: '/api/customers', headers: adminKey.headers })).statusCode).toBe(200);
    const list = (await t.app.inject({ url: '/api/api-keys', headers: owner.headers })).json().data;
    expect(list.find((k: any) => k.id === k1.id)).toMatchObject({ revokedAt: expect.any(String), createdBy: null });
    expect(JSON.stringify(list)).not.toContain(admin.userId);
  });

  it('the key list shows who created each key and when it was last used', async () => {
    const admin = await addMember(t.app, owner, 'admin', 'key-maker');
    const k = await createApiKey(t.app, admin, 'member');
    await t.app.inject({ url: '/api/customers', headers: k.headers });
    const listed = (await t.app.inject({ url: '/api/api-keys', headers: owner.headers })).json().data.find((x: any) => x.id === k.id);
    expect(listed.createdBy).toEqual({ userId: admin.userId, name: 'key-maker', email: admin.email });
    expect(Date.now() - Date.parse(listed.lastUsedAt)).toBeLessThan(60_000);
  });

  it('changing a role needs a recent sign-in; only an owner grants owner; the last owner stays one', async () => {
    const admin = await addMember(t.app, owner, 'admin');
    const member = await addMember(t.app, owner, 'member');
    const members = (await membersOf(owner)).data;
    const idOf = (u: { userId: string }) => members.find((m: any) => m.userId === u.userId).id;
    const patch = (headers: Record<string, string>, id: string, role: string) =>
      t.app.inject({ method: 'PATCH', url: `/api/organizations/current/members/${id}`, headers, payload: { role } });

    expect((await patch(admin.headers, idOf(member), 'owner')).statusCode).toBe(403);
    expect((await patch(admin.headers, idOf(owner), 'member')).statusCode).toBe(403);
    expect((await patch(owner.headers, idOf(owner), 'admin')).statusCode).toBe(409);
    const ok = await patch(admin.headers, idOf(member), 'admin');
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toEqual({ id: idOf(member), userId: member.userId, role: 'admin' });

    // A session whose sign-in is old must sign in again.
    await t.db.owner.query(`UPDATE sessions SET authenticated_at = now() - interval '2 hours' WHERE user_id = $1`, [admin.userId]);
    const stale = await patch(admin.headers, idOf(member), 'member');
    expect(stale.statusCode).toBe(403);
    expect(stale.json().code).toBe('reauthentication_required');
    const again = await post('/api/auth/sign-in', {}, { email: admin.email, password: TEST_PASSWORD });
    const fresh = { cookie: cookieFrom(again) };
    await post('/api/organizations/current/switch', fresh, { organizationId: owner.organizationId });
    expect((await patch(fresh, idOf(member), 'member')).statusCode).toBe(200);
  });

  it('demoting an admin to member revokes the admin keys they made', async () => {
    const admin = await addMember(t.app, owner, 'admin');
    const adminK = await createApiKey(t.app, admin, 'admin');
    const memberK = await createApiKey(t.app, admin, 'member');
    const id = (await membersOf(owner)).data.find((m: any) => m.userId === admin.userId).id;
    const res = await t.app.inject({ method: 'PATCH', url: `/api/organizations/current/members/${id}`, headers: owner.headers, payload: { role: 'member' } });
    expect(res.statusCode).toBe(200);
    expect((await t.app.inject({ url: '/api/customers', headers: adminK.headers })).statusCode).toBe(401);
    expect((await t.app.inject({ url: '/api/customers', headers: memberK.headers })).statusCode).toBe(200);
  });
});
