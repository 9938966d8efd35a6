/**
 * Scale benchmark (issue 12): does a page cost the same in an organization of 10,000 customers and of
 * 1,000,000? One organization of SCALE_ROWS customers (default 1,000,000) with a SCALE_ROWS-message email
 * campaign, beside nine of 10,000 customers with a 10,000-message campaign each, built with
 * generate_series as the owner. Then every operation of the table, through the HTTP API with
 * an API key (the runtime role, under RLS), on the big organization and on a small one, interleaved:
 * both p50s and the growth factor (aim: within 2×).
 *
 *   npm run bench -- scale                    (SCALE_ROWS=100000 for a quicker try)
 *   SCALE_IMPORT_ROWS (default 100,000): rows of the CSV import measured in each organization, with the
 *     server's heap growth during it (the file is streamed in batches: bounded whatever its size).
 *   SCALE_KEEP=1: keep the database afterwards (to EXPLAIN); drop it by hand.
 *   SCALE_RATIOS=0: skip the two throughput ratios printed at the end (the list endpoint ÷ a bare
 *     Fastify route, from the customers suite; campaign sends ÷ a bare nodemailer loop, from the email
 *     suite with BENCH_EMAIL_RECIPIENTS, default here 20,000). Each builds its own database.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';
import { bodyOf, createBenchDatabase, createTenantOverHttp, interleaved, log, loopVariant, onCleanup, runIfMain, settings, type Load, type Result } from './lib.js';

const SUITE = 'scale';
const BIG = Number(process.env.SCALE_ROWS ?? 1_000_000);
const SMALL = 10_000;
const SMALL_ORGS = 9;
const IMPORT_ROWS = Number(process.env.SCALE_IMPORT_ROWS ?? 100_000);
/** Sequential requests (one connection): latency, not throughput, on a 2-core machine. */
const CONNECTIONS = 1;
const ROUNDS = 3;

interface Tenant {
  organizationId: string;
  key: string;
  size: number;
  campaignId?: string;
  deepCursor?: string;
}

async function createTenant(base: string, n: number, size: number): Promise<Tenant> {
  return { ...(await createTenantOverHttp(base, 'scale', n, 'admin')), size };
}

/**
 * One organization's data, as the owner: `n` customers (5 of them named "Quokka…" for the search,
 * 10 tagged "rare" for the tag filter), 20 draft campaigns and one sent campaign with a message per
 * customer (all sent, 90% delivered, 30% opened, 10% clicked, 1% bounced), one open event per opened
 * message and one click per clicked. The counters are kept by the triggers as the rows go in.
 */
