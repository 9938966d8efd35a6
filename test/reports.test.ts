import { randomUUID } from 'node:crypto';
import { inProcessBus } from '../src/lib/bus.js';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobHandler } from '../src/jobs/queue.js';
import { outboxDir } from '../src/modules/email/mailer.js';
import { reportsModule } from '../src/modules/reports/index.js';
import { csvCell } from '../src/modules/reports/csv.js';
import { trackInternal } from '../src/modules/analytics/index.js';
import { addMember, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;

/**
 * One organization's activity on 2026-03-10 and 2026-03-11, straight in its tables as the runtime role
 * (the counters follow by their triggers): `n` email messages sent on the 10th (the first `opened` of them
 * delivered and opened on the 11th), `sms` SMS sent on the 11th, `customers` customers created on the 10th.
 */
async function seed(actor: Actor, o: { campaign: string; n: number; opened: number; sms: number; customers: number }) {
  await t.db.withTenant(actor.organizationId, async (tx) => {
    const org = actor.organizationId;
    await tx.execute(sql`insert into customers (organization_id, email, email_opt_in, sms_opt_in, created_at)
      select ${org}, ${o.campaign.length + '-'} || g || '@r.example', g % 2 = 0, false, '2026-03-10T08:00:00Z' from generate_series(1, ${o.customers}) g`);
    const [{ id: ec }] = ((await tx.execute(sql`insert into email_campaigns (organization_id, name) values (${org}, ${o.campaign}) returning id`)) as any).rows;
    const [{ id: sc }] = ((await tx.execute(sql`insert into sms_campaigns (organization_id, name, body) values (${org}, ${o.campaign + ' sms'}, 'hi') returning id`)) as any).rows;
    await tx.execute(sql`insert into email_messages (organization_id, campaign_id, to_email, status, sent_at, delivered_at, opened_at)
      select ${org}, ${ec}, 'm' || g || '@r.example', 'sent', '2026-03-10T12:00:00Z',
             case when g <= ${o.opened} then '2026-03-11T09:00:00Z'::timestamptz end, case when g <= ${o.opened} then '2026-03-11T10:00:00Z'::timestamptz end
        from generate_series(1, ${o.n}) g`);
    await tx.execute(sql`insert into sms_messages (organization_id, campaign_id, to_phone, body, status, sent_at)
      select ${org}, ${sc}, '+1555' || lpad(g::text, 7, '0'), 'hi', 'sent', '2026-03-11T15:00:00Z' from generate_series(1, ${o.sms}) g`);
  });
}

const create = (actor: Actor, body: unknown) => t.app.inject({ method: 'POST', url: '/api/reports', headers: actor.headers, payload: body as any });
const results = (actor: Actor, id: string, qs = '') => t.app.inject({ method: 'GET', url: `/api/reports/${id}/results${qs}`, headers: actor.headers });
const MARCH = { from: '2026-03-09', to: '2026-03-12' };

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'rep-a');
  b = await signUpWithOrg(t.app, 'rep-b');
  await seed(a, { campaign: '=HYPERLINK("https://evil.example","Click")', n: 5, opened: 2, sms: 3, customers: 4 });
  await seed(b, { campaign: 'B only', n: 50, opened: 40, sms: 30, customers: 20 });
});
afterAll(() => t?.close());

