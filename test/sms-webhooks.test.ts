// Twilio's SMS webhooks, signed with the twilio SDK's own function: status callbacks (organization
// found by AccountSid, signature checked with that organization's token) and inbound messages
// (organization found by the number messaged). TwiML answers parsed as XML.
import { sql } from 'drizzle-orm';
import * as domutils from 'domutils';
import { parseDocument } from 'htmlparser2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../src/db/sql.js';
import { createCustomer, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { connectTwilio, newTwilioAccount, signedTwilioRequest, startFakeTwilio, twilioSignature, type FakeTwilio } from './twilio-support.js';

let t: TestApp;
let fake: FakeTwilio;
let a: Actor;
let b: Actor;
const accA = newTwilioAccount();
const accB = newTwilioAccount();
const NUM_A = '+14155550110';
const NUM_B = '+14155550210';
const PUBLIC_URL = 'https://public.example.org';
const STATUS = '/api/webhooks/sms';
const INBOUND = '/api/webhooks/sms/inbound';

beforeAll(async () => {
  fake = await startFakeTwilio({ accounts: { [accA.accountSid]: accA.authToken, [accB.accountSid]: accB.authToken } });
  const base = testConfig();
  // Behind a proxy: Twilio signs the public URL, not the address the server listens on.
  t = await createTestApp({ config: { publicUrl: PUBLIC_URL, twilio: { ...base.twilio, apiBaseUrl: fake.url }, jobs: { inProcess: false, pollMs: 1000 } } });
  a = await signUpWithOrg(t.app, 'sms-hook-a');
  b = await signUpWithOrg(t.app, 'sms-hook-b');
  await connectTwilio(t.app, a.headers, fake, accA, [NUM_A]);
  await connectTwilio(t.app, b.headers, fake, accB, [NUM_B]);
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

/** A message of the organization with this sid, as a send would have left it. */
async function sentMessage(actor: Actor, sid: string, phone: string) {
  const c = (await t.app.inject({ method: 'POST', url: '/api/sms/campaigns', headers: actor.headers, payload: { name: 'S', body: 'x' } })).json();
  const cu = await createCustomer(t.app, actor.headers, { phone, smsOptIn: true });
  await t.db.withTenant(actor.organizationId, (tx) =>
    tx.execute(sql`insert into sms_messages (organization_id, campaign_id, customer_id, to_phone, body, status, provider_message_id, sent_at)
      values (${actor.organizationId}, ${c.id}, ${cu.id}, ${phone}, 'x', 'sent', ${sid}, now())`),
  );
  return c.id as string;
}
const messageOf = async (actor: Actor, sid: string) =>
  (await t.db.withTenant(actor.organizationId, (tx) => query<any>(tx, sql`select status, error_code from sms_messages where organization_id = ${actor.organizationId} and provider_message_id = ${sid}`)))[0];
const eventCount = async () => (await t.db.owner.query<{ n: number }>('select count(*)::int as n from sms_status_events'))[0].n;
const inboundCount = async () => (await t.db.owner.query<{ n: number }>('select count(*)::int as n from sms_inbound_messages'))[0].n;

const sid = () => `SM${Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32)}`;
const callback = (acc: { accountSid: string }, messageSid: string, status: string, extra: Record<string, string> = {}) => ({
  AccountSid: acc.accountSid,
  MessageSid: messageSid,
  SmsSid: messageSid,
  MessageStatus: status,
  SmsStatus: status,
  From: NUM_A,
  To: '+14155559999',
  ApiVersion: '2010-04-01',
  ...extra,
});

function twimlMessages(body: string) {
  const doc = parseDocument(body, { xmlMode: true });
  expect(domutils.getElementsByTagName('Response', doc)).toHaveLength(1);
  return domutils.getElementsByTagName('Message', doc).map((m) => domutils.textContent(m));
}

describe('POST /api/webhooks/sms (status callbacks)', () => {
  it("applies A's signed callbacks to A's message, forward only, out of order and repeated, keeping the error code", async () => {
    const s = sid();
    await sentMessage(a, s, '+14155556001');
    for (const [status, code] of [['delivered', undefined], ['sent', undefined], ['queued', undefined], ['delivered', undefined], ['undelivered', '30003']] as const) {
      const res = await signedTwilioRequest(t, accA.authToken, STATUS, callback(accA, s, status, code ? { ErrorCode: code } : {}));
      expect(res.statusCode, res.body).toBe(200);
    }
    expect(await messageOf(a, s)).toEqual({ status: 'delivered', error_code: null });

    const s2 = sid();
    await sentMessage(a, s2, '+14155556002');
    await signedTwilioRequest(t, accA.authToken, STATUS, callback(accA, s2, 'undelivered', { ErrorCode: '30005' }));
    await signedTwilioRequest(t, accA.authToken, STATUS, callback(accA, s2, 'sent'));
    expect(await messageOf(a, s2)).toEqual({ status: 'undelivered', error_code: 30005 });
  });

  it('401 and nothing written for a bad signature, for A\'s callback signed with B\'s token, and for an unknown account', async () => {
    const s = sid();
    await sentMessage(a, s, '+14155556003');
    const before = await eventCount();
    const bad = await signedTwilioRequest(t, accA.authToken, STATUS, callback(accA, s, 'delivered'), { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
    expect(bad.statusCode).toBe(401);
    const crossed = await signedTwilioRequest(t, accB.authToken, STATUS, callback(accA, s, 'failed', { ErrorCode: '30008' }));
    expect(crossed.statusCode).toBe(401);
    // Signed for the address the server listens on, not the public URL Twilio calls.
    const wrongUrl = await signedTwilioRequest(t, accA.authToken, STATUS, callback(accA, s, 'delivered'), { signedUrl: `http://localhost:3000${STATUS}` });
    expect(wrongUrl.statusCode).toBe(401);
    // Parameters changed after signing.
    const tampered = await signedTwilioRequest(t, accA.authToken, STATUS, callback(accA, s, 'failed'), {
      signature: twilioSignature(accA.authToken, `${PUBLIC_URL}${STATUS}`, callback(accA, s, 'sent')),
    });
    expect(tampered.statusCode).toBe(401);
    // The same callback, correctly signed, is applied.
    expect((await signedTwilioRequest(t, accA.authToken, STATUS, callback(accA, s, 'delivered'))).statusCode).toBe(200);
    const stranger = newTwilioAccount();
    expect((await signedTwilioRequest(t, stranger.authToken, STATUS, callback(stranger, s, 'failed'))).statusCode).toBe(401);
    const missing = await t.app.inject({ method: 'POST', url: STATUS, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams(callback(accA, s, 'failed')).toString() });
    expect(missing.statusCode).toBe(401);
    expect(await eventCount()).toBe(before + 1);
    expect(await messageOf(a, s)).toEqual({ status: 'delivered', error_code: null });
  });

  it("B's account naming A's message sid changes nothing in A", async () => {
    const s = sid();
    await sentMessage(a, s, '+14155556004');
    const res = await signedTwilioRequest(t, accB.authToken, STATUS, callback(accB, s, 'failed', { ErrorCode: '30008' }));
    expect(res.statusCode).toBe(200);
    expect(await messageOf(a, s)).toEqual({ status: 'sent', error_code: null });
  });
});

describe('POST /api/webhooks/sms/inbound', () => {
  const incoming = (acc: { accountSid: string }, to: string, from: string, body: string, messageSid = sid()) => ({
    AccountSid: acc.accountSid,
    MessageSid: messageSid,
    SmsMessageSid: messageSid,
    From: from,
    To: to,
    Body: body,
    NumMedia: '0',
    ApiVersion: '2010-04-01',
  });
  const customer = async (actor: Actor, id: string) => (await t.app.inject({ url: `/api/customers/${id}`, headers: actor.headers })).json();

  it("A's STOP suppresses the number in A only; the same number in B is untouched; START lifts it", async () => {
    const phone = '+14155557001';
    const ca = await createCustomer(t.app, a.headers, { phone, smsOptIn: true });
    const cb = await createCustomer(t.app, b.headers, { phone, smsOptIn: true });
    const res = await signedTwilioRequest(t, accA.authToken, INBOUND, incoming(accA, NUM_A, phone, ' stop '));
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/xml/);
    expect(twimlMessages(res.body)).toEqual([]);
    expect((await customer(a, ca.id)).smsOptIn).toBe(false);
    expect((await t.app.inject({ url: `/api/suppressions?channel=sms&address=${encodeURIComponent(phone)}`, headers: a.headers })).json().data).toHaveLength(1);
    expect((await customer(b, cb.id)).smsOptIn).toBe(true);
    expect((await t.app.inject({ url: `/api/suppressions?channel=sms&address=${encodeURIComponent(phone)}`, headers: b.headers })).json().data).toEqual([]);
    const audit = (await t.app.inject({ url: '/api/audit-log?resourceType=suppression', headers: a.headers })).json().data;
    expect(audit[0]).toMatchObject({ action: 'sms.opted_out', actorType: 'system' });

    await signedTwilioRequest(t, accA.authToken, INBOUND, incoming(accA, NUM_A, phone, 'UNSTOP'));
    expect((await customer(a, ca.id)).smsOptIn).toBe(true);
    // A keyword of the account's own Advanced Opt-Out list arrives with Twilio's OptOutType.
    await signedTwilioRequest(t, accA.authToken, INBOUND, { ...incoming(accA, NUM_A, phone, 'Arrêt'), OptOutType: 'STOP' });
    expect((await customer(a, ca.id)).smsOptIn).toBe(false);
  });

  it('HELP is answered with the organization\'s help text as TwiML', async () => {
    await t.app.inject({ method: 'PUT', url: '/api/sms/settings', headers: a.headers, payload: { helpText: 'Acme & Co: support@acme.test. Reply STOP to opt out.' } });
    const res = await signedTwilioRequest(t, accA.authToken, INBOUND, incoming(accA, NUM_A, '+14155557002', 'help'));
    expect(res.statusCode).toBe(200);
    expect(twimlMessages(res.body)).toEqual(['Acme & Co: support@acme.test. Reply STOP to opt out.']);
    const resB = await signedTwilioRequest(t, accB.authToken, INBOUND, incoming(accB, NUM_B, '+14155557002', 'INFO'));
    expect(twimlMessages(resB.body)).toEqual(['Org sms-hook-b: reply STOP to opt out of messages, START to opt back in.']);
  });

  it('anything else is stored on the customer with that number, in that organization', async () => {
    const ca = await createCustomer(t.app, a.headers, { phone: '+14155557003', firstName: 'Q' });
    const res = await signedTwilioRequest(t, accA.authToken, INBOUND, incoming(accA, NUM_A, '+14155557003', 'Is the store open on Sunday?'));
    expect(res.statusCode).toBe(200);
    expect(twimlMessages(res.body)).toEqual([]);
    const list = (await t.app.inject({ url: `/api/sms/inbound?customerId=${ca.id}`, headers: a.headers })).json().data;
    expect(list).toMatchObject([{ customerId: ca.id, from: '+14155557003', to: NUM_A, body: 'Is the store open on Sunday?' }]);
    expect((await t.app.inject({ url: '/api/sms/inbound?limit=100', headers: b.headers })).json().data.some((m: any) => m.body.includes('Sunday'))).toBe(false);
  });

  it('401 and nothing stored for a bad signature or another organization\'s token; an unknown number is acknowledged', async () => {
    const before = await inboundCount();
    const bad = await signedTwilioRequest(t, accA.authToken, INBOUND, incoming(accA, NUM_A, '+14155557004', 'STOP'), { signature: 'AAAAAAAAAAAAAAAAAAAAAAAAAAA=' });
    expect(bad.statusCode).toBe(401);
    // B's account and token, to A's number.
    expect((await signedTwilioRequest(t, accB.authToken, INBOUND, incoming(accB, NUM_A, '+14155557004', 'STOP'))).statusCode).toBe(401);
    expect((await signedTwilioRequest(t, accB.authToken, INBOUND, incoming(accA, NUM_A, '+14155557004', 'STOP'))).statusCode).toBe(401);
    const unknown = await signedTwilioRequest(t, accA.authToken, INBOUND, incoming(accA, '+14155550999', '+14155557004', 'STOP'));
    expect(unknown.statusCode).toBe(200);
    expect(twimlMessages(unknown.body)).toEqual([]);
    expect(await inboundCount()).toBe(before);
    expect((await t.app.inject({ url: '/api/suppressions?channel=sms&address=%2B14155557004', headers: a.headers })).json().data).toEqual([]);
  });
});
