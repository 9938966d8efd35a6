// The counters of 0016_scale.sql (per campaign and status, per campaign and hour, per link, per
// organization's customers) always equal a recount of the rows they summarise: after sends, retries,
// cancellations, provider webhook events (delivered, bounce, open, click, unsubscribe), tracking hits,
// deletes and cascades, in two organizations at once. The analytics, campaign list and dashboard read them.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tx } from '../src/db/index.js';
import { createCustomer, createTestApp, signUpWithOrg, testConfig, type Actor, type TestApp } from './helpers.js';
import { signedHeaders, startSmtpSink, waitFor, webhookKeys, type SmtpSink } from './email-support.js';
import { fakeDns, verifiedDomain } from './sender-support.js';

let t: TestApp;
let sink: SmtpSink;
let a: Actor;
let b: Actor;
const keys = webhookKeys();
const dns = fakeDns();
/** Recipients the SMTP sink refuses with a temporary error until allowed (a retry). */
const deferred = new Set<string>();

/** Each counter table as rows, next to the same rows recounted from the data (as the owner, every organization). */
const CHECKS: Record<string, { counters: string; recount: string }> = {
  customer_counts: {
    counters: `SELECT organization_id, total, email_opt_in, sms_opt_in FROM customer_counts WHERE (total, email_opt_in, sms_opt_in) <> (0, 0, 0)`,
    recount: `SELECT organization_id, count(*)::int AS total, (count(*) FILTER (WHERE email_opt_in))::int AS email_opt_in, (count(*) FILTER (WHERE sms_opt_in))::int AS sms_opt_in
                FROM customers GROUP BY 1`,
  },
  email_campaign_status_counts: {
    counters: `SELECT organization_id, campaign_id, status, n FROM email_campaign_status_counts WHERE n <> 0`,
    recount: `SELECT organization_id, campaign_id, status, count(*)::int AS n FROM email_messages GROUP BY 1, 2, 3`,
  },
  email_campaign_hourly: {
    counters: `SELECT organization_id, campaign_id, hour, sent, delivered, opened, clicked, bounced, complained, unsubscribed, opens, clicks FROM email_campaign_hourly
                WHERE (sent, delivered, opened, clicked, bounced, complained, unsubscribed, opens, clicks) <> (0, 0, 0, 0, 0, 0, 0, 0, 0)`,
    recount: `WITH k AS (
                SELECT m.organization_id, m.campaign_id, date_trunc('hour', v.at, 'UTC') AS hour, v.metric FROM email_messages m
                  CROSS JOIN LATERAL (VALUES ('sent', m.sent_at), ('delivered', m.delivered_at), ('opened', m.opened_at), ('clicked', m.clicked_at),
                       ('bounced', m.bounced_at), ('complained', m.complained_at), ('unsubscribed', m.unsubscribed_at)) AS v(metric, at) WHERE v.at IS NOT NULL
                UNION ALL
                SELECT e.organization_id, m.campaign_id, date_trunc('hour', e.occurred_at, 'UTC'), e.type || 's' FROM email_events e
                  JOIN email_messages m ON m.organization_id = e.organization_id AND m.id = e.message_id WHERE e.type IN ('open', 'click'))
              SELECT organization_id, campaign_id, hour,
                     ${['sent', 'delivered', 'opened', 'clicked', 'bounced', 'complained', 'unsubscribed', 'opens', 'clicks'].map((c) => `(count(*) FILTER (WHERE metric = '${c}'))::int AS ${c}`).join(', ')}
                FROM k GROUP BY 1, 2, 3`,
  },
  email_link_clicks: {
    counters: `SELECT organization_id, campaign_id, url, clicks, unique_clicks FROM email_link_clicks WHERE clicks <> 0`,
    recount: `SELECT e.organization_id, m.campaign_id, e.url, count(*)::int AS clicks, count(DISTINCT e.message_id)::int AS unique_clicks FROM email_events e
                JOIN email_messages m ON m.organization_id = e.organization_id AND m.id = e.message_id WHERE e.type = 'click' AND e.url IS NOT NULL GROUP BY 1, 2, 3`,
  },
  sms_campaign_status_counts: {
    counters: `SELECT organization_id, campaign_id, status, n, segments FROM sms_campaign_status_counts WHERE (n, segments) <> (0, 0)`,
    recount: `SELECT organization_id, campaign_id, status, count(*)::int AS n, coalesce(sum(segments), 0)::int AS segments FROM sms_messages WHERE campaign_id IS NOT NULL GROUP BY 1, 2, 3`,
  },
  sms_campaign_hourly: {
    counters: `SELECT organization_id, campaign_id, hour, sent, delivered FROM sms_campaign_hourly WHERE (sent, delivered) <> (0, 0)`,
    recount: `SELECT m.organization_id, m.campaign_id, date_trunc('hour', v.at, 'UTC') AS hour, (count(*) FILTER (WHERE v.metric = 'sent'))::int AS sent,
                     (count(*) FILTER (WHERE v.metric = 'delivered'))::int AS delivered
                FROM sms_messages m CROSS JOIN LATERAL (VALUES ('sent', m.sent_at), ('delivered', m.delivered_at)) AS v(metric, at)
               WHERE m.campaign_id IS NOT NULL AND v.at IS NOT NULL GROUP BY 1, 2, 3`,
  },
};

