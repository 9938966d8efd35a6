/**
 * Segment sizes at scale (issue 13): one organization with 1,000,000 customers (BENCH_SEGMENT_CUSTOMERS) and
 * three events each on average over the last 90 days, made with generate_series; then the time of
 * POST /api/segments/preview (count + sample, inside the organization's RLS scope) for typical conditions.
 * Reported, not compared: there is no bare baseline for "the same answer".
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';
import { createBenchDatabase, log, onCleanup, runIfMain, type Result } from './lib.js';

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
  const bdb = await createBenchDatabase();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-segments-'));
  const base = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: bdb.url });
  const config = { ...base, jobs: { ...base.jobs, inProcess: false } };
  const db = await openDatabase({ databaseUrl: bdb.url, poolSize: 4 });
  const app = await buildServer({ config, db, logger: false });
  const owner = new pg.Pool({ connectionString: bdb.url, max: 2 });
  const closeAll = onCleanup(async () => {
    await owner.end();
    await app.close();
    await db.close();
    await bdb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  const results: Result[] = [];
  try {
    const signUp = await app.inject({ method: 'POST', url: '/api/auth/sign-up', payload: { email: 'bench@acme.example', password: 'correct horse battery', name: 'b', organizationName: 'Bench' } });
    const org = signUp.json().organization.id as string;
    const cookie = String(signUp.headers['set-cookie']).split(';')[0];
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
