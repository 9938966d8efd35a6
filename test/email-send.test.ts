import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCustomer, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { startSmtpSink, waitFor, type SmtpSink } from './email-support.js';
import { fakeDns, verifiedDomain } from './sender-support.js';

let t: TestApp;
let sink: SmtpSink;
let a: Actor;
let b: Actor;
const tempFailures = new Map<string, number>();
const dns = fakeDns();

beforeAll(async () => {
  sink = await startSmtpSink({
    onRcpt(address) {
      if (address.startsWith('perm@')) return { code: 550, message: '5.1.1 No such user here' };
      if (address.startsWith('temp@')) {
        const n = (tempFailures.get(address) ?? 0) + 1;
        tempFailures.set(address, n);
        if (n <= 2) return { code: 451, message: '4.3.0 Try again later' };
      }
    },
  });
  const base = testConfig();
  t = await createTestApp({ config: { email: { ...base.email, smtpUrl: sink.url, retryBaseMs: 50 }, jobs: { inProcess: true, pollMs: 50 } }, dns: dns.resolver });
  a = await signUpWithOrg(t.app, 'sa');
  b = await signUpWithOrg(t.app, 'sb');
  await verifiedDomain(t.app, a.headers, dns, 'acme.example');
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const html = '<html><body><p>Hi {{ customer.firstName | default: "there" }}!</p><p><a href="https://shop.example/sale?x=1&amp;y=2">Sale</a></p></body></html>';

async function campaign(actor: Actor, extra: Record<string, unknown> = {}) {
  const res = await t.app.inject({
    method: 'POST',
    url: '/api/email/campaigns',
    headers: actor.headers,
    payload: { name: 'C', subject: 'Hello {{ customer.firstName | default: "there" }}', fromName: 'Acme', fromEmail: 'news@acme.example', html, audience: { tags: ['vip'] }, ...extra },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json();
}

async function finished(actor: Actor, id: string) {
  return waitFor(async () => {
    const c = (await t.app.inject({ url: `/api/email/campaigns/${id}`, headers: actor.headers })).json();
    return ['sent', 'failed', 'cancelled'].includes(c.status) && c;
  });
}

describe('sending a campaign', () => {
  it("reaches exactly the organization's opted-in, deliverable audience, once each, personalised, with tracking and unsubscribe headers", async () => {
    const vip = ['vip'];
    await createCustomer(t.app, a.headers, { email: 'ann@x.example', firstName: 'Ann <b>', emailOptIn: true, tags: vip });
    await createCustomer(t.app, a.headers, { email: 'notag@x.example', emailOptIn: true, tags: ['other'] });
    await createCustomer(t.app, a.headers, { email: 'optout@x.example', emailOptIn: false, tags: vip });
    const bounced = await createCustomer(t.app, a.headers, { email: 'bounced@x.example', emailOptIn: true, tags: vip });
    const unsub = await createCustomer(t.app, a.headers, { email: 'unsub@x.example', emailOptIn: true, tags: vip });
    await createCustomer(t.app, a.headers, { email: 'shared@x.example', emailOptIn: true, tags: vip });
    await createCustomer(t.app, b.headers, { email: 'shared@x.example', firstName: 'Bea', emailOptIn: true, tags: vip });
    await createCustomer(t.app, b.headers, { email: 'bonly@x.example', emailOptIn: true, tags: vip });
    await t.db.withTenant(a.organizationId, async (tx) => {
      await tx.execute(sql`update customers set email_status = 'bounced' where id = ${bounced.id}`);
      await tx.execute(sql`update customers set unsubscribed_at = now() where id = ${unsub.id}`);
    });

    const c = await campaign(a);
    const sent = await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers: a.headers });
    expect(sent.statusCode, sent.body).toBe(202);
    expect(['sending', 'sent']).toContain(sent.json().status);
    const again = await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers: a.headers });
    expect(again.statusCode).toBe(409);
    expect((await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers: b.headers })).statusCode).toBe(404);

    const done = await finished(a, c.id);
    expect(done).toMatchObject({ status: 'sent', stats: { recipients: 2, sent: 2, failed: 0 } });
    expect(done.sentAt).toBeTruthy();
    const mine = sink.messages.filter((m) => m.header('X-Switchboard-Message-Id') && m.raw.includes(c.id) === false);
    const got = sink.messages.filter((m) => /^Hello/.test(m.header('Subject')));
    expect(got.map((m) => m.to[0]).sort()).toEqual(['ann@x.example', 'shared@x.example']);
    expect(mine.length).toBeGreaterThanOrEqual(2);

    const ann = got.find((m) => m.to[0] === 'ann@x.example')!;
    expect(ann.header('Subject')).toBe('Hello Ann <b>');
    expect(ann.html).toContain('Hi Ann &lt;b&gt;!');
    expect(ann.text).toContain('Hi Ann <b>!');
    expect(ann.header('From')).toBe('Acme <news@acme.example>');
    expect(ann.header('List-Unsubscribe')).toMatch(/^<http:\/\/localhost:\d+\/api\/unsubscribe\/[\w-]+>$/);
    expect(ann.header('List-Unsubscribe-Post')).toBe('List-Unsubscribe=One-Click');
    expect(ann.html).toMatch(/\/api\/t\/open\/[\w-]+/);
    expect(ann.html).toMatch(/href="http:\/\/localhost:\d+\/api\/t\/click\/[\w-]+"/);
    expect(ann.html).not.toContain('shop.example');
    const shared = got.find((m) => m.to[0] === 'shared@x.example')!;
    expect(shared.header('Subject')).toBe('Hello there');

    // The header carries the message row's id; tokens reveal no id.
    const rows = await t.db.withTenant(a.organizationId, (tx) => tx.execute(sql`select id, to_email, status, provider_message_id from email_messages where campaign_id = ${c.id}`));
    const byEmail = new Map((rows as any).rows.map((r: any) => [r.to_email, r]));
    expect(ann.header('X-Switchboard-Message-Id')).toBe((byEmail.get('ann@x.example') as any).id);
    expect(JSON.parse(ann.header('X-SMTPAPI')).unique_args.sb_message_id).toBe((byEmail.get('ann@x.example') as any).id);
    expect((byEmail.get('ann@x.example') as any).provider_message_id).toMatch(/^q\d+$/);
    const token = /\/api\/t\/click\/([\w-]+)/.exec(ann.html)![1];
    const decoded = Buffer.from(token, 'base64url').toString('hex');
    for (const id of [(byEmail.get('ann@x.example') as any).id, a.organizationId, c.id]) expect(decoded).not.toContain(id.replace(/-/g, ''));

    // Organization B received nothing from A's campaign, and B sees none of A's messages.
    expect(sink.messages.some((m) => m.to[0] === 'bonly@x.example')).toBe(false);
    expect((await t.app.inject({ url: `/api/email/campaigns/${c.id}/messages`, headers: b.headers })).statusCode).toBe(404);
    const list = (await t.app.inject({ url: `/api/email/campaigns/${c.id}/messages`, headers: a.headers })).json();
    expect(list.data).toHaveLength(2);
    expect(list.data[0].timeline.map((e: any) => e.type)).toEqual(['queued', 'sent']);
  });

  it('retries temporary failures with backoff and records permanent failures with the server reply', async () => {
    await createCustomer(t.app, a.headers, { email: 'perm@y.example', emailOptIn: true, tags: ['retry'] });
    await createCustomer(t.app, a.headers, { email: 'temp@y.example', emailOptIn: true, tags: ['retry'] });
    const c = await campaign(a, { audience: { tags: ['retry'] } });
    expect((await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers: a.headers })).statusCode).toBe(202);
    const done = await finished(a, c.id);
    expect(done.status).toBe('sent');
    const list = (await t.app.inject({ url: `/api/email/campaigns/${c.id}/messages`, headers: a.headers })).json().data;
    const perm = list.find((m: any) => m.email === 'perm@y.example');
    const temp = list.find((m: any) => m.email === 'temp@y.example');
    expect(perm).toMatchObject({ status: 'failed', attempts: 1 });
    expect(perm.error).toMatch(/550.*No such user/);
    expect(temp).toMatchObject({ status: 'sent', attempts: 3 });
    expect(temp.timeline.filter((e: any) => e.type === 'deferred')).toHaveLength(2);
    expect(sink.messages.filter((m) => m.to[0] === 'temp@y.example')).toHaveLength(1);
    expect(done.stats).toMatchObject({ recipients: 2, sent: 1, failed: 1 });
  });

  it('schedules a future send, and a scheduled campaign can be cancelled before anything goes out', async () => {
    await createCustomer(t.app, a.headers, { email: 'later@z.example', emailOptIn: true, tags: ['later'] });
    const c = await campaign(a, { audience: { tags: ['later'] }, scheduledAt: new Date(Date.now() + 3600_000).toISOString() });
    const res = await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers: a.headers });
    expect(res.statusCode).toBe(202);
    expect(res.json().status).toBe('scheduled');
    expect((await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/cancel`, headers: b.headers })).statusCode).toBe(404);
    const cancel = await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/cancel`, headers: a.headers });
    expect(cancel.statusCode).toBe(200);
    expect(cancel.json()).toMatchObject({ status: 'cancelled', stats: { recipients: 0 } });
    expect((await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/cancel`, headers: a.headers })).statusCode).toBe(409);
    expect((await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers: a.headers })).statusCode).toBe(409);

    // A schedule that comes due is sent by the worker.
    const soon = await campaign(a, { audience: { tags: ['later'] }, scheduledAt: new Date(Date.now() + 1500).toISOString() });
    expect((await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${soon.id}/send`, headers: a.headers })).json().status).toBe('scheduled');
    const done = await finished(a, soon.id);
    expect(done).toMatchObject({ status: 'sent', stats: { recipients: 1, sent: 1 } });
    expect(sink.messages.filter((m) => m.to[0] === 'later@z.example')).toHaveLength(1);
  });

  it("sends one preview to a verified member's address with the original links", async () => {
    const c = await campaign(a);
    await t.db.owner.query('update users set email_verified_at = now() where id = $1', [a.userId]);
    const before = sink.messages.length;
    const res = await t.app.inject({ method: 'POST', url: `/api/email/campaigns/${c.id}/test`, headers: a.headers, payload: { to: a.email } });
    expect(res.statusCode, res.body).toBe(202);
    expect(sink.messages.length).toBe(before + 1);
    const m = sink.messages[sink.messages.length - 1];
    expect(m.to).toEqual([a.email]);
    expect(m.header('Subject')).toBe('[Test] Hello there');
    expect(m.html).toContain('https://shop.example/sale?x=1&amp;y=2');
    expect((await t.app.inject({ url: `/api/email/campaigns/${c.id}`, headers: a.headers })).json().status).toBe('draft');
  });
});
