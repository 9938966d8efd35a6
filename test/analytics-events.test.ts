// Customer events (issue 13): ingestion (idempotency, partial batches, identify and merge), queries,
// timelines, and isolation between organizations; the monthly partitions behind them.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE } from '../src/db/index.js';
import { ensureEventPartitions } from '../src/modules/analytics/partitions.js';
import { trackInternal } from '../src/modules/analytics/index.js';
import { systemContext } from '../src/http/access.js';
import { applyEmailEvents } from '../src/modules/email/events.js';
import { applyStatusCallback } from '../src/modules/sms/status.js';
import { createApiKey, createCustomer, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;
let keyA: Record<string, string>;
let keyB: Record<string, string>;

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'events-a');
  b = await signUpWithOrg(t.app, 'events-b');
  keyA = (await createApiKey(t.app, a)).headers;
  keyB = (await createApiKey(t.app, b)).headers;
});
afterAll(() => t?.close());

const track = (headers: Record<string, string>, batch: unknown[]) => t.app.inject({ method: 'POST', url: '/api/analytics/events', headers, payload: { batch } });
const get = (headers: Record<string, string>, url: string) => t.app.inject({ method: 'GET', url, headers });
const hoursAgo = (h: number) => new Date(Date.now() - h * 3_600_000).toISOString();

describe('POST /api/analytics/events', () => {
  it('stores a batch, creates the customer by userId and lists the events newest first', async () => {
    const user = `u-${randomUUID()}`;
    const res = await track(keyA, [
      { type: 'track', userId: user, event: 'Product Viewed', properties: { sku: 'A1' }, timestamp: hoursAgo(2), messageId: `m-${user}-1` },
      { type: 'track', userId: user, event: 'Order Completed', properties: { total: 42 }, timestamp: hoursAgo(1), messageId: `m-${user}-2` },
    ]);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({ accepted: 2, duplicates: 0, rejected: [] });
    const list = await get(keyA, `/api/analytics/events?event=Order%20Completed&limit=200`);
    const mine = list.json().data.filter((e: any) => e.messageId === `m-${user}-2`);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ type: 'track', name: 'Order Completed', properties: { total: 42 }, source: 'api' });
    const customer = mine[0].customerId as string;
    const timeline = await get(a.headers, `/api/customers/${customer}/events`);
    expect(timeline.statusCode).toBe(200);
    expect(timeline.json().data.map((e: any) => e.name)).toEqual(['Order Completed', 'Product Viewed']);
  });

  it('accepts a replayed messageId without storing it twice, in the same batch or a later one', async () => {
    const id = `m-${randomUUID()}`;
    const ev = { type: 'track', userId: 'replayer', event: 'Signed Up', messageId: id };
    expect((await track(keyA, [ev, ev])).json()).toEqual({ accepted: 1, duplicates: 1, rejected: [] });
    expect((await track(keyA, [{ ...ev, timestamp: hoursAgo(30 * 24) }])).json()).toEqual({ accepted: 0, duplicates: 1, rejected: [] });
    const n = await t.db.owner.query<{ n: number }>(`select count(*)::int as n from analytics_events where message_id = $1`, [id]);
    expect(n[0].n).toBe(1);
    // The same messageId is another organization's own: B stores it.
    expect((await track(keyB, [ev])).json()).toMatchObject({ accepted: 1, duplicates: 0 });
  });

  it('reports bad events by index and stores the rest', async () => {
    const user = `u-${randomUUID()}`;
    const res = await track(keyA, [
      { type: 'track', userId: user, event: 'Ok One' },
      { type: 'track', userId: user },
      { type: 'page', userId: user, name: 'Home' },
      { type: 'track', event: 'Nobody' },
      { type: 'track', userId: user, event: 'Future', timestamp: new Date(Date.now() + 3 * 86_400_000).toISOString() },
      { type: 'track', userId: user, event: 'Ok Two', unknownField: 1 },
      { type: 'track', userId: user, event: 'Ok Three', properties: { nested: { deep: true } }, context: { ip: '127.0.0.1' } },
    ]);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.accepted).toBe(2);
    expect(body.rejected.map((r: any) => [r.index, r.error])).toEqual([
      [1, 'validation_failed'],
      [2, 'validation_failed'],
      [3, 'validation_failed'],
      [4, 'timestamp_in_future'],
      [5, 'validation_failed'],
    ]);
  });

  it('refuses a malformed or oversized batch as a whole with 400', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/analytics/events', headers: keyA, payload: { events: [] } })).statusCode).toBe(400);
    const big = Array.from({ length: 501 }, (_, i) => ({ type: 'track', userId: 'x', event: `E${i}` }));
    const res = await track(keyA, big);
    expect(res.statusCode).toBe(400);
    expect(res.json().code).toBe('validation_failed');
  });

  it('identify sets traits, and merges an anonymous profile into the customer it turns out to be', async () => {
    const anon = `anon-${randomUUID()}`;
    const user = `u-${randomUUID()}`;
    const email = `${user}@example.com`;
    const known = await createCustomer(t.app, a.headers, { email, firstName: null });
    // Browsing before signing in: an anonymous profile.
    expect((await track(keyA, [{ type: 'track', anonymousId: anon, event: 'Product Viewed', timestamp: hoursAgo(3) }])).json().accepted).toBe(1);
    const [before] = await t.db.owner.query<{ id: string }>(`select id from customers where organization_id = $1 and anonymous_id = $2`, [a.organizationId, anon]);
    expect(before.id).not.toBe(known.id);
    // Signing in: identify with the user id, the anonymous id and the address of a known customer.
    const res = await track(keyA, [{ type: 'identify', userId: user, anonymousId: anon, traits: { email, firstName: 'Ada', phone: '+15551234567', plan: 'pro' } }]);
    expect(res.json()).toMatchObject({ accepted: 1, rejected: [] });
    const c = (await get(a.headers, `/api/customers/${known.id}`)).json();
    expect(c).toMatchObject({ firstName: 'Ada', phone: '+15551234567', attributes: { plan: 'pro' } });
    const gone = await t.db.owner.query(`select 1 from customers where id = $1`, [before.id]);
    expect(gone).toEqual([]);
    const timeline = (await get(a.headers, `/api/customers/${known.id}/events`)).json();
    expect(timeline.data.map((e: any) => e.name)).toEqual(['identify', 'Product Viewed']);
    // Later anonymous events of that browser land on the customer too, as do events by userId.
    await track(keyA, [{ type: 'track', anonymousId: anon, event: 'Cart Viewed' }, { type: 'track', userId: user, event: 'Checkout' }]);
    const again = (await get(a.headers, `/api/customers/${known.id}/events`)).json();
    expect(again.data.map((e: any) => e.name).sort()).toEqual(['Cart Viewed', 'Checkout', 'Product Viewed', 'identify']);
  });
});

