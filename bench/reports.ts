/**
 * Report run times at scale (issue 13): one organization with 1,000,000 customers (BENCH_REPORT_CUSTOMERS)
 * created over the last year, 3,000,000 customer events over the last 90 days (views, orders, opens and the
 * inbox's conversation events with CSAT answers), 10 email campaigns of 100,000 messages each with a 5 %
 * click rate, 2 SMS campaigns of 100,000, 200,000 Shopify orders and 200,000 inbox conversations over 180 days
 * (half of them anonymous visitors', three in four resolved, one in four rated), made with generate_series; then the
 * time of GET /api/reports/:id/results (the range and the previous period, inside the organization's RLS
 * scope) for each report kind over the last 30 and 90 days. Reported, not compared.
 */
import { performance } from 'node:perf_hooks';
import { KINDS } from '../src/modules/reports/schemas.js';
import { log, runIfMain, type Result } from './lib.js';
import { benchServer, signUpOwner } from './server.js';

const SUITE = 'reports';
const CUSTOMERS = Number(process.env.BENCH_REPORT_CUSTOMERS ?? 1_000_000);
const EVENTS_PER_CUSTOMER = 3;
const RUNS = 3;

export async function run(): Promise<Result[]> {
  // One owner connection: the data build uses a temporary table.
  const { app, owner, closeAll } = await benchServer(SUITE, { ownerConnections: 1 });
  const results: Result[] = [];
  try {
    const { org, cookie } = await signUpOwner(app);
    const step = async (what: string, text: string, params: unknown[] = [org]) => {
      const t0 = performance.now();
      const r = await owner.query(text, params);
      log(`reports: ${what}: ${r.rowCount ?? 0} rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    };
    log(`reports: ${CUSTOMERS} customers`);
    const t0 = performance.now();
    await step(
      'customers',
      `insert into customers (organization_id, email, email_opt_in, sms_opt_in, created_at, unsubscribed_at)
       select $1, 'c' || g || '@example.com', g % 2 = 0, g % 3 = 0, now() - (random() * interval '365 days'),
              case when g % 50 = 0 then now() - (random() * interval '90 days') end
       from generate_series(1, $2::int) g`,
      [org, CUSTOMERS],
    );
    await step('customer numbers', `create temp table nums as select id, row_number() over () as rn from customers where organization_id = $1`);
    // Nine names: a shop's views, orders and opens, and the inbox's conversations with CSAT answers.
    await step(
      'events',
      `insert into analytics_events (organization_id, occurred_at, customer_id, type, name, properties, message_id)
       select $1, now() - (random() * interval '90 days'), c.id, 'track', x.name, x.props, 'bench-' || c.id || '-' || g
       from customers c, generate_series(1, $2::int) g,
            -- The name depends on the row (an uncorrelated random() here would be evaluated once for every row).
            lateral (select (array['Product Viewed', 'Product Viewed', 'Order Completed', 'Email Opened', 'Product Viewed', 'Email Opened',
                                   'Conversation Created', 'Conversation Resolved', 'CSAT Answered'])[1 + abs(hashtext(c.id::text || g)) % 9] as name) n,
            lateral (select n.name, case when n.name = 'CSAT Answered' then jsonb_build_object('conversationId', c.id::text || g, 'score', 1 + abs(hashtext(g || c.id::text)) % 5)
                                         when n.name like 'Conversation%' then jsonb_build_object('conversationId', c.id::text || g, 'channel', 'email')
                                         else '{}'::jsonb end as props) x
       where c.organization_id = $1`,
      [org, EVENTS_PER_CUSTOMER],
    );
    await step('email campaigns', `insert into email_campaigns (organization_id, name, status) select $1, 'Campaign ' || k, 'sent' from generate_series(1, 10) k`);
    await step(
      'email messages (10 × 100,000)',
      `insert into email_messages (organization_id, campaign_id, customer_id, to_email, status, sent_at, delivered_at, opened_at)
       select $1, c.id, n.id, 'c' || n.rn || '@example.com', 'sent', t.at, t.at + interval '1 minute', case when n.rn % 5 = 0 then t.at + interval '2 hours' end
       from (select id, row_number() over (order by name) as k from email_campaigns where organization_id = $1) c
       join nums n on n.rn % 10 = c.k - 1 and n.rn <= 1000000
       cross join lateral (select now() - (c.k * interval '8 days') + (random() * interval '6 hours') as at) t`,
    );
    await step(
      'email clicks (5 %)',
      `insert into email_events (organization_id, message_id, type, url, occurred_at)
       select $1, m.id, 'click', 'https://shop.example/p/' || (abs(hashtext(m.id::text)) % 20), m.sent_at + random() * interval '2 days'
       from email_messages m where m.organization_id = $1 and abs(hashtext(m.id::text)) % 20 = 0`,
    );
    await step('SMS campaigns', `insert into sms_campaigns (organization_id, name, body, status) select $1, 'SMS ' || k, 'hi', 'sent' from generate_series(1, 2) k`);
    await step(
      'SMS messages (2 × 100,000)',
      `insert into sms_messages (organization_id, campaign_id, customer_id, to_phone, body, status, sent_at, delivered_at)
       select $1, c.id, n.id, '+1555' || lpad(n.rn::text, 7, '0'), 'hi', 'delivered', now() - c.k * interval '10 days', now() - c.k * interval '10 days' + interval '1 minute'
       from (select id, row_number() over (order by name) as k from sms_campaigns where organization_id = $1) c
       join nums n on n.rn % 10 = c.k + 2 and n.rn <= 1000000`,
    );
    await step(
      'orders (200,000)',
      `insert into orders (organization_id, shopify_order_id, customer_id, total, currency, items_count, ordered_at)
       select $1, 'o-' || n.rn, n.id, round((10 + random() * 190)::numeric, 2), 'USD', 1, now() - random() * interval '90 days'
       from nums n where n.rn % 5 = 1`,
    );
    await step(
      'inbox conversations (200,000)',
      `insert into chat_conversations (organization_id, channel, status, customer_id, created_at, last_message_at, resolved_at, csat_score, csat_answered_at)
       select $1, (array['web', 'sms', 'email'])[1 + g % 3], case when g % 4 = 0 then 'open' else 'resolved' end,
              case when g % 2 = 0 then n.id end, t.at, t.at, case when g % 4 <> 0 then t.at + interval '3 hours' end,
              case when g % 4 = 1 then 1 + g % 5 end, case when g % 4 = 1 then t.at + interval '4 hours' end
       from generate_series(1, 200000) g left join nums n on n.rn = g
       cross join lateral (select now() - (g % 180) * interval '1 day' - (g % 86400) * interval '1 second' as at) t`,
    );
    await owner.query('analyze');
    log(`reports: data made in ${((performance.now() - t0) / 1000).toFixed(0)} s`);

    for (const kind of KINDS) {
      for (const lastDays of [30, 90]) {
        const created = await app.inject({ method: 'POST', url: '/api/reports', headers: { cookie }, payload: { name: `${kind} ${lastDays}`, kind, range: { lastDays } } });
        if (created.statusCode !== 201) throw new Error(`create: ${created.statusCode} ${created.body}`);
        const id = created.json().id as string;
        const times: number[] = [];
        let rows = 0;
        for (let i = 0; i < RUNS; i++) {
          const s = performance.now();
          const res = await app.inject({ method: 'GET', url: `/api/reports/${id}/results`, headers: { cookie } });
          times.push(performance.now() - s);
          if (res.statusCode !== 200) throw new Error(`results: ${res.statusCode} ${res.body}`);
          rows = res.json().rows.length;
        }
        log(`reports: ${kind}, last ${lastDays} days (${rows} rows, and the previous period): ${times.map((t) => (t / 1000).toFixed(2)).join(' / ')} s`);
        const sorted = [...times].sort((x, y) => x - y);
        const total = times.reduce((x, y) => x + y, 0) / 1000;
        results.push({
          kind: 'load', suite: SUITE, name: `results, ${CUSTOMERS} customers: ${kind}, last ${lastDays} days + previous period (${rows} rows)`, connections: 1,
          seconds: total, requests: times.length, rps: times.length / total, p50Ms: sorted[Math.floor(sorted.length / 2)], p99Ms: sorted[sorted.length - 1], errors: 0,
        });
      }
    }
  } finally {
    await closeAll();
  }
  return results;
}

await runIfMain(import.meta.url, run);
