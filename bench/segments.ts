/**
 * Segment sizes at scale (issue 13): one organization with 1,000,000 customers (BENCH_SEGMENT_CUSTOMERS) and
 * three events each on average over the last 90 days, made with generate_series; then the time of
 * POST /api/segments/preview (count + sample, inside the organization's RLS scope) for typical conditions.
 * Reported, not compared: there is no bare baseline for "the same answer".
 */
import { performance } from 'node:perf_hooks';
import { log, runIfMain, type Result } from './lib.js';
import { benchServer, signUpOwner } from './server.js';

const SUITE = 'segments';
const CUSTOMERS = Number(process.env.BENCH_SEGMENT_CUSTOMERS ?? 1_000_000);
const EVENTS_PER_CUSTOMER = 3;

const CONDITIONS: [string, unknown][] = [
  ['did Order Completed ≥ 2 times in 30 days', { type: 'event', event: 'Order Completed', op: 'atLeast', count: 2, withinDays: 30 }],
  ['has not opened an email in 90 days', { type: 'event', event: 'Email Opened', op: 'none', withinDays: 90 }],
  [
    'opted in, tag vip, plan pro, and bought in 30 days',
    { type: 'and', conditions: [{ type: 'consent', channel: 'email', optedIn: true }, { type: 'tag', op: 'has', tag: 'vip' }, { type: 'attribute', key: 'plan', op: 'eq', value: 'pro' }, { type: 'event', event: 'Order Completed', op: 'atLeast', withinDays: 30 }] },
  ],
];

export async function run(): Promise<Result[]> {
  const { app, owner, closeAll } = await benchServer(SUITE, { ownerConnections: 2 });
  const results: Result[] = [];
  try {
    const { org, cookie } = await signUpOwner(app);
    log(`segments: ${CUSTOMERS} customers, ${CUSTOMERS * EVENTS_PER_CUSTOMER} events`);
    let t0 = performance.now();
    await owner.query(
      `insert into customers (organization_id, email, email_opt_in, tags, attributes)
       select $1, 'c' || g || '@example.com', g % 2 = 0, case when g % 10 = 0 then array['vip'] else '{}' end,
              jsonb_build_object('plan', case when g % 3 = 0 then 'pro' else 'free' end)
       from generate_series(1, $2::int) g`,
      [org, CUSTOMERS],
    );
    // Events over the last 90 days; names weighted like a shop's (views, orders, opens).
    await owner.query(
      `insert into analytics_events (organization_id, occurred_at, customer_id, type, name, properties, message_id)
       select $1, now() - (random() * interval '90 days'), c.id, 'track',
              (array['Product Viewed', 'Order Completed', 'Email Opened'])[1 + floor(random() * 3)::int], '{}', 'bench-' || c.id || '-' || g
       from (select id from customers where organization_id = $1) c,
            generate_series(1, $2::int) g`,
      [org, EVENTS_PER_CUSTOMER],
    );
    await owner.query('analyze');
    log(`segments: data made in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    for (const [name, condition] of CONDITIONS) {
      const times: number[] = [];
      let count = 0;
      for (let i = 0; i < 3; i++) {
        t0 = performance.now();
        const res = await app.inject({ method: 'POST', url: '/api/segments/preview', headers: { cookie }, payload: { condition } });
        times.push(performance.now() - t0);
        if (res.statusCode !== 200) throw new Error(`preview: ${res.statusCode} ${res.body}`);
        count = res.json().count;
      }
      log(`segments: ${name}: ${count} customers, ${times.map((t) => (t / 1000).toFixed(2)).join(' / ')} s`);
      const sorted = [...times].sort((x, y) => x - y);
      results.push({
        kind: 'load', suite: SUITE, name: `preview, ${CUSTOMERS} customers: ${name} (${count} match)`, connections: 1,
        seconds: times.reduce((x, y) => x + y, 0) / 1000, requests: times.length, rps: times.length / (times.reduce((x, y) => x + y, 0) / 1000),
        p50Ms: sorted[1], p99Ms: sorted[2], errors: 0,
      });
    }
  } finally {
    await closeAll();
  }
  return results;
}

await runIfMain(import.meta.url, run);