describe('counts and funnels', () => {
  it('counts per day, distinct customers and property filters; funnels in order within the window', async () => {
    const ev = `Bought-${randomUUID().slice(0, 8)}`;
    const view = `Viewed-${randomUUID().slice(0, 8)}`;
    const day = (d: number, h = 12) => new Date(Date.UTC(2026, 9, d, h)).toISOString();
    await track(keyA, [
      { type: 'track', userId: 'c1', event: view, timestamp: day(1, 10) },
      { type: 'track', userId: 'c1', event: ev, timestamp: day(1), properties: { plan: 'pro' } },
      { type: 'track', userId: 'c1', event: ev, timestamp: day(1, 13), properties: { plan: 'free' } },
      { type: 'track', userId: 'c2', event: view, timestamp: day(2, 10) },
      { type: 'track', userId: 'c2', event: ev, timestamp: day(3), properties: { plan: 'pro' } },
      { type: 'track', userId: 'c3', event: view, timestamp: day(3) },
    ]);
    // B has events of the same name: never counted for A.
    await track(keyB, [{ type: 'track', userId: 'c1', event: ev, timestamp: day(1) }]);
    const url = (q: string) => `/api/analytics/events/counts?event=${ev}&from=${day(1, 0)}&to=${day(4, 0)}${q}`;
    const daily = (await get(keyA, url('&interval=day'))).json();
    expect(daily.buckets.map((x: any) => x.count)).toEqual([2, 0, 1]);
    expect(daily.total).toBe(3);
    expect((await get(keyA, url('&interval=day&unique=true'))).json().total).toBe(2);
    expect((await get(keyA, url('&where=plan:pro'))).json().total).toBe(2);
    expect((await get(keyA, url('&interval=hour'))).json().buckets).toHaveLength(72);
    expect((await get(keyA, url('&interval=minute'))).statusCode).toBe(400);
    expect((await get(keyA, `/api/analytics/events/counts?event=${ev}&from=${day(4)}&to=${day(1)}`)).statusCode).toBe(400);

    const f = await t.app.inject({ method: 'POST', url: '/api/analytics/funnels', headers: a.headers, payload: { steps: [{ event: view }, { event: ev }], from: day(1, 0), to: day(5, 0), windowHours: 24 } });
    expect(f.statusCode, f.body).toBe(200);
    // c1 viewed then bought within the day; c2 bought 26 h after viewing (outside 24 h); c3 only viewed.
    expect(f.json().steps.map((s: any) => s.customers)).toEqual([3, 1]);
  });
});