async function seed(owner: pg.Pool, t: Tenant) {
  const o = t.organizationId;
  const n = t.size;
  await owner.query(
    `INSERT INTO customers (organization_id, email, phone, first_name, last_name, email_opt_in, sms_opt_in, tags, created_at, updated_at)
     SELECT $1, 'customer' || g || '@example.com', '+1555' || lpad(g::text, 7, '0'),
            CASE WHEN g % ($2::int / 5) = 7 THEN 'Quokka' || g ELSE 'First' || g END, 'Last' || g,
            g % 2 = 0, g % 3 = 0,
            CASE WHEN g % ($2::int / 10) = 3 THEN ARRAY['rare', 'newsletter'] WHEN g % 3 = 0 THEN ARRAY['newsletter'] ELSE '{}'::text[] END,
            now() - make_interval(secs => g * 0.5), now()
       FROM generate_series(1, $2::int) AS g`,
    [o, n],
  );
  await owner.query(
    `INSERT INTO email_campaigns (organization_id, name, subject, html, status, created_at)
     SELECT $1, 'Draft ' || g, 'Hello', '<p>Hi</p>', 'draft', now() - make_interval(mins => g) FROM generate_series(1, 20) AS g`,
    [o],
  );
  const [c] = (
    await owner.query(
      `INSERT INTO email_campaigns (organization_id, name, subject, html, status, started_at, sent_at, tracked_links, created_at)
       VALUES ($1, 'Big send', 'Hello', '<p>Hi <a href="https://example.com/a">a</a></p>', 'sent', now() - interval '3 hours', now() - interval '2 hours', ARRAY['https://example.com/a'], now() - interval '4 hours')
       RETURNING id`,
      [o],
    )
  ).rows;
  t.campaignId = c.id;
  // Messages in slices: one statement per 200,000 keeps each transition table (and its aggregate) modest.
  for (let from = 0; from < n; from += 200_000) {
    await owner.query(
      `INSERT INTO email_messages (organization_id, campaign_id, customer_id, to_email, status, provider_message_id, attempts, sent_at, delivered_at, opened_at, clicked_at, bounced_at, created_at)
       SELECT c.organization_id, $2, c.id, c.email,
              CASE WHEN r % 100 = 0 THEN 'bounced' WHEN r % 10 = 0 THEN 'sent' ELSE 'delivered' END,
              'bench-' || c.id, 1,
              s, CASE WHEN r % 10 <> 0 THEN s + interval '1 minute' END,
              CASE WHEN r % 10 IN (1, 2, 3) THEN s + interval '20 minutes' END,
              CASE WHEN r % 10 = 1 THEN s + interval '25 minutes' END,
              CASE WHEN r % 100 = 0 THEN s + interval '1 minute' END,
              now() - interval '3 hours' + make_interval(secs => r * 0.001)
         FROM (SELECT cu.*, row_number() OVER (ORDER BY cu.created_at, cu.id) AS r FROM customers cu WHERE cu.organization_id = $1) c,
              LATERAL (SELECT now() - interval '3 hours' + make_interval(secs => (c.r % 7200)::int) AS s) x
        WHERE c.r > $3 AND c.r <= $3 + 200000`,
      [o, t.campaignId, from],
    );
  }
  await owner.query(
    `INSERT INTO email_events (organization_id, message_id, type, url, occurred_at)
     SELECT organization_id, id, 'open', NULL, opened_at FROM email_messages WHERE organization_id = $1 AND opened_at IS NOT NULL`,
    [o],
  );
  await owner.query(
    `INSERT INTO email_events (organization_id, message_id, type, url, occurred_at)
     SELECT organization_id, id, 'click', 'https://example.com/a', clicked_at FROM email_messages WHERE organization_id = $1 AND clicked_at IS NOT NULL`,
    [o],
  );
}

/** A cursor 95% of the way down the customer list (the "deep page"), as the API encodes it. */
async function deepCursor(owner: pg.Pool, t: Tenant) {
  const { rows } = await owner.query(
    `SELECT created_at::text AS ts, id FROM customers WHERE organization_id = $1 ORDER BY created_at DESC, id DESC OFFSET $2 LIMIT 1`,
    [t.organizationId, Math.floor(t.size * 0.95)],
  );
  return Buffer.from(JSON.stringify([rows[0].ts, rows[0].id])).toString('base64url');
}

interface Operation {
  name: string;
  path: (t: Tenant) => string;
  /** What a right answer looks like, checked on every request. */
  check: (body: any, t: Tenant) => boolean;
}

const OPERATIONS: Operation[] = [
  { name: 'search q matching 5 rows', path: () => '/api/customers?q=quokka&limit=50', check: (b) => b.data?.length === 5 },
  { name: 'tag matching 10 rows', path: () => '/api/customers?tag=rare&limit=50', check: (b) => b.data?.length === 10 },
  { name: 'dashboard stats', path: () => '/api/dashboard/stats', check: (b, t) => b.customers?.total >= t.size },
  { name: 'campaign analytics', path: (t) => `/api/email/campaigns/${t.campaignId}/analytics`, check: (b, t) => b.recipients === t.size && b.series?.length > 0 },
  { name: 'campaign messages, page 1', path: (t) => `/api/email/campaigns/${t.campaignId}/messages?limit=50`, check: (b) => b.data?.length === 50 },
  { name: 'campaigns list', path: () => '/api/email/campaigns?limit=50', check: (b) => b.data?.length === 21 && b.data.some((c: any) => c.stats.recipients > 0) },
  { name: 'GET /api/organizations/current', path: () => '/api/organizations/current', check: (b) => typeof b.id === 'string' },
  { name: 'deep page (95% down the list)', path: (t) => `/api/customers?limit=50&cursor=${t.deepCursor}`, check: (b) => b.data?.length === 50 },
];