describe('saved reports', () => {
  it('creates, lists, reads, changes and deletes a report of the organization', async () => {
    const created = await create(a, { name: 'Growth', kind: 'customer_growth', range: { lastDays: 7 } });
    expect(created.statusCode).toBe(201);
    const r = created.json();
    expect(r).toMatchObject({ name: 'Growth', kind: 'customer_growth', range: { lastDays: 7 } });

    const listA = (await t.app.inject({ method: 'GET', url: '/api/reports', headers: a.headers })).json();
    expect(listA.data.map((x: any) => x.id)).toContain(r.id);
    const listB = (await t.app.inject({ method: 'GET', url: '/api/reports', headers: b.headers })).json();
    expect(listB.data.map((x: any) => x.id)).not.toContain(r.id);

    const patched = await t.app.inject({ method: 'PATCH', url: `/api/reports/${r.id}`, headers: a.headers, payload: { range: MARCH } });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({ name: 'Growth', range: MARCH });
    expect((await t.app.inject({ method: 'GET', url: `/api/reports/${r.id}`, headers: a.headers })).json().range).toEqual(MARCH);

    // B cannot read, change, run or delete A's report.
    for (const [method, url] of [['GET', `/api/reports/${r.id}`], ['PATCH', `/api/reports/${r.id}`], ['GET', `/api/reports/${r.id}/results`], ['GET', `/api/reports/${r.id}/results.csv`], ['DELETE', `/api/reports/${r.id}`]] as const) {
      const res = await t.app.inject({ method, url, headers: b.headers, ...(method === 'PATCH' && { payload: { name: 'x' } }) });
      expect(res.statusCode, `${method} ${url}`).toBe(404);
    }

    expect((await t.app.inject({ method: 'DELETE', url: `/api/reports/${r.id}`, headers: a.headers })).statusCode).toBe(204);
    expect((await t.app.inject({ method: 'GET', url: `/api/reports/${r.id}`, headers: a.headers })).statusCode).toBe(404);
  });

  it('refuses invalid definitions with the error shape', async () => {
    const bad: [string, unknown][] = [
      ['unknown kind', { name: 'x', kind: 'conversation_volume', range: { lastDays: 7 } }],
      ['unknown key', { name: 'x', kind: 'customer_growth', range: { lastDays: 7 }, extra: 1 }],
      ['empty name', { name: '  ', kind: 'customer_growth', range: { lastDays: 7 } }],
      ['to before from', { name: 'x', kind: 'customer_growth', range: { from: '2026-03-10', to: '2026-03-01' } }],
      ['range too long', { name: 'x', kind: 'customer_growth', range: { from: '2025-01-01', to: '2026-03-01' } }],
      ['not a day', { name: 'x', kind: 'customer_growth', range: { from: '2026-02-30', to: '2026-03-01' } }],
      ['lastDays 0', { name: 'x', kind: 'customer_growth', range: { lastDays: 0 } }],
      ['both range shapes', { name: 'x', kind: 'customer_growth', range: { lastDays: 3, from: '2026-03-01', to: '2026-03-02' } }],
    ];
    for (const [label, body] of bad) {
      const res = await create(a, body);
      expect(res.statusCode, label).toBe(400);
      expect(res.json(), label).toMatchObject({ code: 'validation_failed' });
    }
    const r = (await create(a, { name: 'ok', kind: 'messages_by_channel', range: MARCH })).json();
    expect((await t.app.inject({ method: 'PATCH', url: `/api/reports/${r.id}`, headers: a.headers, payload: {} })).statusCode).toBe(400);
    expect((await results(a, r.id, '?from=2026-03-01')).statusCode).toBe(400);
    expect((await results(a, r.id, '?from=2026-03-05&to=2026-03-01')).statusCode).toBe(400);
  });
});