describe('isolation', () => {
  it("never shows or counts A's events for B, and B cannot read A's customer timeline", async () => {
    const user = `iso-${randomUUID()}`;
    const name = `Secret-${randomUUID().slice(0, 8)}`;
    await track(keyA, [{ type: 'track', userId: user, event: name }]);
    const listed = (await get(keyB, `/api/analytics/events?event=${name}`)).json();
    expect(listed.data).toEqual([]);
    const from = hoursAgo(24);
    const to = new Date(Date.now() + 3_600_000).toISOString();
    expect((await get(keyB, `/api/analytics/events/counts?event=${name}&from=${from}&to=${to}`)).json().total).toBe(0);
    expect((await get(keyA, `/api/analytics/events/counts?event=${name}&from=${from}&to=${to}`)).json().total).toBe(1);
    const customerId = (await get(keyA, `/api/analytics/events?event=${name}`)).json().data[0].customerId;
    expect((await get(keyB, `/api/customers/${customerId}/events`)).statusCode).toBe(404);
    expect((await get(keyB, `/api/analytics/events?customerId=${customerId}`)).json().data).toEqual([]);
    // B sending the same userId gets its own customer.
    await track(keyB, [{ type: 'track', userId: user, event: name }]);
    const bEvents = (await get(keyB, `/api/analytics/events?event=${name}`)).json().data;
    expect(bEvents).toHaveLength(1);
    expect(bEvents[0].customerId).not.toBe(customerId);
  });

  it('keeps our own channel events idempotent and on the customer timeline', async () => {
    const c = await createCustomer(t.app, a.headers, { email: `own-${randomUUID()}@example.com` });
    for (let i = 0; i < 2; i++) {
      await t.db.withTenant(a.organizationId, (tx) => trackInternal(tx, a.organizationId, c.id, 'Email Opened', { campaignId: 'x' }, { key: 'msg-1' }));
    }
    const data = (await get(a.headers, `/api/customers/${c.id}/events`)).json().data;
    expect(data).toHaveLength(1);
    expect(data[0]).toMatchObject({ name: 'Email Opened', source: 'internal' });
  });
});