async function importOnce(base: string, t: Tenant, round: number): Promise<{ ms: number; heapGrowthMb: number; fileMb: number }> {
  const lines = ['email,first_name,last_name,phone,email_opt_in,tags'];
  // Half new addresses, half re-imports of existing customers (updated by email).
  for (let i = 0; i < IMPORT_ROWS; i++) {
    lines.push(i % 2 ? `imp${round}-${i}@example.com,Imp${i},Row${i},,true,imported` : `customer${i + 1}@example.com,First${i + 1},Last${i + 1},,true,reimported`);
  }
  const csv = lines.join('\n');
  lines.length = 0;
  // The server runs in this process: its heap is sampled while the file goes through.
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  const sampler = setInterval(() => (heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed)), 20);
  const started = performance.now();
  try {
    const res = await fetch(`${base}/api/customers/import`, { method: 'POST', headers: { authorization: `Bearer ${t.key}`, 'content-type': 'text/csv' }, body: csv });
    const body = await bodyOf(res);
    const ms = performance.now() - started;
    if (res.status !== 200 || body.created + body.updated !== IMPORT_ROWS) throw new Error(`import answered ${res.status}: ${JSON.stringify(body).slice(0, 300)}`);
    return { ms, heapGrowthMb: (heapPeak - heapBefore) / 1e6, fileMb: csv.length / 1e6 };
  } finally {
    clearInterval(sampler);
  }
}