const norm = (rows: Record<string, unknown>[]) =>
  rows.map((r) => JSON.stringify(Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v instanceof Date ? v.toISOString() : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v])))).sort();

/** Every counter table equals its recount; returns how many counter rows there are (so a test can see they are not all empty). */
async function expectCountersEqualRecount(when: string) {
  let rows = 0;
  for (const [table, q] of Object.entries(CHECKS)) {
    const counters = norm(await t.db.owner.query(q.counters));
    const recount = norm(await t.db.owner.query(q.recount));
    expect(counters, `${table} after ${when}`).toEqual(recount);
    rows += counters.length;
  }
  return rows;
}

const html = '<p>Hi</p><p><a href="https://shop.example/a">A</a> <a href="https://shop.example/b">B</a></p>';

async function campaign(actor: Actor, tag: string) {
  const res = await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: actor.headers, payload: { name: tag, subject: `S ${tag}`, fromEmail: `news@${actor === a ? 'a' : 'b'}.example`, html, audience: { tags: [tag] } } });
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}
const status = async (actor: Actor, id: string) => (await t.app.inject({ url: `/api/email/campaigns/${id}`, headers: actor.headers })).json().status;
const messagesOf = async (actor: Actor, id: string) => (await t.app.inject({ url: `/api/email/campaigns/${id}/messages?limit=200`, headers: actor.headers })).json().data;
const analytics = async (actor: Actor, id: string) => (await t.app.inject({ url: `/api/email/campaigns/${id}/analytics`, headers: actor.headers })).json();

beforeAll(async () => {
  sink = await startSmtpSink({
    onRcpt: (address) => (deferred.has(address) ? { code: 451, message: 'try again later' } : undefined),
  });
  const base = testConfig();
  t = await createTestApp({
    config: { email: { ...base.email, smtpUrl: sink.url, sendgridWebhookPublicKey: keys.publicKey, retryBaseMs: 1000 }, jobs: { inProcess: true, pollMs: 50 } },
    dns: dns.resolver,
  });
  a = await signUpWithOrg(t.app, 'ca');
  b = await signUpWithOrg(t.app, 'cb');
  await verifiedDomain(t.app, a.headers, dns, 'a.example');
  await verifiedDomain(t.app, b.headers, dns, 'b.example');
}, 60_000);
afterAll(async () => {
  await t?.close();
  await sink?.close();
});

