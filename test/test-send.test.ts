/**
 * Test sends reach only this organization's members' verified addresses, never a suppressed one,
 * and are rate-limited per organization.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, createTestApp, signUpWithOrg, signUpWithoutOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { startSmtpSink, type SmtpSink } from './email-support.js';
import { fakeDns, verifiedDomain } from './sender-support.js';

let t: TestApp;
let sink: SmtpSink;
let a: Actor;
let b: Actor;
let member: Actor;
let campaignA: string;
const dns = fakeDns();

beforeAll(async () => {
  sink = await startSmtpSink();
  const base = testConfig();
  t = await createTestApp({ config: { email: { ...base.email, smtpUrl: sink.url, testSendsPerHour: 6 } }, dns: dns.resolver });
  a = await signUpWithOrg(t.app, 'ta');
  b = await signUpWithOrg(t.app, 'tb');
  // Owners confirm their address on sign-up, and a member joins only with a confirmed address (test/helpers.ts).
  member = await addMember(t.app, a, 'member');
  await verifiedDomain(t.app, a.headers, dns, 'a.example');
  await verifiedDomain(t.app, b.headers, dns, 'b.example');
  campaignA = (await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: a.headers, payload: { name: 'T', subject: 'Preview', fromEmail: 'news@a.example', html: '<p>x</p>' } })).json().id;
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

// The sink also receives account mail (confirmations, invitations): count previews only.
const previews = () => sink.messages.filter((m) => String(m.header('Subject')).startsWith('[Test]')).length;
const testSend = (actor: { headers: Record<string, string> }, id: string, to: string) => t.app.inject({ method: 'POST', url: `/api/email/campaigns/${id}/test`, headers: actor.headers, payload: { to } });

describe('test sends', () => {
  it("go only to a verified member's address of this organization, never to a stranger or a suppressed address", async () => {
    const before = previews();
    for (const to of ['stranger@example.com', b.email]) {
      const res = await testSend(a, campaignA, to);
      expect(res.statusCode, `${to}: ${res.body}`).toBe(400);
      expect(res.json()).toMatchObject({ code: 'recipient_not_allowed', details: [{ path: 'to' }] });
    }
    expect(previews()).toBe(before);

    // An owner whose own address is not confirmed cannot preview to it either.
    const u = await signUpWithoutOrg(t.app, 'tu', { verified: false });
    expect((await t.app.inject({ method: 'POST', url: '/api/organizations', headers: u.headers, payload: { name: 'U' } })).statusCode).toBe(201);
    await verifiedDomain(t.app, u.headers, dns, 'u.example');
    const campaignU = (await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: u.headers, payload: { name: 'T', subject: 'U preview', fromEmail: 'news@u.example', html: '<p>x</p>' } })).json().id;
    const unconfirmed = await testSend(u, campaignU, u.email);
    expect(unconfirmed.statusCode, unconfirmed.body).toBe(400);
    expect(unconfirmed.json()).toMatchObject({ code: 'recipient_not_allowed' });
    expect(previews()).toBe(before);

    // A member's confirmed address may receive previews (any spelling of it).
    const ok = await testSend(a, campaignA, member.email.toUpperCase());
    expect(ok.statusCode, ok.body).toBe(202);
    expect(previews()).toBe(before + 1);
    expect(sink.messages[sink.messages.length - 1].header('Subject')).toBe('[Test] Preview');

    // The suppression list applies to previews too.
    await t.app.inject({ method: 'POST', url: '/api/suppressions', headers: a.headers, payload: { address: member.email } });
    const suppressed = await testSend(a, campaignA, member.email);
    expect(suppressed.statusCode).toBe(400);
    expect(suppressed.json().error).toMatch(/suppression list/);
    expect(previews()).toBe(before + 1);
  });

  it('are rate-limited per organization (429 with Retry-After), and one organization does not use up another’s', async () => {
    const c = (await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: b.headers, payload: { name: 'T', subject: 'B preview', fromEmail: 'news@b.example', html: '<p>x</p>' } })).json().id;
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 7; i++) {
      last = await testSend(b, c, b.email);
      statuses.push(last.statusCode);
    }
    expect(statuses).toEqual([202, 202, 202, 202, 202, 202, 429]);
    expect(last!.json()).toMatchObject({ code: 'rate_limited' });
    expect(Number(last!.headers['retry-after'])).toBeGreaterThan(0);
    expect(sink.messages.filter((m) => m.header('Subject') === '[Test] B preview')).toHaveLength(6);
    // Only previews that go out count (A sent one above, its refusals cost nothing), and nothing was audited for the 429.
    for (let i = 0; i < 5; i++) expect((await testSend(a, campaignA, a.email)).statusCode).toBe(202);
    expect((await testSend(a, campaignA, a.email)).statusCode).toBe(429);
    const audit = (await t.app.inject({ url: `/api/audit-log?resourceId=${c}`, headers: b.headers })).json().data;
    expect(audit.filter((e: any) => e.action === 'email_campaign.test_sent')).toHaveLength(6);
  });
});
