/**
 * The channel events reach a subscribed endpoint, once per change: campaigns (through the send engine's
 * status hook), email message outcomes and unsubscribes, SMS outcomes and STOP, completed calls.
 * Provider signatures are tested with each channel; here the channel services are called as their
 * webhooks call them, in one tenant transaction.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemContext } from '../src/http/access.js';
import { applyCallStatus } from '../src/modules/calls/status.js';
import { applyEmailEvents } from '../src/modules/email/events.js';
import { unsubscribeMessage } from '../src/modules/email/tracking.js';
import { applyInboundSms } from '../src/modules/sms/inbound.js';
import { applyStatusCallback } from '../src/modules/sms/status.js';
import { createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';
import { startReceiver, verify, waitFor, type Receiver } from './webhook-receiver.js';

let t: TestApp;
let a: Actor;
let b: Actor;
let rx: Receiver;
let secretA: string;

type Event = { type: string; organizationId: string; data: any };
const eventsAt = (p: string, secret: string) => rx.at(p).map((r) => verify(secret, r) as Event);
const settle = () => new Promise((r) => setTimeout(r, 300));
const ctxOf = (actor: Actor) => systemContext(actor.organizationId, 'test');

beforeAll(async () => {
  rx = await startReceiver();
  t = await createTestApp({
    config: {
      jobs: { inProcess: true, pollMs: 25 },
      outboundWebhooks: { allowPrivateRanges: ['127.0.0.0/8'], secretOverlapHours: 24, retryBaseMs: 50, timeoutMs: 2000, disableAfterFailures: 100, disableAfterSeconds: 0 },
    },
  });
  a = await signUpWithOrg(t.app, 'eva');
  b = await signUpWithOrg(t.app, 'evb');
  const ep = await t.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: a.headers, payload: { url: rx.url('/a'), eventTypes: ['*'] } });
  secretA = ep.json().secret;
  // B listens to everything too: none of A's channel events may reach it.
  await t.app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers: b.headers, payload: { url: rx.url('/b'), eventTypes: ['*'] } });
});
afterAll(async () => {
  await t?.close();
  await rx?.close();
});

describe('channel events', () => {
  it('email: campaign sending and sent, first delivery and bounce only, unsubscribe once', async () => {
    const c = await createCustomer(t.app, a.headers, { email: 'ev1@a.example', emailOptIn: true, tags: ['ev'] });
    const camp = (await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: a.headers, payload: { name: 'Evt', subject: 'Hi', html: '<p>Hi</p>', audience: { tags: ['ev'] } } })).json();
    expect((await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${camp.id}/send`, headers: a.headers })).statusCode).toBe(202);
    await waitFor(async () => (await t.app.inject({ url: `/api/email/campaigns/${camp.id}`, headers: a.headers })).json().status === 'sent');
    const campaignEvents = await waitFor(() => {
      const e = eventsAt('/a', secretA).filter((x) => x.type.startsWith('email_campaign.'));
      return e.length >= 2 && e;
    });
    expect(campaignEvents.map((e) => [e.type, e.data.campaign.status])).toEqual([
      ['email_campaign.sending', 'sending'],
      ['email_campaign.sent', 'sent'],
    ]);
    expect(campaignEvents[1].data.campaign).toMatchObject({ id: camp.id, name: 'Evt' });

    const [m] = (await t.app.inject({ url: `/api/email/campaigns/${camp.id}/messages`, headers: a.headers })).json().data;
    const ev = (type: string) => ({ messageId: m.id, type, url: null, reason: type === 'bounce' ? '550 no such user' : null, at: new Date().toISOString(), payload: {} });
    // Providers repeat themselves: the same outcome twice, in two batches, is one event.
    for (let i = 0; i < 2; i++) await t.db.withTenant(a.organizationId, (tx) => applyEmailEvents(tx, ctxOf(a), [ev('delivered'), ev('bounce'), ev('unsubscribe')], 'sendgrid'));
    const got = await waitFor(() => {
      const e = eventsAt('/a', secretA).filter((x) => x.type.startsWith('email_message.') || x.type === 'customer.unsubscribed');
      return e.length >= 3 && e;
    });
    await settle();
    const after = eventsAt('/a', secretA).filter((x) => x.type.startsWith('email_message.') || x.type === 'customer.unsubscribed');
    expect(after.map((e) => e.type).sort()).toEqual(['customer.unsubscribed', 'email_message.bounced', 'email_message.delivered']);
    expect(got.find((e) => e.type === 'email_message.bounced')!.data).toEqual({ message: { id: m.id, campaignId: camp.id, customerId: c.id, to: 'ev1@a.example' }, reason: '550 no such user' });
    expect(got.find((e) => e.type === 'customer.unsubscribed')!.data).toEqual({ channel: 'email', address: 'ev1@a.example', customerId: c.id, source: 'sendgrid' });

    // The unsubscribe link of a message already unsubscribed adds nothing; a fresh one is an event.
    const c2 = await createCustomer(t.app, a.headers, { email: 'ev2@a.example', emailOptIn: true, tags: ['ev2'] });
    const camp2 = (await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: a.headers, payload: { name: 'Evt2', subject: 'Hi', html: '<p>Hi</p>', audience: { tags: ['ev2'] } } })).json();
    await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${camp2.id}/send`, headers: a.headers });
    await waitFor(async () => (await t.app.inject({ url: `/api/email/campaigns/${camp2.id}`, headers: a.headers })).json().status === 'sent');
    const [m2] = (await t.app.inject({ url: `/api/email/campaigns/${camp2.id}/messages`, headers: a.headers })).json().data;
    for (let i = 0; i < 2; i++) await t.db.withTenant(a.organizationId, (tx) => unsubscribeMessage(tx, a.organizationId, m2.id, 'link'));
    await t.db.withTenant(a.organizationId, (tx) => unsubscribeMessage(tx, a.organizationId, m.id, 'link'));
    await waitFor(() => eventsAt('/a', secretA).some((e) => e.type === 'customer.unsubscribed' && e.data.customerId === c2.id));
    await settle();
    const unsubs = eventsAt('/a', secretA).filter((e) => e.type === 'customer.unsubscribed');
    expect(unsubs.map((e) => [e.data.customerId, e.data.source])).toEqual([
      [c.id, 'sendgrid'],
      [c2.id, 'unsubscribe_link'],
    ]);
    expect(rx.at('/b').map((r) => JSON.parse(r.body).organizationId)).not.toContain(a.organizationId);
  });

  it('SMS: delivered and failed status callbacks once each, STOP as an unsubscribe', async () => {
    const org = a.organizationId;
    const c = await createCustomer(t.app, a.headers, { phone: '+14155550177', smsOptIn: true });
    await t.db.owner.query(
      `insert into sms_messages (organization_id, customer_id, to_phone, body, status, provider_message_id) values
        ($1, $2, '+14155550177', 'hi', 'sent', 'SMdelivered000000000000000000001'), ($1, null, '+14155550178', 'hi', 'sent', 'SMfailed0000000000000000000000001')`,
      [org, c.id],
    );
    for (let i = 0; i < 2; i++) {
      await t.db.withTenant(org, (tx) => applyStatusCallback(tx, org, { messageSid: 'SMdelivered000000000000000000001', status: 'delivered' }));
      await t.db.withTenant(org, (tx) => applyStatusCallback(tx, org, { messageSid: 'SMfailed0000000000000000000000001', status: 'undelivered', errorCode: 30003 }));
    }
    await t.db.withTenant(org, (tx) => applyInboundSms(tx, ctxOf(a), { messageSid: 'SMinboundstop00000000000000000001', from: '+14155550177', to: '+14155550100', body: 'STOP' }));
    const sms = await waitFor(() => {
      const e = eventsAt('/a', secretA).filter((x) => x.type.startsWith('sms_message.') || (x.type === 'customer.unsubscribed' && x.data.channel === 'sms'));
      return e.length >= 3 && e;
    });
    await settle();
    expect(eventsAt('/a', secretA).filter((x) => x.type.startsWith('sms_message.'))).toHaveLength(2);
    expect(sms.find((e) => e.type === 'sms_message.delivered')!.data.message).toMatchObject({ customerId: c.id, to: '+14155550177', status: 'delivered' });
    expect(sms.find((e) => e.type === 'sms_message.failed')!.data.message).toMatchObject({ customerId: null, status: 'undelivered', errorCode: 30003 });
    expect(sms.find((e) => e.type === 'customer.unsubscribed')!.data).toEqual({ channel: 'sms', address: '+14155550177', customerId: c.id, source: 'sms_stop' });
  });

  it('calls: completed once, with duration and recording', async () => {
    const org = a.organizationId;
    const [call] = await t.db.owner.query<{ id: string }>(
      `insert into calls (organization_id, direction, from_number, to_number, status, provider_call_id) values ($1, 'inbound', '+14155550190', '+14155550100', 'in-progress', 'CA00000000000000000000000000000001') returning id`,
      [org],
    );
    for (const status of ['completed', 'completed', 'ringing']) {
      await t.db.withTenant(org, (tx) => applyCallStatus(tx, org, { callSid: 'CA00000000000000000000000000000001', status, durationSeconds: 42, recordingUrl: 'https://api.twilio.com/rec/RE1' }));
    }
    const [e] = await waitFor(() => {
      const x = eventsAt('/a', secretA).filter((y) => y.type === 'call.completed');
      return x.length > 0 && x;
    });
    await settle();
    expect(eventsAt('/a', secretA).filter((y) => y.type === 'call.completed')).toHaveLength(1);
    expect(e.data.call).toEqual({ id: call.id, direction: 'inbound', status: 'completed', from: '+14155550190', to: '+14155550100', customerId: null, durationSeconds: 42, recordingUrl: 'https://api.twilio.com/rec/RE1' });
    expect(rx.at('/b')).toHaveLength(0);
  });
});