export async function run(): Promise<Result[]> {
  const bdb = await createBenchDatabase();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-'));
  const closers: (() => Promise<void>)[] = [];
  const results: Result[] = [];
  let finish: (() => Promise<void>) | null = null;
  try {
    log(`scale: database ${bdb.name}; one organization of ${BIG.toLocaleString('en')} customers beside ${SMALL_ORGS} of ${SMALL.toLocaleString('en')}`);
    const config = loadConfig(
      { ...process.env, NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', SIGN_IN_MAX_PER_IP: '100000', SIGN_IN_MAX_PER_ACCOUNT: '100000', IMPORT_LIMIT_BYTES: String(200 * 1024 * 1024) },
      { databaseUrl: bdb.url },
    );
    const db = await openDatabase({ databaseUrl: bdb.url, poolSize: config.databasePoolSize });
    closers.push(onCleanup(() => db.close()));
    const app = await buildServer({ config, db, logger: false });
    closers.push(onCleanup(() => app.close()));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('server has no TCP address');
    const base = `http://127.0.0.1:${address.port}`;
    const owner = new pg.Pool({ connectionString: bdb.url, max: 2 });
    owner.on('error', () => {});
    closers.push(onCleanup(() => owner.end()));

    const t0 = Date.now();
    const tenants = [await createTenant(base, 0, BIG)];
    for (let n = 1; n <= SMALL_ORGS; n++) tenants.push(await createTenant(base, n, SMALL));
    for (const t of tenants) {
      await seed(owner, t);
      if (t.size === BIG) log(`scale: big organization seeded in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
    await owner.query('VACUUM ANALYZE');
    for (const t of tenants) t.deepCursor = await deepCursor(owner, t);
    log(`scale: seeded in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    const [big, small] = [tenants[0], tenants[1]];
    let closed = false;
    const closeAll = async () => {
      if (closed) return;
      closed = true;
      for (const close of closers.reverse()) await close().catch(() => {});
      if (process.env.SCALE_KEEP) log(`scale: kept database ${bdb.name}`);
      else await bdb.drop().catch(() => {});
    };
    finish = closeAll;

    const summary: string[][] = [['operation', `${SMALL / 1000}k org p50 ms`, `${BIG / 1000}k org p50 ms`, 'growth']];
    const ratio = (name: string, a: number, b: number): Result => ({
      kind: 'ratio', suite: SUITE, name: `${name}: growth`, value: b / a, aim: '<= 2', met: b / a <= 2,
      detail: `p50 ${a.toFixed(1)} ms (${SMALL / 1000}k) → ${b.toFixed(1)} ms (${BIG / 1000}k)`,
    });
    for (const op of OPERATIONS) {
      const variant = (t: Tenant, label: string) =>
        loopVariant(SUITE, `${op.name} (${label})`, async () => {
          const res = await fetch(`${base}${op.path(t)}`, { headers: { authorization: `Bearer ${t.key}` } });
          const body = await bodyOf(res);
          return res.status === 200 && op.check(body, t);
        });
      // One connection: a latency measurement. Each side gets settings.seconds in ROUNDS alternating parts.
      const saved = settings.connections;
      settings.connections = CONNECTIONS;
      let loads: Load[];
      try {
        loads = await interleaved([variant(small, `${SMALL / 1000}k`), variant(big, `${BIG / 1000}k`)], settings.seconds, ROUNDS);
      } finally {
        settings.connections = saved;
      }
      results.push(...loads, ratio(op.name, loads[0].p50Ms, loads[1].p50Ms));
      summary.push([op.name, loads[0].p50Ms.toFixed(1), loads[1].p50Ms.toFixed(1), `${(loads[1].p50Ms / loads[0].p50Ms).toFixed(2)}×`]);
      log(`scale: ${op.name}: ${loads[0].p50Ms.toFixed(1)} ms → ${loads[1].p50Ms.toFixed(1)} ms (errors ${loads[0].errors}/${loads[1].errors})`);
    }
    // CSV import: two imports into each organization, alternating; the median of each side.
    const times = { small: [] as number[], big: [] as number[] };
    let heapGrowthMb = 0;
    let fileMb = 0;
    for (let r = 0; r < 2; r++) {
      for (const [side, t] of [['small', small], ['big', big]] as const) {
        const one = await importOnce(base, t, r);
        times[side].push(one.ms);
        heapGrowthMb = Math.max(heapGrowthMb, one.heapGrowthMb);
        fileMb = one.fileMb;
      }
    }
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
    const [is, ib] = [median(times.small), median(times.big)];
    results.push(ratio(`CSV import, ${IMPORT_ROWS / 1000}k rows`, is, ib));
    summary.push([`CSV import, ${IMPORT_ROWS / 1000}k rows`, is.toFixed(0), ib.toFixed(0), `${(ib / is).toFixed(2)}×`]);
    log(`scale: import ${IMPORT_ROWS}: ${is.toFixed(0)} ms → ${ib.toFixed(0)} ms; server heap grew at most ${heapGrowthMb.toFixed(1)} MB for a ${fileMb.toFixed(1)} MB file`);
    results.push({ kind: 'ratio', suite: SUITE, name: `CSV import heap growth ÷ file size`, value: heapGrowthMb / fileMb, aim: '(bounded)', met: true, detail: `peak heap growth ${heapGrowthMb.toFixed(1)} MB during a ${fileMb.toFixed(1)} MB import (the bench's own copy of the file included)` });
    summary.push([`  import: peak heap growth (MB) for a ${fileMb.toFixed(1)} MB file`, '', heapGrowthMb.toFixed(1), '']);

    // The two throughput aims of issue 12, from their own suites (each builds its own database).
    if (process.env.SCALE_RATIOS !== '0') {
      await closeAll();
      process.env.BENCH_EMAIL_RECIPIENTS ??= '20000';
      process.env.BENCH_EMAIL_BASELINE ??= '20000';
      for (const [suite, wanted] of [['customers', 'list endpoint vs bare Fastify route (both HTTP)'], ['email', 'campaign send vs bare nodemailer']] as const) {
        log(`scale: ${suite} suite for its ratio`);
        const more = await (await import(`./${suite}.js`)).run() as Result[];
        results.push(...more);
        const r = more.find((x): x is Extract<Result, { kind: 'ratio' }> => x.kind === 'ratio' && x.name === wanted);
        if (r) summary.push([`${wanted} (aim ${r.aim})`, '', '', `${r.value.toFixed(2)}×`]);
      }
    }

    const width = summary[0].map((_, i) => Math.max(...summary.map((r) => r[i].length)));
    log(`\n${summary.map((r) => r.map((c, i) => (i ? c.padStart(width[i]) : c.padEnd(width[i]))).join('  ')).join('\n')}\n`);
    return results;
  } finally {
    // SCALE_KEEP=1 leaves the database for EXPLAIN (drop it by hand afterwards).
    if (finish) await finish();
    else {
      for (const close of closers.reverse()) await close().catch(() => {});
      await bdb.drop().catch(() => {});
    }
    rmSync(dataDir, { recursive: true, force: true });
  }
}

await runIfMain(import.meta.url, run);