describe('campaign counters equal a recount', () => {
  it('after sends with a retry, webhook events, tracking hits, and read by analytics, the campaign list and the dashboard', async () => {
    for (let i = 0; i < 6; i++) await createCustomer(t.app, a.headers, { email: `r${i}@c.example`, emailOptIn: true, smsOptIn: i % 2 === 0, tags: ['news'] });
    for (let i = 0; i < 3; i++) await createCustomer(t.app, b.headers, { email: `r${i}@c.example`, emailOptIn: true, tags: ['news'] });
    expect(await expectCountersEqualRecount('customers created')).toBeGreaterThan(0);

    deferred.add('r5@c.example');
    const ca = await campaign(a, 'news');
    const cb = await campaign(b, 'news');
    for (const [actor, id] of [[a, ca], [b, cb]] as const) expect((await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${id}/send`, headers: actor.headers })).statusCode).toBe(202);
    await waitFor(async () => (await messagesOf(a, ca)).filter((m: any) => m.status === 'sent').length === 5 && (await status(b, cb)) === 'sent', 20_000);
    await expectCountersEqualRecount('a send with one recipient deferred');
    deferred.clear();
    // The retry waits for its backoff (1 s here, doubling for each attempt of six; 30 s by default) and the next poll: generous on a loaded machine.
    await waitFor(async () => (await status(a, ca)) === 'sent', 50_000);
    await expectCountersEqualRecount('the retry');

    const msgs = await messagesOf(a, ca);
    const [m0, m1, m2, m3] = msgs;
    const ts = Math.floor(Date.now() / 1000);
    const events = [
      { event: 'delivered', sg_event_id: 'c-1', sb_message_id: m0.id, timestamp: ts },
      { event: 'open', sg_event_id: 'c-2', sb_message_id: m0.id, timestamp: ts + 1 },
      { event: 'open', sg_event_id: 'c-3', sb_message_id: m0.id, timestamp: ts + 2 },
      { event: 'click', sg_event_id: 'c-4', sb_message_id: m0.id, timestamp: ts + 3, url: 'https://shop.example/a' },
      { event: 'click', sg_event_id: 'c-5', sb_message_id: m0.id, timestamp: ts + 4, url: 'https://shop.example/a' },
      { event: 'click', sg_event_id: 'c-6', sb_message_id: m1.id, timestamp: ts + 4, url: 'https://shop.example/a' },
      { event: 'delivered', sg_event_id: 'c-7', sb_message_id: m1.id, timestamp: ts },
      { event: 'bounce', type: 'bounce', sg_event_id: 'c-8', sb_message_id: m2.id, timestamp: ts, reason: '550 unknown user' },
      { event: 'unsubscribe', sg_event_id: 'c-9', sb_message_id: m3.id, timestamp: ts },
      // An hour earlier: another bucket of the series.
      { event: 'delivered', sg_event_id: 'c-10', sb_message_id: m3.id, timestamp: ts - 3600 },
    ];
    const body = JSON.stringify(events);
    const res = await t.app.inject({ method: 'POST', url: '/api/webhooks/email', headers: signedHeaders(keys.privateKey, body), payload: body });
    expect(res.statusCode, res.body).toBe(200);
    await expectCountersEqualRecount('webhook events');

    // Tracking: an open pixel and a click on the second link of another message.
    const mail = sink.messages.find((x) => x.header('X-Switchboard-Message-Id') === msgs[4].id)!;
    const click = [...mail.html.matchAll(/\/api\/t\/click\/([\w-]+)/g)].map((x) => x[1])[1];
    expect((await t.app.inject({ url: `/api/t/click/${click}` })).statusCode).toBe(302);
    expect((await t.app.inject({ url: `/api/t/click/${click}` })).statusCode).toBe(302);
    const open = /\/api\/t\/open\/([\w-]+)/.exec(mail.html)![1];
    expect((await t.app.inject({ url: `/api/t/open/${open}` })).statusCode).toBe(200);
    await expectCountersEqualRecount('tracking hits');

    const an = await analytics(a, ca);
    expect(an).toMatchObject({ recipients: 6, sent: 6, delivered: 3, bounced: 1, unsubscribed: 1, failed: 0, pending: 0, cancelled: 0 });
    expect(an.opens.unique).toBe(3); // m0, m1 (its click), msgs[4]
    expect(an.clicks).toEqual({ unique: 2 + 1, total: 5 });
    expect(an.links).toEqual([
      { url: 'https://shop.example/a', clicks: 3, uniqueClicks: 2 },
      { url: 'https://shop.example/b', clicks: 2, uniqueClicks: 1 },
    ]);
    // The series sums to the totals, hour by hour in order, with the early delivery in its own hour.
    expect(an.series.length).toBeGreaterThanOrEqual(2);
    expect([...an.series.map((s: any) => s.hour)].sort()).toEqual(an.series.map((s: any) => s.hour));
    const total = (k: string) => an.series.reduce((n: number, s: any) => n + s[k], 0);
    expect({ sent: total('sent'), delivered: total('delivered'), clicks: total('clicks'), opens: total('opens') }).toEqual({ sent: 6, delivered: 3, clicks: 5, opens: an.opens.total });

    const list = (await t.app.inject({ url: '/api/email/campaigns', headers: a.headers })).json().data;
    expect(list.find((c: any) => c.id === ca).stats).toMatchObject({ recipients: 6, sent: 6, delivered: 3, bounced: 1, unsubscribed: 1, clicked: 3 });
    const stats = (await t.app.inject({ url: '/api/dashboard/stats', headers: a.headers })).json();
    expect(stats.customers).toEqual({ total: 6, emailOptIn: 5, smsOptIn: 3 }); // r3 unsubscribed
    expect(stats.messages.email.total).toBe(6);
    expect(stats.messages.email.byStatus).toMatchObject({ delivered: 3, bounced: 1, sent: 2 });
    expect(stats.rates.emailBounce).toBeCloseTo(1 / 6, 3);
    // B's counters are B's alone.
    expect(await analytics(b, cb)).toMatchObject({ recipients: 3, sent: 3, delivered: 0, clicks: { unique: 0, total: 0 } });
    expect((await t.app.inject({ url: '/api/dashboard/stats', headers: b.headers })).json().customers.total).toBe(3);
  }, 90_000);

  it('after a cancellation, deletes, cascades and bulk changes in the database, in two organizations', async () => {
    // A scheduled campaign cancelled before it sends: nothing counted; then cancelled mid-way.
    for (let i = 0; i < 4; i++) await createCustomer(t.app, a.headers, { email: `x${i}@c.example`, emailOptIn: true, tags: ['later'] });
    const cx = await campaign(a, 'later');
    deferred.add('x0@c.example');
    expect((await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${cx}/send`, headers: a.headers })).statusCode).toBe(202);
    await waitFor(async () => (await messagesOf(a, cx)).length === 4, 20_000);
    const cancel = await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${cx}/cancel`, headers: a.headers });
    expect([200, 409]).toContain(cancel.statusCode);
    deferred.clear();
    await waitFor(async () => ['cancelled', 'sent'].includes(await status(a, cx)), 20_000);
    await expectCountersEqualRecount('a cancellation');

    // A CSV import and its re-import (INSERT … ON CONFLICT: inserts and no-op updates in one statement, then updates).
    const csv = (optIn: boolean) => ['email,first_name,email_opt_in,sms_opt_in', ...Array.from({ length: 30 }, (_, i) => `imp${i}@c.example,I${i},${optIn},${i % 2 === 0}`)].join('\n');
    for (const optIn of [true, false]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/customers/import', headers: { ...a.headers, 'content-type': 'text/csv' }, payload: csv(optIn) });
      expect(res.statusCode, res.body).toBe(200);
      await expectCountersEqualRecount(`an import (opt-in ${optIn})`);
    }

    // Straight in the database, as the runtime role of each organization: the triggers keep up with
    // multi-row inserts, status and timestamp changes, events, deletes and the cascades of a deleted
    // customer (SET NULL) and campaign (its messages and counters go).
    const inTenant = (actor: Actor, fn: (tx: Tx) => Promise<unknown>) => t.db.withTenant(actor.organizationId, fn);
    for (const actor of [a, b]) {
      await inTenant(actor, async (tx) => {
        const org = actor.organizationId;
        await tx.execute(sql`insert into customers (organization_id, email, email_opt_in, sms_opt_in) select ${org}, 'bulk' || g || '@c.example', g % 2 = 0, g % 3 = 0 from generate_series(1, 40) g`);
        const [{ id: ec }] = ((await tx.execute(sql`insert into email_campaigns (organization_id, name) values (${org}, 'db') returning id`)) as any).rows;
        const [{ id: sc }] = ((await tx.execute(sql`insert into sms_campaigns (organization_id, name, body) values (${org}, 'db', 'hi') returning id`)) as any).rows;
        await tx.execute(sql`insert into email_messages (organization_id, campaign_id, customer_id, to_email)
          select organization_id, ${ec}, id, email from customers where organization_id = ${org} and email like 'bulk%'`);
        await tx.execute(sql`insert into sms_messages (organization_id, campaign_id, customer_id, to_phone, body, segments)
          select organization_id, ${sc}, id, '+1555' || lpad(row_number() over ()::text, 7, '0'), 'hi', 1 from customers where organization_id = ${org} and email like 'bulk%'`);
        await tx.execute(sql`update email_messages set status = 'sending', attempts = attempts + 1 where organization_id = ${org} and campaign_id = ${ec}`);
        // A retry goes back to queued; some fail for good, some are cancelled, the rest sent and delivered.
        await tx.execute(sql`update email_messages set status = 'queued' where organization_id = ${org} and campaign_id = ${ec} and to_email like 'bulk1%'`);
        await tx.execute(sql`update email_messages set status = 'failed', error = 'x' where organization_id = ${org} and campaign_id = ${ec} and to_email like 'bulk2%'`);
        await tx.execute(sql`update email_messages set status = 'cancelled' where organization_id = ${org} and campaign_id = ${ec} and to_email like 'bulk3%'`);
        await tx.execute(sql`update email_messages set status = 'sent', sent_at = now() - interval '2 hours' where organization_id = ${org} and campaign_id = ${ec} and status = 'sending'`);
        await tx.execute(sql`update email_messages set status = 'delivered', delivered_at = now(), opened_at = now() where organization_id = ${org} and campaign_id = ${ec} and status = 'sent' and to_email like 'bulk4%'`);
        await tx.execute(sql`insert into email_events (organization_id, message_id, type, url)
          select organization_id, id, 'click', case when to_email like 'bulk4%' then 'https://l.example/1' else 'https://l.example/2' end from email_messages
           where organization_id = ${org} and campaign_id = ${ec} and status in ('sent', 'delivered')`);
        await tx.execute(sql`insert into email_events (organization_id, message_id, type, url)
          select organization_id, id, 'click', 'https://l.example/1' from email_messages where organization_id = ${org} and campaign_id = ${ec} and status = 'delivered'`);
        await tx.execute(sql`update sms_messages set status = 'sent', sent_at = now(), segments = 2 where organization_id = ${org} and campaign_id = ${sc} and to_phone like '%1'`);
        await tx.execute(sql`update sms_messages set status = 'delivered', delivered_at = now() where organization_id = ${org} and campaign_id = ${sc} and status = 'sent' and to_phone like '%11'`);
        await tx.execute(sql`update sms_messages set status = 'cancelled' where organization_id = ${org} and campaign_id = ${sc} and status = 'queued' and to_phone like '%2'`);
        await tx.execute(sql`update customers set email_opt_in = not email_opt_in, sms_opt_in = true where organization_id = ${org} and email like 'bulk1%'`);
        await tx.execute(sql`delete from customers where organization_id = ${org} and email like 'bulk3%'`);
        await tx.execute(sql`delete from sms_messages where organization_id = ${org} and campaign_id = ${sc} and to_phone like '%5'`);
        if (actor === b) await tx.execute(sql`delete from email_campaigns where organization_id = ${org} and id = ${ec}`);
      });
      await expectCountersEqualRecount(`database changes in ${actor === a ? 'A' : 'B'}`);
    }
    // The runtime role sees only its own organization's counters.
    const seen: { organization_id: string }[] = await t.db.withTenant(b.organizationId, async (tx) => ((await tx.execute(sql`select distinct organization_id from email_campaign_status_counts`)) as any).rows);
    expect(seen.map((r) => r.organization_id)).toEqual([b.organizationId]);
  }, 90_000);
});
