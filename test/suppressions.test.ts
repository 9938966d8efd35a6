/**
 * Consent that survives: the suppression list is written by unsubscribes, complaints and hard
 * bounces, outlives the customer row, is applied to every audience, and is managed by hand.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addMember, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { signedHeaders, startSmtpSink, waitFor, webhookKeys, type Received, type SmtpSink } from './email-support.js';
import { fakeDns, verifiedDomain } from './sender-support.js';

let t: TestApp;
let sink: SmtpSink;
let a: Actor;
let b: Actor;
const dns = fakeDns();
const keys = webhookKeys();

beforeAll(async () => {
  sink = await startSmtpSink();
  const base = testConfig();
  t = await createTestApp({
    config: { email: { ...base.email, smtpUrl: sink.url, sendgridWebhookPublicKey: keys.publicKey }, jobs: { inProcess: true, pollMs: 50 } },
    dns: dns.resolver,
  });
  a = await signUpWithOrg(t.app, 'pa');
  b = await signUpWithOrg(t.app, 'pb');
  await verifiedDomain(t.app, a.headers, dns, 'a.example');
  await verifiedDomain(t.app, b.headers, dns, 'b.example');
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const inject = (actor: Actor, method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
  t.app.inject({ method: method as any, url, headers: { ...actor.headers, ...headers }, ...(payload !== undefined && { payload: payload as any }) });

/** Sends a campaign to a tag and returns the messages the SMTP server received for it. */
async function sendTo(actor: Actor, tag: string, domain: string): Promise<{ id: string; stats: any; mails: Received[] }> {
  const subject = `About ${tag} ${Math.random().toString(36).slice(2, 8)}`;
  const c = (await inject(actor, 'POST', '/api/email/campaigns', { name: tag, subject, fromEmail: `news@${domain}`, html: '<p>Hi</p>', audience: { tags: [tag] } })).json();
  expect((await inject(actor, 'POST', `/api/email-campaigns/${c.id}/send`)).statusCode).toBe(202);
  const done = await waitFor(async () => {
    const x = (await inject(actor, 'GET', `/api/email/campaigns/${c.id}`)).json();
    return x.status === 'sent' && x;
  });
  return { id: c.id, stats: done.stats, mails: sink.messages.filter((m) => m.header('Subject') === subject) };
}

const customersNamed = async (actor: Actor, q: string) => (await inject(actor, 'GET', `/api/customers?q=${encodeURIComponent(q)}`)).json().data;

