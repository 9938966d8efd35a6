import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCustomer, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { signedHeaders, startSmtpSink, waitFor, webhookKeys, type Received, type SmtpSink } from './email-support.js';
import { fakeDns, verifiedDomain } from './sender-support.js';

let t: TestApp;
let sink: SmtpSink;
let a: Actor;
let b: Actor;
const keys = webhookKeys();
const msgs: Record<string, { id: string; mail: Received; customerId: string }> = {};
let campaignA: string;
const dns = fakeDns();

const html = '<p>Hi</p><p><a href="https://shop.example/a">A</a> <a href="https://shop.example/b">B</a></p>';

async function sendTo(actor: Actor, tag: string) {
  const c = (await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: actor.headers, payload: { name: tag, subject: `S ${tag}`, fromEmail: `news@${tag}.example`, html, audience: { tags: [tag] } } })).json();
  expect((await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers: actor.headers })).statusCode).toBe(202);
  await waitFor(async () => (await t.app.inject({ url: `/api/email/campaigns/${c.id}`, headers: actor.headers })).json().status === 'sent');
  const list = (await t.app.inject({ url: `/api/email/campaigns/${c.id}/messages`, headers: actor.headers })).json().data;
  for (const m of list) {
    const mail = sink.messages.find((x) => x.header('X-Switchboard-Message-Id') === m.id)!;
    msgs[`${tag}:${m.email}`] = { id: m.id, mail, customerId: m.customerId };
  }
  return c.id as string;
}

const customer = async (actor: Actor, id: string) => (await t.app.inject({ url: `/api/customers/${id}`, headers: actor.headers })).json();
const post = (events: unknown[], headers: Record<string, string>, body = JSON.stringify(events)) =>
  t.app.inject({ method: 'POST', url: '/api/webhooks/email', headers, payload: body });
const eventCount = async () =>
  Number(((await t.db.withSystem('resolve-email-webhook', (tx) => tx.execute(sql`select count(*)::int as n from email_events`))) as any).rows[0].n);