describe('our own channels', () => {
  it('record email delivered and opened, and SMS delivered, on the customer timeline, once each', async () => {
    const c = await createCustomer(t.app, a.headers, { email: `ch-${randomUUID()}@example.com`, phone: '+15557654321' });
    const org = a.organizationId;
    const [camp] = await t.db.owner.query<{ id: string }>(`insert into email_campaigns (organization_id, name) values ($1, 'c') returning id`, [org]);
    const [msg] = await t.db.owner.query<{ id: string }>(`insert into email_messages (organization_id, campaign_id, customer_id, to_email) values ($1, $2, $3, 'x@example.com') returning id`, [org, camp.id, c.id]);
    const [sms] = await t.db.owner.query<{ id: string }>(`insert into sms_messages (organization_id, customer_id, to_phone, body, provider_message_id, status) values ($1, $2, '+15557654321', 'hi', 'SM-ev-1', 'sent') returning id`, [org, c.id]);
    const ev = (type: string, id: string) => ({ messageId: msg.id, type, url: null, reason: null, at: new Date().toISOString(), payload: {}, providerEventId: id });
    for (let i = 0; i < 2; i++) {
      await t.db.withTenant(org, (tx) => applyEmailEvents(tx, systemContext(org, 'test'), [ev('delivered', 'sg-1'), ev('open', 'sg-2'), ev('processed', 'sg-3')], 'sendgrid'));
    }
    await t.db.withTenant(org, (tx) => applyStatusCallback(tx, org, { messageSid: 'SM-ev-1', status: 'delivered' }));
    const data = (await get(a.headers, `/api/customers/${c.id}/events`)).json().data;
    expect(data.map((e: any) => e.name).sort()).toEqual(['Email Delivered', 'Email Opened', 'SMS Delivered']);
    expect(data.find((e: any) => e.name === 'Email Opened').properties).toMatchObject({ emailMessageId: msg.id, campaignId: camp.id });
    expect(data.find((e: any) => e.name === 'SMS Delivered').properties).toMatchObject({ smsMessageId: sms.id });
    // None of it is B's.
    expect((await get(keyB, `/api/analytics/events?event=Email%20Opened`)).json().data).toEqual([]);
  });
});

describe('partitions', () => {
  it('keeps a partition per month ahead, reached only through the parent', async () => {
    expect(await ensureEventPartitions(t.db)).toBe(0);
    const parts = await t.db.owner.query<{ name: string; app: boolean }>(
      `select c.relname as name, has_table_privilege($1, c.oid, 'SELECT') or has_table_privilege($1, c.oid, 'INSERT') as app
         from pg_inherits i join pg_class c on c.oid = i.inhrelid where i.inhparent = 'analytics_events'::regclass order by 1`,
      [APP_ROLE],
    );
    const month = (k: number) => {
      const d = new Date();
      d.setUTCDate(1);
      d.setUTCMonth(d.getUTCMonth() + k);
      return `analytics_events_${d.getUTCFullYear()}${String(d.getUTCMonth() + 1).padStart(2, '0')}`;
    };
    expect(parts.map((p) => p.name)).toEqual(expect.arrayContaining([month(0), month(1), month(2), 'analytics_events_default']));
    expect(parts.filter((p) => p.app)).toEqual([]);
    // Old events (before the first partition) land in the default partition and stay readable.
    const res = await track(keyA, [{ type: 'track', userId: 'historian', event: 'Old', timestamp: '2019-05-01T00:00:00Z' }]);
    expect(res.json().accepted).toBe(1);
    expect((await get(keyA, '/api/analytics/events?event=Old&to=2020-01-01T00:00:00Z')).json().data).toHaveLength(1);
  });

  it("moves a month's rows out of the default partition when that month's partition is created", async () => {
    // A row three months ahead (past the partitions kept) lands in the default partition…
    const ahead = new Date();
    ahead.setUTCDate(15);
    ahead.setUTCMonth(ahead.getUTCMonth() + 3);
    const [c] = await t.db.owner.query<{ id: string }>(`insert into customers (organization_id, external_id) values ($1, 'far-future') returning id`, [a.organizationId]);
    await t.db.owner.query(
      `insert into analytics_events (organization_id, occurred_at, customer_id, type, name, message_id) values ($1, $2, $3, 'track', 'Ahead', 'ahead-1')`,
      [a.organizationId, ahead.toISOString(), c.id],
    );
    const where = async () => (await t.db.owner.query<{ p: string }>(`select tableoid::regclass::text as p from analytics_events where message_id = 'ahead-1'`))[0].p;
    expect(await where()).toBe('analytics_events_default');
    // …and goes to its own partition when the upkeep reaches that month.
    await t.db.owner.query(`select sb_event_partitions(3)`);
    expect(await where()).toBe(`analytics_events_${ahead.getUTCFullYear()}${String(ahead.getUTCMonth() + 1).padStart(2, '0')}`);
    expect((await get(keyA, `/api/customers/${c.id}/events`)).json().data.map((e: any) => e.name)).toEqual(['Ahead']);
  });
});