describe('report results', () => {
  it("campaign performance counts only the organization's own campaigns, email and SMS", async () => {
    const ra = (await create(a, { name: 'Perf', kind: 'campaign_performance', range: MARCH })).json();
    const res = await results(a, ra.id);
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body).toMatchObject({ kind: 'campaign_performance', from: '2026-03-09', to: '2026-03-12' });
    expect(body.rows).toHaveLength(2);
    const email = body.rows.find((r: any) => r.channel === 'email');
    expect(email).toMatchObject({ campaign: '=HYPERLINK("https://evil.example","Click")', sent: 5, delivered: 2, opened: 2, clicked: 0, bounced: 0, unsubscribed: 0 });
    expect(body.rows.find((r: any) => r.channel === 'sms')).toMatchObject({ sent: 3, delivered: 0, opened: null });
    expect(JSON.stringify(body)).not.toContain('B only');

    // The range is applied: the day after, nothing.
    expect((await results(a, ra.id, '?from=2026-03-12&to=2026-03-12')).json().rows).toEqual([]);
    // Only the 10th: the email sends, not the SMS (the 11th).
    const tenth = (await results(a, ra.id, '?from=2026-03-10&to=2026-03-10')).json().rows;
    expect(tenth).toEqual([expect.objectContaining({ channel: 'email', sent: 5, delivered: 0 })]);
  });

  it('messages by channel and customer growth are per day, one row per day of the range, A only', async () => {
    const m = (await create(a, { name: 'Msgs', kind: 'messages_by_channel', range: MARCH })).json();
    const rows = (await results(a, m.id)).json().rows;
    expect(rows).toEqual([
      { day: '2026-03-09', email: 0, sms: 0, total: 0 },
      { day: '2026-03-10', email: 5, sms: 0, total: 5 },
      { day: '2026-03-11', email: 0, sms: 3, total: 3 },
      { day: '2026-03-12', email: 0, sms: 0, total: 0 },
    ]);
    const g = (await create(a, { name: 'Growth', kind: 'customer_growth', range: MARCH })).json();
    const growth = (await results(a, g.id)).json().rows;
    expect(growth.map((r: any) => [r.day, r.newCustomers, r.newEmailOptIn, r.totalCustomers])).toEqual([
      ['2026-03-09', 0, 0, 0],
      ['2026-03-10', 4, 2, 4],
      ['2026-03-11', 0, 0, 4],
      ['2026-03-12', 0, 0, 4],
    ]);
    // B's report over the same days sees B's numbers only.
    const gb = (await create(b, { name: 'Growth', kind: 'customer_growth', range: MARCH })).json();
    expect((await results(b, gb.id)).json().rows.at(-1).totalCustomers).toBe(20);
  });

  it('downloads the results as a formula-safe CSV attachment', async () => {
    const ra = (await create(a, { name: 'Perf / March', kind: 'campaign_performance', range: MARCH })).json();
    const res = await t.app.inject({ method: 'GET', url: `/api/reports/${ra.id}/results.csv`, headers: a.headers });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toBe('attachment; filename="Perf-March-2026-03-09-2026-03-12.csv"');
    const lines = res.body.trim().split('\r\n');
    expect(lines[0]).toBe('channel,campaignId,campaign,sent,delivered,opened,clicked,bounced,unsubscribed,orders,revenue');
    const emailLine = lines.find((l) => l.startsWith('email,'))!;
    // The campaign name is text again: a quote in front, the CSV quoting around it.
    expect(emailLine).toContain(`,"'=HYPERLINK(""https://evil.example"",""Click"")",5,2,2,0,0,0`);
    expect(lines.some((l) => /(^|,)"?[=+\-@]/.test(l))).toBe(false);
    expect(res.body).not.toContain('B only');
  });

  it('neutralises every formula lead character in a cell', () => {
    expect(['=1+1', '+1', '-1', '@SUM(A1)', '\tx', '\rx'].map(csvCell)).toEqual(["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", `"'\rx"`]);
    expect(csvCell('plain')).toBe('plain');
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell(-3)).toBe('-3');
    expect(csvCell(null)).toBe('');
  });
});