describe('the suppression list', () => {
  it('reproduction: unsubscribe, delete the customer, re-create and re-import it — the campaign does not mail it again', async () => {
    await inject(a, 'POST', '/api/customers', { email: 'Kim@Inbox.example', emailOptIn: true, tags: ['news'] });
    await inject(a, 'POST', '/api/customers', { email: 'lee@inbox.example', emailOptIn: true, tags: ['news'] });
    await inject(b, 'POST', '/api/customers', { email: 'kim@inbox.example', emailOptIn: true, tags: ['news'] });
    const first = await sendTo(a, 'news', 'a.example');
    const kimMail = first.mails.find((m) => m.to[0].toLowerCase() === 'kim@inbox.example')!;
    const path = new URL(/^<(.+)>$/.exec(kimMail.header('List-Unsubscribe'))![1]).pathname;

    // RFC 8058 one-click from a browser-based mail client: cross-site, foreign Origin, no cookie.
    const res = await t.app.inject({
      method: 'POST',
      url: path,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site', origin: 'https://webmail.example' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(res.statusCode, res.body).toBe(200);
    const list = (await inject(a, 'GET', '/api/suppressions')).json().data;
    expect(list).toEqual([expect.objectContaining({ channel: 'email', address: 'kim@inbox.example', reason: 'unsubscribed', source: 'unsubscribe_link' })]);
    const [kim] = await customersNamed(a, 'kim@');
    expect(kim).toMatchObject({ emailOptIn: false, emailSuppressed: true, smsSuppressed: false });

    // Delete, re-create with opt-in (another spelling), delete, re-import: still suppressed.
    expect((await inject(a, 'DELETE', `/api/customers/${kim.id}`)).statusCode).toBe(204);
    const again = (await inject(a, 'POST', '/api/customers', { email: 'KIM@inbox.example', emailOptIn: true, tags: ['news'] })).json();
    expect(again).toMatchObject({ emailOptIn: true, emailSuppressed: true });
    expect((await inject(a, 'DELETE', `/api/customers/${again.id}`)).statusCode).toBe(204);
    const imp = await inject(a, 'POST', '/api/customers/import', 'email,email_opt_in,tags\nkim@inbox.example,yes,news\n', { 'content-type': 'text/csv' });
    expect(imp.statusCode, imp.body).toBe(200);
    expect((await customersNamed(a, 'kim@'))[0]).toMatchObject({ emailOptIn: true, emailSuppressed: true });

    const second = await sendTo(a, 'news', 'a.example');
    expect(second.stats.recipients).toBe(1);
    expect(second.mails.map((m) => m.to[0])).toEqual(['lee@inbox.example']);
    // Organization B's customer with the same address is not A's suppression.
    const bSend = await sendTo(b, 'news', 'b.example');
    expect(bSend.mails.map((m) => m.to[0])).toEqual(['kim@inbox.example']);
    expect((await customersNamed(b, 'kim@'))[0].emailSuppressed).toBe(false);
  });

  it('keeps CSRF on cookie routes such as sign-in', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/auth/sign-in', headers: { 'sec-fetch-site': 'cross-site' }, payload: { email: a.email, password: 'correct horse battery' } });
    expect(res.statusCode).toBe(403);
  });

  it('records hard bounces, spam reports and provider unsubscribes from the signed webhook, not soft blocks', async () => {
    for (const e of ['hard', 'spam', 'group', 'soft']) await inject(a, 'POST', '/api/customers', { email: `${e}@events.example`, emailOptIn: true, tags: ['events'] });
    const sent = await sendTo(a, 'events', 'a.example');
    const id = (addr: string) => sent.mails.find((m) => m.to[0] === addr)!.header('X-Switchboard-Message-Id');
    const ts = Math.floor(Date.now() / 1000);
    const events = [
      { event: 'bounce', type: 'bounce', email: 'hard@events.example', sb_message_id: id('hard@events.example'), sg_event_id: 'p-1', timestamp: ts },
      { event: 'spamreport', email: 'spam@events.example', sb_message_id: id('spam@events.example'), sg_event_id: 'p-2', timestamp: ts },
      { event: 'group_unsubscribe', email: 'group@events.example', sb_message_id: id('group@events.example'), sg_event_id: 'p-3', timestamp: ts },
      { event: 'bounce', type: 'blocked', email: 'soft@events.example', sb_message_id: id('soft@events.example'), sg_event_id: 'p-4', timestamp: ts },
    ];
    const body = JSON.stringify(events);
    const res = await t.app.inject({ method: 'POST', url: '/api/webhooks/email', headers: signedHeaders(keys.privateKey, body), payload: body });
    expect(res.statusCode, res.body).toBe(200);
    const got = (await inject(a, 'GET', '/api/suppressions?limit=200')).json().data.filter((s: any) => s.address.endsWith('@events.example'));
    expect(got.map((s: any) => [s.address, s.reason, s.source]).sort()).toEqual([
      ['group@events.example', 'unsubscribed', 'sendgrid'],
      ['hard@events.example', 'bounced', 'sendgrid'],
      ['spam@events.example', 'complained', 'sendgrid'],
    ]);
    const again = await sendTo(a, 'events', 'a.example');
    expect(again.mails.map((m) => m.to[0])).toEqual(['soft@events.example']);
  });

  it('is listed, filtered, paginated, added to and removed from by hand, with an audit entry for each removal', async () => {
    const add = await inject(a, 'POST', '/api/suppressions', { address: ' Manual@X.example ' });
    expect(add.statusCode, add.body).toBe(201);
    expect(add.json()).toMatchObject({ channel: 'email', address: 'manual@x.example', reason: 'manual', source: 'manual' });
    expect((await inject(a, 'POST', '/api/suppressions', { address: 'manual@x.example' })).statusCode).toBe(409);
    expect((await inject(a, 'POST', '/api/suppressions', { address: 'not-an-address' })).statusCode).toBe(400);
    const sms = await inject(a, 'POST', '/api/suppressions', { channel: 'sms', address: '+1 (555) 010-9999' });
    expect(sms.json()).toMatchObject({ channel: 'sms', address: '+15550109999' });
    expect((await inject(a, 'POST', '/api/suppressions', { channel: 'sms', address: 'call me' })).statusCode).toBe(400);
    const withPhone = (await inject(a, 'POST', '/api/customers', { phone: '+1 555 010 9999', email: 'phone@x.example' })).json();
    expect(withPhone).toMatchObject({ smsSuppressed: true, emailSuppressed: false });
    // A list page looks the whole page up at once: the number typed either way, the address in any case.
    const both = (await inject(a, 'POST', '/api/customers', { phone: '+15550109999', email: 'MANUAL@x.example' })).json();
    const clean = (await inject(a, 'POST', '/api/customers', { phone: '+15550108888', email: 'clean@x.example' })).json();
    const listed = (await inject(a, 'GET', '/api/customers?limit=200')).json().data;
    const flagsOf = (id: string) => listed.find((c: any) => c.id === id);
    expect(flagsOf(withPhone.id)).toMatchObject({ smsSuppressed: true, emailSuppressed: false });
    expect(flagsOf(both.id)).toMatchObject({ smsSuppressed: true, emailSuppressed: true });
    expect(flagsOf(clean.id)).toMatchObject({ smsSuppressed: false, emailSuppressed: false });

    expect((await inject(a, 'GET', '/api/suppressions?address=MANUAL@x.example')).json().data.map((s: any) => s.id)).toEqual([add.json().id]);
    expect((await inject(a, 'GET', '/api/suppressions?channel=sms')).json().data.map((s: any) => s.address)).toEqual(['+15550109999']);
    const page1 = (await inject(a, 'GET', '/api/suppressions?limit=2')).json();
    const page2 = (await inject(a, 'GET', `/api/suppressions?limit=2&cursor=${page1.nextCursor}`)).json();
    expect(page1.data).toHaveLength(2);
    expect(page2.data.map((s: any) => s.id)).not.toContain(page1.data[0].id);

    // Only an admin may let an address be mailed again; another organization sees and removes nothing.
    const member = await addMember(t.app, a, 'member');
    expect((await inject(member, 'DELETE', `/api/suppressions/${add.json().id}`)).statusCode).toBe(403);
    expect((await inject(b, 'DELETE', `/api/suppressions/${add.json().id}`)).statusCode).toBe(404);
    expect((await inject(b, 'GET', '/api/suppressions?address=manual@x.example')).json().data).toEqual([]);
    expect((await inject(a, 'DELETE', `/api/suppressions/${add.json().id}`)).statusCode).toBe(204);
    expect((await inject(a, 'DELETE', `/api/suppressions/${add.json().id}`)).statusCode).toBe(404);
    const audit = (await inject(a, 'GET', `/api/audit-log?resourceId=${add.json().id}`)).json().data;
    expect(audit.map((e: any) => e.action)).toEqual(['suppression.removed', 'suppression.created']);
    expect(audit[0].changes).toMatchObject({ address: 'manual@x.example', reason: 'manual' });
  });
});
