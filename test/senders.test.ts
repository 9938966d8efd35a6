/**
 * Sending as someone: sender domains verified through DNS (injected resolver) and signed with
 * their own DKIM key, single addresses confirmed by a link, and every From refused until verified.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { verifyDkim } from './dkim-verify.js';
import { startSmtpSink, waitFor, type SmtpSink } from './email-support.js';
import { fakeDns, verifiedDomain } from './sender-support.js';

const BOUNCES = 'bounces@platform.example';
let t: TestApp;
let sink: SmtpSink;
let a: Actor;
let b: Actor;
const dns = fakeDns();

beforeAll(async () => {
  sink = await startSmtpSink();
  const base = testConfig();
  t = await createTestApp({
    config: { email: { ...base.email, smtpUrl: sink.url, from: 'no-reply@platform.example', bounceAddress: BOUNCES }, jobs: { inProcess: true, pollMs: 50 } },
    dns: dns.resolver,
  });
  a = await signUpWithOrg(t.app, 'da');
  b = await signUpWithOrg(t.app, 'db');
  await t.db.owner.query('update users set email_verified_at = now() where id = any($1)', [[a.userId, b.userId]]);
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const inject = (actor: Actor, method: string, url: string, payload?: unknown) =>
  t.app.inject({ method: method as any, url, headers: actor.headers, ...(payload !== undefined && { payload: payload as any }) });

async function finished(actor: Actor, id: string) {
  return waitFor(async () => {
    const c = (await inject(actor, 'GET', `/api/email/campaigns/${id}`)).json();
    return ['sent', 'failed', 'cancelled'].includes(c.status) && c;
  });
}

describe('sender domains', () => {
  it('shows the records to publish, keeps the private key sealed, and verifies only once the TXT record is in DNS', async () => {
    const add = await inject(a, 'POST', '/api/senders/domains', { domain: 'News.Acme.Example' });
    expect(add.statusCode, add.body).toBe(201);
    const d = add.json();
    expect(d).toMatchObject({ domain: 'news.acme.example', status: 'pending', verifiedAt: null });
    const [verification, dkim] = d.records;
    expect(verification).toMatchObject({ purpose: 'verification', type: 'TXT', name: '_switchboard.news.acme.example', found: null });
    expect(verification.value).toMatch(/^switchboard-verification=[\w-]{20,}$/);
    expect(dkim.name).toBe(`${d.dkimSelector}._domainkey.news.acme.example`);
    expect(dkim.value).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]{300,}$/);
    expect(add.body).not.toMatch(/PRIVATE|privateKey/i);
    const [row] = await t.db.owner.query<{ dkim_private_key_enc: string }>('select dkim_private_key_enc from sender_domains where id = $1', [d.id]);
    expect(row.dkim_private_key_enc).toMatch(/^v1\./);
    expect(row.dkim_private_key_enc).not.toContain('BEGIN');

    // Nothing published: still pending, and the check says what is missing.
    const first = await inject(a, 'POST', `/api/senders/domains/${d.id}/verify`);
    expect(first.statusCode).toBe(200);
    expect(first.json()).toMatchObject({ status: 'pending', records: [{ found: false }, { found: false }] });
    // Another organization's token published for the same name does not verify this one.
    dns.publish(verification.name, 'switchboard-verification=someone-else');
    expect((await inject(a, 'POST', `/api/senders/domains/${d.id}/verify`)).json().status).toBe('pending');
    dns.publish(verification.name, verification.value);
    const ok = await inject(a, 'POST', `/api/senders/domains/${d.id}/verify`);
    expect(ok.json()).toMatchObject({ status: 'verified', records: [{ found: true }, { found: false }] });
    expect(ok.json().verifiedAt).toBeTruthy();

    // Another organization neither sees nor verifies it; adding the same domain twice is a 409.
    expect((await inject(b, 'GET', `/api/senders/domains/${d.id}`)).statusCode).toBe(404);
    expect((await inject(b, 'POST', `/api/senders/domains/${d.id}/verify`)).statusCode).toBe(404);
    expect((await inject(b, 'GET', '/api/senders/domains')).json().data).toEqual([]);
    expect((await inject(a, 'POST', '/api/senders/domains', { domain: 'news.acme.example' })).statusCode).toBe(409);
    expect((await inject(a, 'POST', '/api/senders/domains', { domain: 'not a domain' })).statusCode).toBe(400);
  });

  it('DKIM-signs mail from a verified domain with its key, with the platform bounce address as envelope sender', async () => {
    const d = await verifiedDomain(t.app, a.headers, dns, 'shop.example');
    await inject(a, 'POST', '/api/customers', { email: 'reader@inbox.example', emailOptIn: true, tags: ['dkim'] });
    const c = (await inject(a, 'POST', '/api/email/campaigns', { name: 'Signed', subject: 'Signed {{ customer.email }}', fromName: 'Shop', fromEmail: 'hello@shop.example', html: '<p>Hello   there </p>\n\n', audience: { tags: ['dkim'] } })).json();
    expect((await inject(a, 'POST', `/api/email-campaigns/${c.id}/send`)).statusCode).toBe(202);
    expect(await finished(a, c.id)).toMatchObject({ status: 'sent', stats: { sent: 1 } });
    const m = sink.messages.find((x) => x.header('Subject') === 'Signed reader@inbox.example')!;

    expect(m.from).toBe(BOUNCES);
    expect(m.header('From')).toBe('Shop <hello@shop.example>');
    expect(m.header('Message-ID')).toMatch(/@shop\.example>$/);
    const lookup = (name: string) => dns.records.get(name.toLowerCase())?.[0].join('');
    const result = verifyDkim(m.raw, lookup);
    expect(result, result.reason).toMatchObject({ ok: true, tags: { d: 'shop.example', s: d.dkimSelector } });
    // The signature really covers the message: one changed byte in the body fails it.
    expect(verifyDkim(m.raw.replace('Hello', 'Jello'), lookup)).toMatchObject({ ok: false, reason: 'body hash mismatch' });
    expect(verifyDkim(m.raw.replace('Subject: Signed', 'Subject: Signeb'), lookup)).toMatchObject({ ok: false, reason: 'signature mismatch' });
  });

  it('reproduction: "PayPal Security <service@paypal.com>" is refused everywhere, and nothing reaches the SMTP server', async () => {
    const fresh = await signUpWithOrg(t.app, 'phish');
    await t.db.owner.query('update users set email_verified_at = now() where id = $1', [fresh.userId]);
    const before = sink.messages.length;
    const phish = { name: 'Alert', subject: 'Your account is locked', fromName: 'PayPal Security', fromEmail: 'service@paypal.com', html: '<p>Log in now</p>' };
    const created = await inject(fresh, 'POST', '/api/email/campaigns', phish);
    expect(created.statusCode).toBe(400);
    expect(created.json()).toMatchObject({ code: 'sender_unverified', details: [{ path: 'fromEmail' }] });
    // A draft without a From (the platform default needs verification too once mail goes out by SMTP), then patched.
    const draft = (await inject(fresh, 'POST', '/api/email/campaigns', { ...phish, fromEmail: null })).json();
    expect((await inject(fresh, 'PATCH', `/api/email/campaigns/${draft.id}`, { fromEmail: 'service@paypal.com' })).json().code).toBe('sender_unverified');
    expect((await inject(fresh, 'GET', `/api/email/campaigns/${draft.id}`)).json().fromEmail).toBeNull();
    // A campaign stored with that From before this change: test send and send are refused.
    await t.db.owner.query("update email_campaigns set from_email = 'service@paypal.com' where id = $1", [draft.id]);
    for (const to of ['victim@example.com', fresh.email]) {
      const test = await inject(fresh, 'POST', `/api/email/campaigns/${draft.id}/test`, { to });
      expect(test.statusCode).toBe(400);
      expect(test.json().code).toBe('sender_unverified');
    }
    const send = await inject(fresh, 'POST', `/api/email-campaigns/${draft.id}/send`);
    expect(send.statusCode).toBe(400);
    expect((await inject(fresh, 'GET', `/api/email/campaigns/${draft.id}`)).json().status).toBe('draft');
    // Someone else's verified domain does not help either.
    expect((await inject(fresh, 'POST', '/api/email/campaigns', { ...phish, fromEmail: 'hello@shop.example' })).json().code).toBe('sender_unverified');
    await new Promise((r) => setTimeout(r, 200));
    expect(sink.messages.length).toBe(before);
  });

  it('a sender removed after the send was asked for fails the campaign instead of mailing', async () => {
    const d = await verifiedDomain(t.app, b.headers, dns, 'gone.example');
    await inject(b, 'POST', '/api/customers', { email: 'late@inbox.example', emailOptIn: true, tags: ['gone'] });
    const c = (await inject(b, 'POST', '/api/email/campaigns', { name: 'Later', subject: 'S', fromEmail: 'x@gone.example', html: '<p>x</p>', audience: { tags: ['gone'] }, scheduledAt: new Date(Date.now() + 1500).toISOString() })).json();
    expect((await inject(b, 'POST', `/api/email-campaigns/${c.id}/send`)).json().status).toBe('scheduled');
    expect((await inject(b, 'DELETE', `/api/senders/domains/${d.id}`)).statusCode).toBe(204);
    expect(await finished(b, c.id)).toMatchObject({ status: 'failed', error: 'The sender address is not verified', stats: { sent: 0 } });
    expect(sink.messages.some((m) => m.to[0] === 'late@inbox.example')).toBe(false);
  });
});

describe('single sender addresses', () => {
  it('are verified by a single-use, expiring link mailed to the address; a GET alone confirms nothing', async () => {
    const before = sink.messages.length;
    const add = await inject(a, 'POST', '/api/senders/addresses', { email: 'Founder@Personal.example' });
    expect(add.statusCode, add.body).toBe(201);
    expect(add.json()).toMatchObject({ email: 'founder@personal.example', status: 'pending' });
    expect((await inject(a, 'POST', '/api/email/campaigns', { name: 'P', fromEmail: 'founder@personal.example' })).json().code).toBe('sender_unverified');

    await waitFor(() => sink.messages.length > before);
    const mail = sink.messages[sink.messages.length - 1];
    expect(mail.to).toEqual(['founder@personal.example']);
    expect(mail.from).toBe(BOUNCES);
    const link = /http:\/\/localhost:\d+(\/api\/senders\/confirm\/[\w-]+)/.exec(mail.text)![1];

    const page = await t.app.inject({ url: link });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('founder@personal.example');
    expect((await inject(a, 'GET', '/api/senders/addresses')).json().data[0].status).toBe('pending');

    const confirm = await t.app.inject({ method: 'POST', url: link, headers: { 'sec-fetch-site': 'cross-site' } });
    expect(confirm.statusCode).toBe(200);
    expect((await inject(a, 'GET', '/api/senders/addresses')).json().data[0]).toMatchObject({ status: 'verified', confirmationExpiresAt: null });
    expect((await t.app.inject({ method: 'POST', url: link })).statusCode).toBe(404);
    expect((await inject(a, 'POST', '/api/senders/addresses', { email: 'founder@personal.example' })).statusCode).toBe(409);

    // Now usable as a From: no DKIM (not our domain), Message-ID on the platform's domain.
    await inject(a, 'POST', '/api/customers', { email: 'fan@inbox.example', emailOptIn: true, tags: ['single'] });
    const c = await inject(a, 'POST', '/api/email/campaigns', { name: 'From me', subject: 'From me', fromEmail: 'founder@personal.example', html: '<p>x</p>', audience: { tags: ['single'] } });
    expect(c.statusCode, c.body).toBe(201);
    await inject(a, 'POST', `/api/email-campaigns/${c.json().id}/send`);
    await finished(a, c.json().id);
    const m = sink.messages.find((x) => x.header('Subject') === 'From me')!;
    expect(m.header('From')).toBe('founder@personal.example');
    expect(m.header('Message-ID')).toMatch(/@platform\.example>$/);
    expect(m.header('DKIM-Signature')).toBe('');
    expect(m.from).toBe(BOUNCES);
  });

  it('refuses expired, tampered and foreign confirmation links', async () => {
    const before = sink.messages.length;
    await inject(b, 'POST', '/api/senders/addresses', { email: 'late@personal.example' });
    await waitFor(() => sink.messages.length > before);
    const link = /(\/api\/senders\/confirm\/[\w-]+)/.exec(sink.messages[sink.messages.length - 1].text)![1];
    const tampered = link.slice(0, -2) + (link.endsWith('AA') ? 'BB' : 'AA');
    expect((await t.app.inject({ method: 'POST', url: tampered })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/api/senders/confirm/not-a-token' })).statusCode).toBe(404);
    await t.db.owner.query("update sender_addresses set token_expires_at = now() - interval '1 second' where email = 'late@personal.example'");
    expect((await t.app.inject({ url: link })).statusCode).toBe(404);
    expect((await t.app.inject({ method: 'POST', url: link })).statusCode).toBe(404);
    expect((await inject(b, 'GET', '/api/senders/addresses')).json().data[0].status).toBe('pending');
  });

  it('mails confirmations to chosen addresses only a bounded number of times per organization (429)', async () => {
    const spammer = await signUpWithOrg(t.app, 'confirm-spam');
    const statuses: number[] = [];
    for (let i = 0; i <= t.config.email.testSendsPerHour; i++) statuses.push((await inject(spammer, 'POST', '/api/senders/addresses', { email: `target${i}@victim.example` })).statusCode);
    expect(statuses.filter((s) => s === 201)).toHaveLength(t.config.email.testSendsPerHour);
    expect(statuses[statuses.length - 1]).toBe(429);
  });
});

describe('development (local outbox)', () => {
  it('accepts the default sender without verification so the two-command start shows the whole flow, and nothing else', async () => {
    const dev = await createTestApp();
    try {
      const o = await signUpWithOrg(dev.app, 'dev');
      const h = o.headers;
      await dev.app.inject({ method: 'POST', url: '/api/customers', headers: h, payload: { email: 'grace@example.com', emailOptIn: true } });
      const c = await dev.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: h, payload: { name: 'Dev', subject: 'Hi', html: '<p>Hi</p>' } });
      expect((await dev.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.json().id}/send`, headers: h })).statusCode).toBe(202);
      const out = await waitFor(async () => {
        const list = (await dev.app.inject({ url: '/api/email/outbox', headers: h })).json();
        return list.data.length > 0 && list;
      });
      expect(out.data.length).toBe(1);
      const dir = `${dev.config.dataDir}/outbox/${o.organizationId}`;
      const eml = readFileSync(`${dir}/${readdirSync(dir)[0]}`, 'utf8');
      expect(eml).toMatch(/^From: no-reply@switchboard\.local/m);
      const other = await dev.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: h, payload: { name: 'X', fromEmail: 'news@acme.example' } });
      expect(other.json().code).toBe('sender_unverified');
    } finally {
      await dev.close();
    }
  });
});