describe('comparison, attribution and conversations', () => {
  it('answers the previous period (as many days, just before) beside the current one, with totals of both', async () => {
    const m = (await create(a, { name: 'Msgs 11th', kind: 'messages_by_channel', range: { from: '2026-03-11', to: '2026-03-11' } })).json();
    const body = (await results(a, m.id)).json();
    expect(body.previous).toEqual({ from: '2026-03-10', to: '2026-03-10', rows: [{ day: '2026-03-10', email: 5, sms: 0, total: 5 }] });
    expect(body.totals).toEqual({ email: 0, sms: 3, total: 3 });
    expect(body.previousTotals).toEqual({ email: 5, sms: 0, total: 5 });
    // A one-off range moves the previous period with it: 10th–11th against 8th–9th.
    const two = (await results(a, m.id, '?from=2026-03-10&to=2026-03-11')).json();
    expect([two.previous.from, two.previous.to, two.totals.total, two.previousTotals.total]).toEqual(['2026-03-08', '2026-03-09', 8, 0]);
    const g = (await create(a, { name: 'Growth cmp', kind: 'customer_growth', range: { from: '2026-03-11', to: '2026-03-12' } })).json();
    const growth = (await results(a, g.id)).json();
    // The running total's "total" is its last value; the 10th's new customers are the previous period's.
    expect([growth.totals.totalCustomers, growth.totals.newCustomers, growth.previousTotals.newCustomers, growth.previousTotals.totalCustomers]).toEqual([4, 0, 4, 4]);
  });

  it('attributes an order to the campaign clicked last within attributionDays before it, for the organization only', async () => {
    const org = a.organizationId;
    const ids = await t.db.withTenant(org, async (tx) => {
      const one = async (q: ReturnType<typeof sql>) => (((await tx.execute(q)) as any).rows[0] as { id: string }).id;
      const x = await one(sql`insert into customers (organization_id, email) values (${org}, 'buyer@attr.example') returning id`);
      const y = await one(sql`insert into customers (organization_id, email) values (${org}, 'never-clicked@attr.example') returning id`);
      const c1 = await one(sql`insert into email_campaigns (organization_id, name) values (${org}, 'Spring sale') returning id`);
      const c2 = await one(sql`insert into email_campaigns (organization_id, name) values (${org}, 'Last chance') returning id`);
      const m1 = await one(sql`insert into email_messages (organization_id, campaign_id, customer_id, to_email, status, sent_at) values (${org}, ${c1}, ${x}, 'buyer@attr.example', 'sent', '2026-04-01T08:00:00Z') returning id`);
      const m2 = await one(sql`insert into email_messages (organization_id, campaign_id, customer_id, to_email, status, sent_at) values (${org}, ${c2}, ${x}, 'buyer@attr.example', 'sent', '2026-04-03T08:00:00Z') returning id`);
      await tx.execute(sql`insert into email_events (organization_id, message_id, type, url, occurred_at) values
        (${org}, ${m1}, 'click', 'https://shop.example/a', '2026-04-01T12:00:00Z'), (${org}, ${m2}, 'click', 'https://shop.example/b', '2026-04-03T12:00:00Z')`);
      await tx.execute(sql`insert into orders (organization_id, shopify_order_id, customer_id, total, ordered_at) values
        (${org}, 'o-before', ${x}, 7, '2026-04-01T11:00:00Z'),
        (${org}, 'o-1', ${x}, 100, '2026-04-02T10:00:00Z'),
        (${org}, 'o-2', ${x}, 50.25, '2026-04-04T10:00:00Z'),
        (${org}, 'o-late', ${x}, 30, '2026-04-15T10:00:00Z'),
        (${org}, 'o-other', ${y}, 999, '2026-04-02T10:00:00Z')`);
      return { c1, c2 };
    });
    // B has an order by a customer of its own in the same days: never A's revenue.
    await t.db.withTenant(b.organizationId, (tx) =>
      tx.execute(sql`insert into orders (organization_id, shopify_order_id, customer_id, total, ordered_at)
        select ${b.organizationId}, 'b-1', id, 5000, '2026-04-02T10:00:00Z' from customers where organization_id = ${b.organizationId} limit 1`),
    );
    const APRIL = { from: '2026-04-01', to: '2026-04-30' };
    const r = (await create(a, { name: 'Attribution', kind: 'campaign_performance', range: APRIL })).json();
    expect(r.attributionDays).toBe(7);
    const rowOf = (body: any, id: string) => body.rows.find((x: any) => x.campaignId === id);
    let body = (await results(a, r.id)).json();
    // o-before precedes every click; o-1 follows the Spring sale click; o-2 the Last chance click (the last one);
    // o-late is 12 days after the last click; o-other's customer never clicked.
    expect(rowOf(body, ids.c1)).toMatchObject({ campaign: 'Spring sale', orders: 1, revenue: 100 });
    expect(rowOf(body, ids.c2)).toMatchObject({ campaign: 'Last chance', orders: 1, revenue: 50.25 });
    expect(body.totals.revenue).toBe(150.25);
    // A longer window takes o-late too, for the campaign clicked last.
    const patched = await t.app.inject({ method: 'PATCH', url: `/api/reports/${r.id}`, headers: a.headers, payload: { attributionDays: 14 } });
    expect(patched.json().attributionDays).toBe(14);
    body = (await results(a, r.id)).json();
    expect(rowOf(body, ids.c2)).toMatchObject({ orders: 2, revenue: 80.25 });
    // B's 5,000 order is never A's revenue (a substring check would also hit an id that happens to contain the digits).
    expect(body.totals.revenue).toBe(180.25);
    expect([...body.rows, ...body.previous.rows].map((x: any) => x.revenue)).not.toContain(5000);
    for (const bad of [0, 91, 2.5]) expect((await create(a, { name: 'x', kind: 'campaign_performance', range: APRIL, attributionDays: bad })).statusCode).toBe(400);
  });

  it("counts the inbox's conversations (anonymous visitors' too) and other tools' API events per day, once each, A only", async () => {
    const conversation = (actor: Actor, c: { channel: string; customer?: boolean; created: string; resolved?: string; csat?: [number, string] }) =>
      t.db.withTenant(actor.organizationId, async (tx) => {
        const org = actor.organizationId;
        const customer = c.customer
          ? ((await tx.execute(sql`select id from customers where organization_id = ${org} order by created_at limit 1`)) as any).rows[0].id
          : null;
        const [row] = ((await tx.execute(sql`insert into chat_conversations (organization_id, channel, status, customer_id, created_at, resolved_at, csat_score, csat_answered_at)
          values (${org}, ${c.channel}, ${c.resolved ? 'resolved' : 'open'}, ${customer}, ${c.created}, ${c.resolved ?? null}, ${c.csat?.[0] ?? null}, ${c.csat?.[1] ?? null})
          returning id`)) as any).rows;
        // The inbox's own timeline events of a customer's conversation: never counted a second time.
        if (customer) {
          await trackInternal(tx, org, customer, 'Conversation Created', { conversationId: row.id, channel: c.channel }, { key: row.id, at: new Date(c.created) });
          if (c.resolved) await trackInternal(tx, org, customer, 'Conversation Resolved', { conversationId: row.id }, { key: row.id, at: new Date(c.resolved) });
          if (c.csat) await trackInternal(tx, org, customer, 'CSAT Submitted', { conversationId: row.id, score: c.csat[0] }, { key: row.id, at: new Date(c.csat[1]) });
        }
      });
    // Another help desk's conversations, as API events (what POST /api/analytics/events stores).
    const apiEvent = (actor: Actor, name: string, props: Record<string, unknown>, at: string) =>
      t.db.withTenant(actor.organizationId, (tx) =>
        tx.execute(sql`insert into analytics_events (organization_id, occurred_at, customer_id, type, name, properties, message_id, source)
          select ${actor.organizationId}, ${at}, id, 'track', ${name}, ${JSON.stringify(props)}::jsonb, ${randomUUID()}, 'api'
          from customers where organization_id = ${actor.organizationId} order by created_at limit 1`),
      );
    // An anonymous web visitor: no customer, so no customer event; the report still counts the conversation and its rating.
    await conversation(a, { channel: 'web', created: '2026-05-10T09:00:00Z', resolved: '2026-05-11T09:00:00Z', csat: [5, '2026-05-11T10:00:00Z'] });
    await conversation(a, { channel: 'sms', customer: true, created: '2026-05-10T10:00:00Z', resolved: '2026-05-11T11:00:00Z', csat: [2, '2026-05-11T12:00:00Z'] });
    await conversation(a, { channel: 'web', created: '2026-05-11T10:00:00Z' });
    await apiEvent(a, 'Conversation Created', { conversationId: 'ext-1' }, '2026-05-11T08:00:00Z');
    // The customer changes their mind on ext-1 later the same day: one answer per conversation, the latest.
    await apiEvent(a, 'CSAT Answered', { conversationId: 'ext-1', score: 1 }, '2026-05-11T13:00:00Z');
    await apiEvent(a, 'CSAT Answered', { conversationId: 'ext-1', score: 4 }, '2026-05-11T14:00:00Z');
    await apiEvent(a, 'CSAT Answered', { conversationId: 'ext-9', score: 'great' }, '2026-05-11T13:00:00Z');
    await conversation(b, { channel: 'web', created: '2026-05-10T09:00:00Z', resolved: '2026-05-10T09:10:00Z', csat: [1, '2026-05-10T09:30:00Z'] });
    await apiEvent(b, 'Conversation Created', { conversationId: 'b-ext' }, '2026-05-10T09:00:00Z');
    const r = (await create(a, { name: 'Support', kind: 'conversations', range: { from: '2026-05-10', to: '2026-05-11' } })).json();
    const body = (await results(a, r.id)).json();
    expect(body.columns).toEqual(['day', 'created', 'resolved', 'csatAnswers', 'csatAverage', 'satisfied']);
    expect(body.rows).toEqual([
      { day: '2026-05-10', created: 2, resolved: 0, csatAnswers: 0, csatAverage: null, satisfied: 0 },
      { day: '2026-05-11', created: 2, resolved: 2, csatAnswers: 3, csatAverage: 3.67, satisfied: 2 },
    ]);
    expect(body.totals).toMatchObject({ created: 4, resolved: 2, csatAnswers: 3, satisfied: 2 });
    expect(body.totals.csatAverage).toBeCloseTo(3.67, 2);
    expect(body.previousTotals).toEqual({ created: 0, resolved: 0, csatAnswers: 0, csatAverage: null, satisfied: 0 });
    const csv = await t.app.inject({ method: 'GET', url: `/api/reports/${r.id}/results.csv`, headers: a.headers });
    expect(csv.body.split('\r\n')[2]).toBe('2026-05-11,2,2,3,3.67,2');
  });
});

