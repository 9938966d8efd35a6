// A saved segment as the audience of email and SMS campaigns (issue 13): membership compiled to SQL in the
// organization's scope, counted the same way by the audience counts and by billing at send acceptance,
// recipients frozen as message rows when the send starts, another organization's segment refused like none.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { queryOne } from '../src/db/sql.js';
import { createJobRunner } from '../src/jobs/index.js';
import { modules } from '../src/modules/index.js';
import { startSmtpSink, waitFor, type SmtpSink } from './email-support.js';
import { createApiKey, createCustomer, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { fakeDns, verifiedDomain } from './sender-support.js';

let t: TestApp;
let sink: SmtpSink;
let a: Actor;
let b: Actor;
let keyA: Record<string, string>;
let keyB: Record<string, string>;
let segA: string;
let segB: string;
const dns = fakeDns();
const buy = `Order Completed ${randomUUID().slice(0, 6)}`;
const daysAgo = (d: number) => new Date(Date.now() - d * 86_400_000).toISOString();
const ev = (email: string, d: number) => ({ type: 'track', email, event: buy, timestamp: daysAgo(d) });

/** While set, the SMTP sink holds every message's reply until it resolves (a send caught mid-way). */
let hold: Promise<void> | null = null;
let held = 0;

beforeAll(async () => {
  sink = await startSmtpSink({
    async beforeReply() {
      if (!hold) return;
      held++;
      await hold;
    },
  });
  const base = testConfig();
  t = await createTestApp({
    config: {
      email: { ...base.email, smtpUrl: sink.url, retryBaseMs: 50 },
      sms: { ...base.sms, ratePerSecond: 0, retryBaseMs: 50 },
      // No in-process worker: each test runs the jobs itself.
      jobs: { inProcess: false, pollMs: 50 },
    },
    dns: dns.resolver,
  });
  a = await signUpWithOrg(t.app, 'segaud-a');
  b = await signUpWithOrg(t.app, 'segaud-b');
  keyA = (await createApiKey(t.app, a)).headers;
  keyB = (await createApiKey(t.app, b)).headers;
  await verifiedDomain(t.app, a.headers, dns, 'a.example');
  const n = await t.app.inject({ method: 'POST', url: '/api/phone-numbers', headers: a.headers, payload: { number: '+14155556000', smsEnabled: true } });
  expect(n.statusCode, n.body).toBe(201);

  // A: ann (tag vip) bought yesterday, bea 3 days ago, dan 60 days ago, cy never.
  const person = (name: string, i: number, extra: Record<string, unknown> = {}) =>
    createCustomer(t.app, a.headers, { email: `${name}@a.example`, phone: `+1415555600${i}`, firstName: name, emailOptIn: true, smsOptIn: true, ...extra });
  await person('ann', 1, { tags: ['vip'] });
  await person('bea', 2);
  await person('cy', 3, { tags: ['vip'] });
  await person('dan', 4);
  const tracked = await t.app.inject({ method: 'POST', url: '/api/analytics/events', headers: keyA, payload: { batch: [ev('ann@a.example', 1), ev('bea@a.example', 3), ev('dan@a.example', 60)] } });
  expect(tracked.json().rejected).toEqual([]);
  // B: the same event for its own customers, one with A's address.
  await createCustomer(t.app, b.headers, { email: 'cy@a.example', phone: '+14155556003', emailOptIn: true, smsOptIn: true });
  await t.app.inject({ method: 'POST', url: '/api/analytics/events', headers: keyB, payload: { batch: [ev('cy@a.example', 1), ev('cy@a.example', 2)] } });

  const condition = { type: 'event', event: buy, op: 'atLeast', count: 1, withinDays: 30 };
  const save = async (actor: Actor) => {
    const res = await t.app.inject({ method: 'POST', url: '/api/segments', headers: actor.headers, payload: { name: 'Bought lately', condition } });
    expect(res.statusCode, res.body).toBe(201);
    return res.json().id as string;
  };
  segA = await save(a);
  segB = await save(b);
});
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

const post = (actor: Actor, url: string, payload: unknown) => t.app.inject({ method: 'POST', url, headers: actor.headers, payload: payload as any });
const count = async (channel: 'email' | 'sms', audience: Record<string, unknown>) => {
  const res = await post(a, `/api/${channel}/audience/count`, audience);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().recipients as number;
};
const emailCampaign = async (subject: string, audience: Record<string, unknown>) => {
  const res = await post(a, '/api/email/campaigns', { name: subject, subject, fromEmail: 'news@a.example', html: '<p>Hi {{ customer.firstName }}</p>', audience });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
};
const smsCampaign = async (audience: Record<string, unknown>) => {
  const res = await post(a, '/api/sms/campaigns', { name: 'Segment SMS', body: 'Hi {{ customer.firstName }}! Reply STOP to opt out.', audience });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
};
const usage = () =>
  t.db.withTenant(a.organizationId, (tx) => queryOne<{ emails: number; sms: number }>(tx, sql`select emails, sms from usage_months where organization_id = ${a.organizationId}`)).then((r) => r ?? { emails: 0, sms: 0 });
const status = async (channel: 'email' | 'sms', id: string) => (await t.app.inject({ url: `/api/${channel}/campaigns/${id}`, headers: a.headers })).json();

/** Runs the job worker until the campaign reaches `until`; `during` runs while the worker is up. */
async function run(channel: 'email' | 'sms', id: string, during?: () => Promise<void>) {
  const runner = createJobRunner({ db: t.db, config: t.config, modules }).start();
  try {
    await during?.();
    return await waitFor(async () => {
      const c = await status(channel, id);
      return ['sent', 'failed', 'cancelled'].includes(c.status) && c;
    }, 60_000);
  } finally {
    await runner.stop();
  }
}
const mailedWith = (subject: string) => sink.messages.filter((m) => m.header('Subject') === subject).flatMap((m) => m.to).sort();

describe('a segment as a campaign audience', () => {
  it('email: the audience count, billing at send acceptance and the send all reach exactly the members (AND with tags)', async () => {
    expect(await count('email', { segmentId: segA })).toBe(2);
    expect(await count('email', { segmentId: segA, tags: ['vip'] })).toBe(1);
    expect(await count('email', { tags: ['vip'] })).toBe(2);

    const id = await emailCampaign('Segment mail', { segmentId: segA });
    expect((await status('email', id)).audience).toEqual({ segmentId: segA });
    const before = await usage();
    const sent = await post(a, `/api/email-campaigns/${id}/send`, undefined);
    expect(sent.statusCode, sent.body).toBe(202);
    expect((await usage()).emails - before.emails).toBe(2);
    const done = await run('email', id);
    expect(done.status).toBe('sent');
    expect(done.stats.recipients).toBe(2);
    expect(mailedWith('Segment mail')).toEqual(['ann@a.example', 'bea@a.example']);

    const both = await emailCampaign('Segment and tag', { segmentId: segA, tags: ['vip'] });
    expect((await post(a, `/api/email-campaigns/${both}/send`, undefined)).statusCode).toBe(202);
    await run('email', both);
    expect(mailedWith('Segment and tag')).toEqual(['ann@a.example']);
  });

  it('SMS: the audience count, billing at send acceptance and the dev outbox hold exactly the members', async () => {
    expect(await count('sms', { segmentId: segA })).toBe(2);
    expect(await count('sms', { segmentId: segA, tags: ['vip'] })).toBe(1);
    const id = await smsCampaign({ segmentId: segA });
    const before = await usage();
    const sent = await post(a, `/api/sms-campaigns/${id}/send`, undefined);
    expect(sent.statusCode, sent.body).toBe(202);
    expect((await usage()).sms - before.sms).toBe(2);
    const done = await run('sms', id);
    expect(done.status).toBe('sent');
    expect(done.stats.recipients).toBe(2);
    const outbox = (await t.app.inject({ url: '/api/twilio/outbox', headers: a.headers })).json();
    const text = JSON.stringify(outbox);
    expect(text).toContain('Hi ann! Reply STOP');
    expect(text).toContain('Hi bea! Reply STOP');
    expect(text).not.toContain('Hi cy!');
    expect(text).not.toContain('Hi dan!');
  });

  it("refuses another organization's segment exactly like a missing one: create, update, count and send", async () => {
    const same = async (call: (segmentId: string) => Promise<{ statusCode: number; json(): any }>) => {
      const theirs = await call(segB);
      const none = await call(randomUUID());
      expect(theirs.statusCode).toBe(400);
      expect(theirs.json()).toEqual(none.json());
      expect(theirs.json()).toMatchObject({ code: 'validation_failed', details: [{ in: 'body', path: 'audience.segmentId' }] });
    };
    await same((segmentId) => post(a, '/api/email/campaigns', { name: 'x', audience: { segmentId } }));
    await same((segmentId) => post(a, '/api/sms/campaigns', { name: 'x', audience: { segmentId } }));
    const emailId = await emailCampaign('Unchanged', { tags: ['vip'] });
    const smsId = await smsCampaign({ tags: ['vip'] });
    await same((segmentId) => t.app.inject({ method: 'PATCH', url: `/api/email/campaigns/${emailId}`, headers: a.headers, payload: { audience: { segmentId } } }));
    await same((segmentId) => t.app.inject({ method: 'PATCH', url: `/api/sms/campaigns/${smsId}`, headers: a.headers, payload: { audience: { segmentId } } }));
    // The refused edits changed nothing.
    expect((await status('email', emailId)).audience).toEqual({ tags: ['vip'] });
    expect((await status('sms', smsId)).audience).toEqual({ tags: ['vip'] });
    const bCount = (segmentId: string) => (channel: 'email' | 'sms') => post(a, `/api/${channel}/audience/count`, { segmentId });
    await same((s) => bCount(s)('email'));
    await same((s) => bCount(s)('sms'));
    // B's own count of its segment is its own member, never A's.
    expect((await post(b, '/api/email/audience/count', { segmentId: segB })).json().recipients).toBe(1);
    // A segment deleted after the campaign was saved: the send is refused and the campaign stays a draft.
    const temp = (await post(a, '/api/segments', { name: 'Temporary', condition: { type: 'tag', op: 'has', tag: 'vip' } })).json().id;
    const e = await emailCampaign('Deleted segment', { segmentId: temp });
    const s = await smsCampaign({ segmentId: temp });
    expect((await t.app.inject({ method: 'DELETE', url: `/api/segments/${temp}`, headers: a.headers })).statusCode).toBe(204);
    const before = await usage();
    for (const [channel, url, cid] of [['email', `/api/email-campaigns/${e}/send`, e], ['sms', `/api/sms-campaigns/${s}/send`, s]] as const) {
      const res = await post(a, url, undefined);
      expect(res.statusCode, channel).toBe(400);
      expect(res.json().details[0]).toMatchObject({ path: 'audience.segmentId' });
      expect((await status(channel, cid)).status).toBe('draft');
    }
    expect(await usage()).toEqual(before);
    // The audience schema is strict.
    expect((await post(a, '/api/email/audience/count', { segmentId: segA, everyone: true })).statusCode).toBe(400);
    expect((await post(a, '/api/email/audience/count', { segmentId: 'not-a-uuid' })).statusCode).toBe(400);
  });

  it('freezes the recipients when the send starts: people who join the segment afterwards are not mailed', async () => {
    const id = await emailCampaign('Frozen', { segmentId: segA });
    let release!: () => void;
    hold = new Promise<void>((r) => (release = r));
    held = 0;
    expect((await post(a, `/api/email-campaigns/${id}/send`, undefined)).statusCode).toBe(202);
    const done = await run('email', id, async () => {
      // The first message is at the mail server: the recipients were resolved.
      await waitFor(() => held > 0);
      await createCustomer(t.app, a.headers, { email: 'eve@a.example', firstName: 'eve', emailOptIn: true });
      const late = await t.app.inject({ method: 'POST', url: '/api/analytics/events', headers: keyA, payload: { batch: [ev('eve@a.example', 0), ev('cy@a.example', 0)] } });
      expect(late.json().rejected).toEqual([]);
      // The live count sees the new members; the campaign in flight does not.
      expect(await count('email', { segmentId: segA })).toBe(4);
      hold = null;
      release();
    });
    expect(done.status).toBe('sent');
    expect(done.stats.recipients).toBe(2);
    expect(mailedWith('Frozen')).toEqual(['ann@a.example', 'bea@a.example']);
  });
});
