// SMS campaigns sent for real: the durable job on the campaign engine, the real `twilio` SDK, and a
// local server speaking Twilio's REST shape (test/twilio-support.ts).
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { query } from '../src/db/sql.js';
import { createJobRunner } from '../src/jobs/index.js';
import { modules } from '../src/modules/index.js';
import { waitFor } from './email-support.js';
import { createCustomer, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { connectTwilio, newTwilioAccount, startFakeTwilio, type FakeTwilio } from './twilio-support.js';

let t: TestApp;
let fake: FakeTwilio;
let a: Actor;
let b: Actor;
let noNumber: Actor;
const accA = newTwilioAccount();
const accB = newTwilioAccount();
const FROM_A = '+14155550100';
const FROM_B = '+14155550200';
const PUBLIC_URL = 'https://sb.example.com';

beforeAll(async () => {
  fake = await startFakeTwilio({ accounts: { [accA.accountSid]: accA.authToken, [accB.accountSid]: accB.authToken } });
  const base = testConfig();
  t = await createTestApp({
    config: {
      publicUrl: PUBLIC_URL,
      twilio: { ...base.twilio, apiBaseUrl: fake.url },
      // No in-process worker: the tests start and stop workers themselves.
      jobs: { inProcess: false, pollMs: 50 },
      sms: { ...base.sms, ratePerSecond: 0, concurrency: 4, retryBaseMs: 50, maxAttempts: 3 },
    },
  });
  a = await signUpWithOrg(t.app, 'sms-send-a');
  b = await signUpWithOrg(t.app, 'sms-send-b');
  noNumber = await signUpWithOrg(t.app, 'sms-send-c');
  await connectTwilio(t.app, a.headers, fake, accA, [FROM_A]);
  await connectTwilio(t.app, b.headers, fake, accB, [FROM_B]);
});
afterAll(async () => {
  await t?.close();
  await fake?.close();
});

async function campaign(actor: Actor, body: Record<string, unknown>) {
  const res = await t.app.inject({ method: 'POST', url: '/api/sms/campaigns', headers: actor.headers, payload: { name: 'C', body: 'Hi {{ customer.firstName }}! Reply STOP to opt out.', ...body } });
  expect(res.statusCode).toBe(201);
  return res.json();
}
const send = (actor: Actor, id: string, path = 'sms-campaigns') => t.app.inject({ method: 'POST', url: `/api/${path}/${id}/send`, headers: actor.headers });
const get = async (actor: Actor, id: string) => (await t.app.inject({ url: `/api/sms/campaigns/${id}`, headers: actor.headers })).json();
const analytics = async (actor: Actor, id: string) => (await t.app.inject({ url: `/api/sms/campaigns/${id}/analytics`, headers: actor.headers })).json();
/** Messages the fake Twilio accepted for an account, with a To in the given set. */
const sentTo = (accountSid: string, numbers?: Set<string>) =>
  fake.requestsTo('/Messages.json', 'POST').filter((r) => r.authAccount === accountSid && r.status === 201 && (!numbers || numbers.has(String(r.form.To))));

async function runUntil(actor: Actor, id: string, status: string, timeoutMs = 60_000) {
  const runner = createJobRunner({ db: t.db, config: t.config, modules }).start();
  try {
    await waitFor(async () => (await get(actor, id)).status === status, timeoutMs);
  } finally {
    await runner.stop();
  }
}

async function customers(actor: Actor, prefix: number, n: number, extra: Record<string, unknown> = {}) {
  await t.db.withTenant(actor.organizationId, (tx) =>
    tx.execute(sql`insert into customers (organization_id, phone, first_name, sms_opt_in, tags)
      select ${actor.organizationId}, '+1415555' || (${prefix} + i)::text, 'P' || i, true, ${sql.param((extra.tags as string[]) ?? [])}::text[]
      from generate_series(1, ${n}) i`),
  );
}

describe('POST /api/sms-campaigns/:id/send', () => {
  it('202 once, 409 after; 400 for an empty body; 409 without a number to send from; 404 for another organization', async () => {
    const empty = await campaign(a, { body: '' });
    const r0 = await send(a, empty.id);
    expect(r0.statusCode).toBe(400);
    expect(r0.json().error).toMatch(/no message body/);

    const none = await campaign(noNumber, {});
    const r1 = await send(noNumber, none.id);
    expect(r1.statusCode).toBe(409);
    expect(r1.json().error).toMatch(/no SMS-enabled phone number/);
    expect((await get(noNumber, none.id)).status).toBe('draft');

    const c = await campaign(a, { audience: { tags: ['nobody-has-this'] } });
    expect((await send(b, c.id)).statusCode).toBe(404);
    const first = await send(a, c.id);
    expect(first.statusCode).toBe(202);
    expect(first.json()).toMatchObject({ id: c.id, status: 'sending' });
    expect((await send(a, c.id)).statusCode).toBe(409);
    expect((await send(a, c.id, 'sms/campaigns')).statusCode).toBe(409);
    const audit = (await t.app.inject({ url: `/api/audit-log?resourceType=sms_campaign&resourceId=${c.id}`, headers: a.headers })).json().data;
    expect(audit.map((e: any) => e.action)).toContain('sms_campaign.sent');
    await runUntil(a, c.id, 'sent');
    expect((await get(a, c.id)).stats.recipients).toBe(0);
  });
});

describe('POST /api/sms/campaigns/:id/cancel', () => {
  it('stops a campaign before its job runs: nothing is sent; a second cancel is 409, another organization gets 404', async () => {
    await customers(a, 5000, 3, { tags: ['cancel'] });
    const c = await campaign(a, { audience: { tags: ['cancel'] } });
    expect((await send(a, c.id)).statusCode).toBe(202);
    expect((await t.app.inject({ method: 'POST', url: `/api/sms/campaigns/${c.id}/cancel`, headers: b.headers })).statusCode).toBe(404);
    const res = await t.app.inject({ method: 'POST', url: `/api/sms/campaigns/${c.id}/cancel`, headers: a.headers });
    expect(res.statusCode).toBe(200);
    expect(res.json().status).toBe('cancelled');
    expect((await t.app.inject({ method: 'POST', url: `/api/sms/campaigns/${c.id}/cancel`, headers: a.headers })).statusCode).toBe(409);
    const runner = createJobRunner({ db: t.db, config: t.config, modules }).start();
    await new Promise((r) => setTimeout(r, 500));
    await runner.stop();
    expect(sentTo(accA.accountSid, new Set(['+14155555001', '+14155555002', '+14155555003']))).toEqual([]);
    expect((await get(a, c.id)).status).toBe('cancelled');
  });
});

describe('a campaign through the SDK to the Twilio-shaped server', () => {
  it('texts every opted-in, unsuppressed customer with a valid number once, from the organization number, with the status callback', async () => {
    const mk = (body: Record<string, unknown>) => createCustomer(t.app, a.headers, { smsOptIn: true, tags: ['spring'], ...body });
    await mk({ phone: '+14155551001', firstName: 'Ann' });
    await mk({ phone: '+1 (415) 555-1002', firstName: 'Bob' });
    await mk({ phone: '+14155551003', firstName: 'Émile' });
    await mk({ phone: '+14155551004', firstName: 'Perm' }); // Twilio refuses it for good
    await mk({ phone: '+14155551005', firstName: 'Off', smsOptIn: false });
    await mk({ phone: '+14155551006', firstName: 'Supp' });
    await mk({ phone: '+1 555 0100', firstName: 'Invalid' });
    await mk({ phone: '+14155551007', firstName: 'Other', tags: ['autumn'] });
    await t.app.inject({ method: 'POST', url: '/api/suppressions', headers: a.headers, payload: { channel: 'sms', address: '+14155551006', reason: 'manual' } });
    // B has the same numbers: none of B's customers is texted by A's campaign.
    await createCustomer(t.app, b.headers, { smsOptIn: true, tags: ['spring'], phone: '+14155551001', firstName: 'B-Ann' });
    fake.failTo('+14155551004', { code: 21610, status: 400, message: 'Attempt to send to unsubscribed recipient' });
    // Two transient outages first: those messages are retried, not lost.
    fake.failNext(2, { code: 20500, status: 503, message: 'Service unavailable' });

    const c = await campaign(a, { audience: { tags: ['spring'] } });
    expect((await send(a, c.id)).statusCode).toBe(202);
    await runUntil(a, c.id, 'sent');

    const expected = new Set(['+14155551001', '+14155551002', '+14155551003']);
    const msgs = sentTo(accA.accountSid, new Set([...expected, '+14155551004', '+14155551005', '+14155551006', '+14155551007']));
    expect(msgs.map((m) => m.form.To).sort()).toEqual([...expected].sort());
    for (const m of msgs) {
      expect(m.form.From).toBe(FROM_A);
      expect(m.form.StatusCallback).toBe(`${PUBLIC_URL}/api/webhooks/sms`);
      expect(m.path).toBe(`/2010-04-01/Accounts/${accA.accountSid}/Messages.json`);
    }
    expect(msgs.find((m) => m.form.To === '+14155551003')!.form.Body).toBe('Hi Émile! Reply STOP to opt out.');
    expect(sentTo(accB.accountSid)).toEqual([]);

    const rows = await t.db.withTenant(a.organizationId, (tx) =>
      query<any>(tx, sql`select to_phone, status, body, segments, encoding, from_number, error_code, provider_message_id, attempts
        from sms_messages where organization_id = ${a.organizationId} and campaign_id = ${c.id} order by to_phone`),
    );
    expect(rows.map((r) => [r.to_phone, r.status])).toEqual([
      ['+14155551001', 'sent'],
      ['+14155551002', 'sent'],
      ['+14155551003', 'sent'],
      ['+14155551004', 'failed'],
    ]);
    expect(rows[0]).toMatchObject({ body: 'Hi Ann! Reply STOP to opt out.', segments: 1, encoding: 'GSM-7', from_number: FROM_A, provider_message_id: expect.stringMatching(/^SM/) });
    expect(rows[3]).toMatchObject({ error_code: 21610, provider_message_id: null });
    expect(rows.some((r) => r.attempts > 1)).toBe(true);

    const an = await analytics(a, c.id);
    expect(an).toMatchObject({
      status: 'sent',
      recipients: 4,
      sent: 3,
      failed: 1,
      queued: 0,
      invalidNumbers: 1,
      segments: 3,
      cost: { estimate: 0.0237, perSegment: 0.0079, currency: 'USD' },
      errorCodes: [{ code: 21610, count: 1 }],
    });
    expect((await get(a, c.id)).stats).toEqual({ recipients: 4, sent: 3, delivered: 0, failed: 1, optedOut: 0 });
  });

  it('a worker stopped mid-send and restarted texts everybody exactly once', async () => {
    const N = 400;
    await customers(a, 2000, N, { tags: ['restart'] });
    const numbers = new Set(Array.from({ length: N }, (_, i) => `+1415555${2000 + i + 1}`));
    const c = await campaign(a, { audience: { tags: ['restart'] } });
    expect((await send(a, c.id)).statusCode).toBe(202);

    const first = createJobRunner({ db: t.db, config: t.config, modules }).start();
    await waitFor(() => sentTo(accA.accountSid, numbers).length >= 60, 60_000, 5);
    await first.stop();
    const atStop = sentTo(accA.accountSid, numbers).length;
    expect(atStop).toBeLessThan(N);
    const mid = await get(a, c.id);
    expect(mid.status).toBe('sending');
    // Everything Twilio accepted before the stop is recorded: nothing is left claimed.
    expect(mid.stats.sent).toBe(atStop);

    await runUntil(a, c.id, 'sent');
    const to = sentTo(accA.accountSid, numbers).map((m) => String(m.form.To));
    expect(to).toHaveLength(N);
    expect(new Set(to)).toEqual(numbers);
    expect((await get(a, c.id)).stats).toMatchObject({ recipients: N, sent: N, failed: 0 });
  });

  it('quiet hours defer the messages (kept queued, the job due when they end), and they go out after', async () => {
    await customers(a, 3000, 5, { tags: ['quiet'] });
    const numbers = new Set(Array.from({ length: 5 }, (_, i) => `+1415555${3000 + i + 1}`));
    const hhmm = (d: Date) => d.toISOString().slice(11, 16);
    const now = Date.now();
    const end = new Date(now + 60 * 60_000);
    const put = await t.app.inject({
      method: 'PUT',
      url: '/api/sms/settings',
      headers: a.headers,
      payload: { quietHours: { start: hhmm(new Date(now - 60 * 60_000)), end: hhmm(end) }, timezone: 'UTC' },
    });
    expect(put.statusCode).toBe(200);
    const c = await campaign(a, { audience: { tags: ['quiet'] } });
    expect((await send(a, c.id)).statusCode).toBe(202);

    const runner = createJobRunner({ db: t.db, config: t.config, modules }).start();
    const job = await waitFor(
      async () =>
        (
          await t.db.withTenant(a.organizationId, (tx) =>
            query<{ run_at: string; state: string }>(tx, sql`select run_at, state from jobs where organization_id = ${a.organizationId} and payload->>'campaignId' = ${c.id} and state = 'queued' and run_at > now() + interval '30 minutes'`),
          )
        )[0],
      30_000,
    );
    await runner.stop();
    // Deferred to the end of quiet hours (to the minute), never dropped.
    expect(Math.abs(new Date(job.run_at).getTime() - Math.floor(end.getTime() / 60_000) * 60_000)).toBeLessThan(60_000);
    expect(sentTo(accA.accountSid, numbers)).toEqual([]);
    expect(await analytics(a, c.id)).toMatchObject({ status: 'sending', recipients: 5, queued: 5, sent: 0 });

    // Quiet hours over (here: lifted, and the job made due).
    await t.app.inject({ method: 'PUT', url: '/api/sms/settings', headers: a.headers, payload: { timezone: 'UTC' } });
    await t.db.withTenant(a.organizationId, (tx) => tx.execute(sql`update jobs set run_at = now() where organization_id = ${a.organizationId} and payload->>'campaignId' = ${c.id}`));
    await runUntil(a, c.id, 'sent');
    expect(sentTo(accA.accountSid, numbers)).toHaveLength(5);
  });

  it('without a connected Twilio account the messages go to the development outbox', async () => {
    const dev = await signUpWithOrg(t.app, 'sms-send-dev');
    // A number added by hand (no Twilio account to check it against).
    const n = await t.app.inject({ method: 'POST', url: '/api/phone-numbers', headers: dev.headers, payload: { number: '+14155550300', smsEnabled: true } });
    expect(n.statusCode, n.body).toBe(201);
    await customers(dev, 4000, 2);
    const c = await campaign(dev, {});
    expect((await send(dev, c.id)).statusCode).toBe(202);
    const before = fake.requestsTo('/Messages.json').length;
    await runUntil(dev, c.id, 'sent');
    expect(fake.requestsTo('/Messages.json').length).toBe(before);
    const outbox = (await t.app.inject({ url: '/api/twilio/outbox', headers: dev.headers })).json();
    const bodies = JSON.stringify(outbox);
    expect(bodies).toContain('+14155554001');
    expect(bodies).toContain('Hi P1! Reply STOP to opt out.');
  });
});