describe('scheduled delivery', () => {
  const queued = (actor: Actor, id: string) =>
    t.db.withTenant(actor.organizationId, async (tx) =>
      ((await tx.execute(sql`select state, run_at from jobs where organization_id = ${actor.organizationId} and singleton_key = ${'report:' + id} order by created_at`)) as any).rows as { state: string; run_at: string | Date }[]);

  it('mails the CSV to member recipients by a job that queues itself again; strangers are refused', async () => {
    const member = await addMember(t.app, a, 'member', 'rep-member');
    // B's owner is not a member of A: refused, nothing saved.
    const refused = await create(a, { name: 'Daily', kind: 'campaign_performance', range: MARCH, schedule: { every: 'day', recipients: [member.userId, b.userId] } });
    expect(refused.statusCode).toBe(400);
    expect(refused.json()).toMatchObject({ code: 'validation_failed' });
    expect(JSON.stringify(refused.json())).toContain(b.userId);

    const res = await create(a, { name: 'Daily =perf', kind: 'campaign_performance', range: MARCH, schedule: { every: 'day', recipients: [member.userId] } });
    expect(res.statusCode).toBe(201);
    const r = res.json();
    expect(r.schedule).toEqual({ every: 'day', recipients: [member.userId] });
    const [job] = await queued(a, r.id);
    expect(job.state).toBe('queued');
    const inHours = (new Date(job.run_at).getTime() - Date.now()) / 3_600_000;
    expect(inHours).toBeGreaterThan(23.9);
    expect(inHours).toBeLessThanOrEqual(24);

    const handler = reportsModule.jobs!({ db: t.db, config: t.config, bus: inProcessBus() }).handlers['report.deliver'] as JobHandler;
    const run = () =>
      handler({ id: 'j', organizationId: a.organizationId, queue: 'report.deliver', payload: { reportId: r.id }, attempts: 1, maxAttempts: 5, leaseId: 'l' }, { signal: new AbortController().signal, lease: {} as any });
    const result = await run();
    expect(result && (result.retryAt.getTime() - Date.now()) / 3_600_000).toBeGreaterThan(23.9);
    const dir = outboxDir(t.config, a.organizationId);
    const mails = readdirSync(dir).map((f) => readFileSync(path.join(dir, f), 'utf8'));
    const mail = mails.find((m) => m.includes('Report: Daily =perf'))!;
    expect(mail).toBeDefined();
    expect(mail).toMatch(new RegExp(`^To: ${member.email}`, 'mi'));
    expect(mail).toContain('filename=Daily-perf-2026-03-09-2026-03-12.csv');
    // The attachment is the CSV, formula-safe like the download.
    const b64 = /filename=Daily-perf[^\n]*\n(?:[^\n]+\n)*\n([A-Za-z0-9+\/=\n]+)/.exec(mail)?.[1];
    expect(b64 && Buffer.from(b64.replace(/\n/g, ''), 'base64').toString('utf8')).toContain(`"'=HYPERLINK(""https://evil.example"",""Click"")",5,2,2,0,0,0`);
    expect(mail).toMatch(/Content-Type: text\/csv/i);
    // Only the recipient: not A's owner, not B.
    expect(mails.filter((m) => m.includes('Report: Daily =perf')).length).toBe(1);

    // Unscheduled: the queued job is cancelled and a stray run ends the chain without mail.
    const off = await t.app.inject({ method: 'PATCH', url: `/api/reports/${r.id}`, headers: a.headers, payload: { schedule: null } });
    expect(off.json().schedule).toBeNull();
    expect((await queued(a, r.id)).map((j) => j.state)).toEqual(['cancelled']);
    expect(await run()).toBeUndefined();
    expect(readdirSync(dir).length).toBe(mails.length);
  });
});