beforeAll(async () => {
  sink = await startSmtpSink();
  const base = testConfig();
  t = await createTestApp({ config: { email: { ...base.email, smtpUrl: sink.url, sendgridWebhookPublicKey: keys.publicKey }, jobs: { inProcess: true, pollMs: 50 } }, dns: dns.resolver });
  a = await signUpWithOrg(t.app, 'ea');
  b = await signUpWithOrg(t.app, 'eb');
  await verifiedDomain(t.app, a.headers, dns, 'a.example');
  await verifiedDomain(t.app, b.headers, dns, 'b.example');
  for (const email of ['shared@e.example', 'x@e.example', 'y@e.example']) await createCustomer(t.app, a.headers, { email, emailOptIn: true, tags: ['a'] });
  await createCustomer(t.app, b.headers, { email: 'shared@e.example', emailOptIn: true, tags: ['b'] });
  campaignA = await sendTo(a, 'a');
  await sendTo(b, 'b');
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

describe('tracking links', () => {
  it('redirects a click only to the original URL of that message, and refuses tampered tokens', async () => {
    const m = msgs['a:x@e.example'];
    const links = [...m.mail.html.matchAll(/\/api\/t\/click\/([\w-]+)/g)].map((x) => x[1]);
    expect(links).toHaveLength(2);
    const res = await t.app.inject({ url: `/api/t/click/${links[1]}?url=https://evil.example/` });
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('https://shop.example/b');
    // Flip one character anywhere in the token: refused, nothing recorded.
    for (const pos of [0, 20, 40, links[0].length - 1]) {
      const bad = links[0].slice(0, pos) + (links[0][pos] === 'A' ? 'B' : 'A') + links[0].slice(pos + 1);
      expect((await t.app.inject({ url: `/api/t/click/${bad}` })).statusCode).toBe(404);
    }
    expect((await t.app.inject({ url: '/api/t/click/https%3A%2F%2Fevil.example' })).statusCode).toBe(404);
    // An open token is not a click token.
    const open = /\/api\/t\/open\/([\w-]+)/.exec(m.mail.html)![1];
    expect((await t.app.inject({ url: `/api/t/click/${open}` })).statusCode).toBe(404);
    const pixel = await t.app.inject({ url: `/api/t/open/${open}` });
    expect(pixel.statusCode).toBe(200);
    expect(pixel.headers['content-type']).toBe('image/gif');

    const an = (await t.app.inject({ url: `/api/email/campaigns/${campaignA}/analytics`, headers: a.headers })).json();
    expect(an).toMatchObject({ recipients: 3, sent: 3, clicks: { unique: 1, total: 1 }, opens: { unique: 1 } });
    // Every tracked link in the order of the email, the unclicked one at zero.
    expect(an.links).toEqual([
      { url: 'https://shop.example/a', clicks: 0, uniqueClicks: 0 },
      { url: 'https://shop.example/b', clicks: 1, uniqueClicks: 1 },
    ]);
    expect((await t.app.inject({ url: `/api/email/campaigns/${campaignA}/analytics`, headers: b.headers })).statusCode).toBe(404);
  });

  it("one-click unsubscribe in A clears A's opt-in and leaves B's customer with the same address subscribed", async () => {
    const m = msgs['a:shared@e.example'];
    const url = /^<(.+)>$/.exec(m.mail.header('List-Unsubscribe'))![1];
    const path = new URL(url).pathname;
    const page = await t.app.inject({ url: path });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<form method="post"');
    expect((await customer(a, m.customerId)).emailOptIn).toBe(true);
    const res = await t.app.inject({ method: 'POST', url: path, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    expect(res.statusCode).toBe(200);
    expect((await customer(a, m.customerId)).emailOptIn).toBe(false);
    expect((await customer(b, msgs['b:shared@e.example'].customerId)).emailOptIn).toBe(true);
    const tampered = path.slice(0, -3) + (path.endsWith('AAA') ? 'BBB' : 'AAA');
    expect((await t.app.inject({ method: 'POST', url: tampered, payload: '' })).statusCode).toBe(404);
  });
});

describe('SendGrid event webhook', () => {
  it('applies signature-verified events to the right messages and customers, inside their own organization', async () => {
    const x = msgs['a:x@e.example'];
    const y = msgs['a:y@e.example'];
    const bShared = msgs['b:shared@e.example'];
    const ts = Math.floor(Date.now() / 1000);
    const providerId = ((await t.db.withTenant(a.organizationId, (tx) => tx.execute(sql`select provider_message_id from email_messages where id = ${x.id}`))) as any).rows[0]
      .provider_message_id;
    expect(providerId).toMatch(/^q\d+$/);
    const events = [
      { event: 'delivered', sg_event_id: 'ev-1', sb_message_id: x.id, timestamp: ts, email: 'x@e.example' },
      { event: 'open', sg_event_id: 'ev-2', sb_message_id: x.id, timestamp: ts + 1 },
      { event: 'processed', sg_event_id: 'ev-3', sb_message_id: y.id, timestamp: ts - 5 },
      { event: 'bounce', type: 'bounce', sg_event_id: 'ev-4', sb_message_id: y.id, timestamp: ts, reason: '550 5.1.1 unknown user' },
      // Out of order: a late "delivered" must not undo the bounce.
      { event: 'delivered', sg_event_id: 'ev-5', sb_message_id: y.id, timestamp: ts - 1 },
      { event: 'spamreport', sg_event_id: 'ev-6', sb_message_id: bShared.id, timestamp: ts },
      { event: 'delivered', sg_event_id: 'ev-7', sb_message_id: '00000000-0000-4000-8000-000000000000', timestamp: ts },
      // Our id missing (asynchronous bounce): matched by the provider's message id from the SMTP reply.
      { event: 'deferred', sg_event_id: 'ev-8', sg_message_id: `${providerId}.filter0001.1.0`, timestamp: ts - 10, response: '421 try later' },
      { event: 'deferred', sg_event_id: 'ev-9', sg_message_id: 'unknown.filter0001', timestamp: ts },
    ];
    const body = JSON.stringify(events);
    const res = await post(events, signedHeaders(keys.privateKey, body), body);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ received: 9, applied: 7, duplicates: 0, unknown: 2 });

    const list = (await t.app.inject({ url: `/api/email/campaigns/${campaignA}/messages`, headers: a.headers })).json().data;
    const mx = list.find((m: any) => m.id === x.id);
    const my = list.find((m: any) => m.id === y.id);
    expect(mx.status).toBe('delivered');
    expect(mx.deliveredAt).toBeTruthy();
    // The deferral (matched by the provider's id) came before the delivery: status stays delivered.
    expect(mx.timeline.map((e: any) => e.type)).toEqual(expect.arrayContaining(['queued', 'sent', 'deferred', 'delivered', 'open', 'click']));
    expect(my.status).toBe('bounced');
    expect(my.error).toMatch(/unknown user/);
    expect(my.timeline.map((e: any) => e.type)).toEqual(expect.arrayContaining(['queued', 'sent', 'bounce', 'delivered']));
    expect((await customer(a, y.customerId)).emailStatus).toBe('bounced');
    // The spam report in B cleared B's opt-in; A's customer with the same address is another row.
    const bc = await customer(b, bShared.customerId);
    expect(bc).toMatchObject({ emailOptIn: false, emailStatus: 'complained' });
    expect((await customer(a, x.customerId)).emailStatus).toBe('active');
    // The platform's consent changes are on each organization's audit log, as the system actor.
    const audit = async (actor: Actor, id: string) =>
      (await t.app.inject({ url: `/api/audit-log?resourceType=customer&resourceId=${id}`, headers: actor.headers })).json().data;
    expect(await audit(a, y.customerId)).toEqual([
      expect.objectContaining({ actorType: 'system', actorId: null, actorReason: 'sendgrid-webhook', action: 'customer.email_consent_changed', changes: { emailStatus: 'bounced', emailOptIn: true, source: 'sendgrid' } }),
      expect.objectContaining({ action: 'customer.created' }),
    ]);
    expect((await audit(b, bShared.customerId))[0]).toMatchObject({ actorType: 'system', changes: { emailStatus: 'complained', emailOptIn: false } });
    expect((await audit(a, x.customerId)).map((e: any) => e.action)).toEqual(['customer.created']);

    const an = (await t.app.inject({ url: `/api/email/campaigns/${campaignA}/analytics`, headers: a.headers })).json();
    // y's delivery was reported too (before its bounce): both are recorded, the status is the bounce.
    expect(an).toMatchObject({ delivered: 2, bounced: 1, complained: 0 });
    expect(an.rates.bounce).toBeCloseTo(1 / 3, 3);

    // Replayed (even freshly signed): acknowledged, nothing applied twice.
    const before = await eventCount();
    const again = await post(events, signedHeaders(keys.privateKey, body), body);
    expect(again.json()).toMatchObject({ applied: 0, duplicates: 7 });
    expect(await eventCount()).toBe(before);
  });

  it('refuses forged, unsigned, altered and stale batches and writes nothing', async () => {
    const x = msgs['a:x@e.example'];
    const events = [{ event: 'spamreport', sg_event_id: 'forged-1', sb_message_id: x.id, timestamp: Math.floor(Date.now() / 1000) }];
    const body = JSON.stringify(events);
    const before = await eventCount();
    const other = webhookKeys();
    const cases: [string, Record<string, string>, string][] = [
      ['forged', signedHeaders(other.privateKey, body), body],
      ['unsigned', { 'content-type': 'application/json' }, body],
      ['altered', signedHeaders(keys.privateKey, body), body.replace('spamreport', 'unsubscribe')],
      ['stale', signedHeaders(keys.privateKey, body, Math.floor(Date.now() / 1000) - 600), body],
      ['garbage signature', { ...signedHeaders(keys.privateKey, body), 'x-twilio-email-event-webhook-signature': 'not-base64!' }, body],
    ];
    for (const [name, headers, payload] of cases) {
      const res = await post(events, headers, payload);
      expect(res.statusCode, name).toBe(401);
    }
    expect(await eventCount()).toBe(before);
    expect((await customer(a, x.customerId)).emailStatus).toBe('active');
  });

  // How fast: the email benchmark (bench/email.ts, events/s and time to acknowledge), not a wall-clock bound
  // here, which a busy shared host breaks without any change to the code.
  it('applies every event of a full-size signed batch (SendGrid posts at most about 768 KB) in one request', async () => {
    const x = msgs['a:x@e.example'];
    const ts = Math.floor(Date.now() / 1000);
    const events = Array.from({ length: 5_000 }, (_, i) => ({ event: i % 2 ? 'open' : 'click', url: 'https://shop.example/a', sg_event_id: `bulk-${i}`, sb_message_id: x.id, timestamp: ts }));
    const body = JSON.stringify(events);
    expect(body.length).toBeGreaterThan(700_000);
    expect(body.length).toBeLessThan(768 * 1024);
    const started = Date.now();
    const res = await post(events, signedHeaders(keys.privateKey, body), body);
    const ms = Date.now() - started;
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ received: 5_000, applied: 5_000 });
    console.log(`full-size SendGrid batch (${(body.length / 1024).toFixed(0)} KB): ${ms} ms`);
  });
});

describe('webhook without a configured key', () => {
  it('refuses every batch', async () => {
    const other = await createTestApp();
    try {
      const body = '[]';
      const res = await other.app.inject({ method: 'POST', url: '/api/webhooks/email', headers: signedHeaders(keys.privateKey, body), payload: body });
      expect(res.statusCode).toBe(503);
    } finally {
      await other.close();
    }
  });
});
