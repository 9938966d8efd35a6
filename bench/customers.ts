/**
 * Customer list benchmark (issue 2): GET /api/customers?limit=50 with an API key, 10 organizations
 * of 10,000 customers each, against the same SQL through raw `pg` in the same run; and the same
 * list query with row-level security on vs off.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { APP_ROLE, openDatabase } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';
import { bodyOf, closedLoop, createBenchDatabase, createTenantOverHttp, interleaved, log, loopVariant, ms, onCleanup, settings, type Load, type Result, type Variant } from './lib.js';
import { recordPgQueries } from '../test/pg-support.js';

const SUITE = 'customers';
const ORGS = 10;
const CUSTOMERS_PER_ORG = 10_000;
const PAGE = 50;
const LIST_PATH = `/api/customers?limit=${PAGE}`;
/** Interleaved rounds per comparison (each variant gets settings.seconds in total). */
const ROUNDS = 5;
const VERIFY_BODY = path.join(path.dirname(fileURLToPath(import.meta.url)), 'verify-customer-page.cjs');

interface Tenant {
  organizationId: string;
  key: string;
  keyHash: string;
}


/** One statement as the server's drivers sent it to PostgreSQL. */
interface Statement {
  text: string;
  values: unknown[];
  rowMode?: 'array';
}

/** Records every statement any `pg` client sends while fn runs (a transaction's first query carries BEGIN and the scope ahead of it). */
async function captureStatements(fn: () => Promise<unknown>): Promise<Statement[]> {
  const seen: Statement[] = [];
  await recordPgQueries(fn, (args) => {
    const [q, v] = args as [string | { text: string; values?: unknown[]; rowMode?: 'array'; prefix?: Statement[] }, unknown];
    if (q && typeof q === 'object' && Array.isArray(q.prefix)) for (const p of q.prefix) seen.push({ text: p.text, values: p.values });
    if (typeof q === 'string') seen.push({ text: q, values: Array.isArray(v) ? v : [] });
    else if (q && typeof q.text === 'string') seen.push({ text: q.text, values: q.values ?? (Array.isArray(v) ? v : []), rowMode: q.rowMode });
  });
  return seen;
}

/** The statements one list request sends, as recorded from the running server. */
interface Captured {
  all: Statement[];
  scope: Statement;
  list: Statement;
  /** The captured tenant: its values are swapped for another tenant's when replaying. */
  from: Tenant;
}

async function captureEndpoint(base: string, t: Tenant): Promise<Captured> {
  const all = await captureStatements(async () => {
    const res = await fetch(`${base}${LIST_PATH}`, { headers: { authorization: `Bearer ${t.key}` } });
    if (res.status !== 200) throw new Error(`list endpoint answered ${res.status}`);
    await res.text();
  });
  const find = (what: string, re: RegExp) => {
    const st = all.find((x) => re.test(x.text));
    if (!st) throw new Error(`no ${what} statement among the endpoint's: ${all.map((x) => x.text).join(' | ')}`);
    return st;
  };
  return {
    all,
    scope: find('scope', /set_config\('role'/),
    list: find('customer list', /from "customers"/),
    from: t,
  };
}

/** The statement's parameters with the captured tenant's organization and key hash replaced by t's. */
const valuesFor = (cap: Captured, st: Statement, t: Tenant) =>
  st.values.map((v) => (v === cap.from.organizationId ? t.organizationId : v === cap.from.keyHash ? t.keyHash : v));

/** 10,000 customers per organization in one statement, as the owner; created_at spread so the page order is meaningful. */
async function seedCustomers(owner: pg.Pool, orgIds: string[]) {
  await owner.query(
    `INSERT INTO customers (organization_id, email, phone, first_name, last_name, email_opt_in, sms_opt_in, tags, attributes, created_at, updated_at)
     SELECT o.id,
            'customer' || g || '@example.com',
            '+1555' || lpad(g::text, 7, '0'),
            'First' || g,
            'Last' || g,
            g % 2 = 0,
            g % 3 = 0,
            CASE WHEN g % 10 = 0 THEN ARRAY['vip', 'newsletter'] WHEN g % 3 = 0 THEN ARRAY['newsletter'] ELSE '{}'::text[] END,
            jsonb_build_object('plan', CASE WHEN g % 4 = 0 THEN 'pro' ELSE 'free' END, 'visits', g % 97),
            now() - make_interval(secs => g * 7.3),
            now() - make_interval(secs => g * 3.1)
     FROM unnest($1::uuid[]) AS o(id), generate_series(1, $2::int) AS g`,
    [orgIds, CUSTOMERS_PER_ORG],
  );
  await owner.query('ANALYZE');
  const counts = await owner.query(`SELECT organization_id, count(*)::int AS n FROM customers GROUP BY 1`);
  if (counts.rows.length !== orgIds.length || counts.rows.some((r) => r.n !== CUSTOMERS_PER_ORG)) {
    throw new Error(`seed produced unexpected counts: ${JSON.stringify(counts.rows)}`);
  }
}

/** Before measuring: every key gets a 200 with 50 rows of its own organization, identical to the raw SQL's first page. */
async function verifyEndpoint(base: string, owner: pg.Pool, tenants: Tenant[], cap: Captured) {
  for (const t of tenants) {
    const res = await fetch(`${base}${LIST_PATH}`, { headers: { authorization: `Bearer ${t.key}` } });
    const page = await bodyOf(res);
    if (res.status !== 200) throw new Error(`list endpoint answered ${res.status}: ${JSON.stringify(page)}`);
    const ids: string[] = page.data.map((c: { id: string }) => c.id);
    const raw = await owner.query({ text: cap.list.text, values: valuesFor(cap, cap.list, t) });
    const rawIds = raw.rows.slice(0, PAGE).map((r) => r.id as string);
    if (ids.length !== PAGE || ids.join() !== rawIds.join()) {
      throw new Error(`list endpoint page for ${t.organizationId} differs from the raw SQL page (${ids.length} rows)`);
    }
  }
}

/** autocannon against a listening server, each connection cycling through `requests`; a response must be a full page. */
async function httpLoad(base: string, name: string, requests: { method: 'GET'; path: string; headers: Record<string, string> }[], seconds: number): Promise<Load> {
  const result = await autocannon({
    url: base,
    connections: settings.connections,
    duration: seconds,
    // The load generator gets its own thread so it does not share the server's event loop.
    workers: 1,
    requests,
    verifyBody: VERIFY_BODY,
    // autocannon stops at its first sample tick after `duration`; tick often so runs end on time.
    sampleInt: 100,
  });
  const total = result.requests.total;
  return {
    kind: 'load',
    suite: SUITE,
    name,
    connections: settings.connections,
    seconds: result.duration,
    requests: total,
    rps: total / result.duration,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    errors: result.errors + result.timeouts + result.non2xx + result.mismatches,
  };
}

// Each connection cycles through the 10 organizations' keys.
const endpointLoad = (base: string, tenants: Tenant[], seconds: number) =>
  httpLoad(base, `GET ${LIST_PATH} (HTTP, API key)`, tenants.map((t) => ({ method: 'GET', path: LIST_PATH, headers: { authorization: `Bearer ${t.key}` } })), seconds);

/**
 * The baseline of issue 12: a bare Fastify server (no plugins, no auth, no RLS, no transaction) whose one
 * route runs the endpoint's own data statements (the list, then the page's suppression lookup), as recorded,
 * over a raw `pg` pool of the server's size, and answers the rows as JSON. The organization comes from a header.
 */
async function bareServer(url: string, poolSize: number, cap: Captured, tenants: Tenant[]) {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  pool.on('error', () => {});
  const byOrg = new Map(tenants.map((t) => [t.organizationId, t]));
  const data = cap.all.filter((st) => !/^\s*(begin|commit|rollback)\b/i.test(st.text) && !/set_config\('role'/.test(st.text));
  const app = Fastify({ logger: false });
  app.get('/bare/customers', async (req, reply) => {
    const t = byOrg.get(String(req.headers['x-org']));
    if (!t) return reply.code(404).send({ error: 'no such organization' });
    let rows: unknown[] = [];
    for (const st of data) {
      const res = await pool.query({ text: st.text, values: valuesFor(cap, st, t), ...(st.rowMode ? { rowMode: st.rowMode } : {}) });
      if (st === cap.list) rows = res.rows;
    }
    return { data: rows.slice(0, PAGE), nextCursor: rows.length > PAGE ? 'next' : null };
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const address = app.server.address();
  if (!address || typeof address === 'string') throw new Error('bare server has no TCP address');
  return {
    base: `http://127.0.0.1:${address.port}`,
    statements: data.length,
    close: async () => {
      await app.close();
      await pool.end();
    },
  };
}

async function inTransaction(pool: pg.Pool, body: (c: pg.PoolClient) => Promise<boolean>): Promise<boolean> {
  const c = await pool.connect();
  try {
    await c.query('BEGIN');
    const ok = await body(c);
    await c.query('COMMIT');
    return ok;
  } catch (err) {
    await c.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    c.release();
  }
}

export async function run(): Promise<Result[]> {
  const bdb = await createBenchDatabase();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-'));
  const closers: (() => Promise<void>)[] = [];
  try {
    log(`customers: database ${bdb.name}`);
    const config = loadConfig(
      { ...process.env, NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', SIGN_IN_MAX_PER_IP: '100000', SIGN_IN_MAX_PER_ACCOUNT: '100000', BILLING_PLANS: '{"free":{}}' },
      { databaseUrl: bdb.url },
    );
    const poolSize = config.databasePoolSize;
    const db = await openDatabase({ databaseUrl: bdb.url, poolSize });
    closers.push(onCleanup(() => db.close()));
    const app = await buildServer({ config, db, logger: false });
    closers.push(onCleanup(() => app.close()));
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    if (!address || typeof address === 'string') throw new Error('server has no TCP address');
    const base = `http://127.0.0.1:${address.port}`;

    // The admin role owns the tables and bypasses RLS: seeding, checks, and the RLS-off runs.
    const owner = new pg.Pool({ connectionString: bdb.url, max: poolSize });
    owner.on('error', () => {});
    closers.push(onCleanup(() => owner.end()));

    const t0 = Date.now();
    const created: Omit<Tenant, 'keyHash'>[] = [];
    for (let n = 1; n <= ORGS; n++) created.push(await createTenantOverHttp(base, 'bench', n, 'member'));
    await seedCustomers(owner, created.map((t) => t.organizationId));
    const hashes = await owner.query(`SELECT organization_id, key_hash FROM api_keys`);
    const tenants: Tenant[] = created.map((t) => ({ ...t, keyHash: hashes.rows.find((h) => h.organization_id === t.organizationId)!.key_hash }));
    // Every key once (the first use writes last_used_at), then one request recorded statement by statement.
    for (const t of tenants) await fetch(`${base}${LIST_PATH}`, { headers: { authorization: `Bearer ${t.key}` } }).then((r) => r.text());
    const cap = await captureEndpoint(base, tenants[0]);
    await verifyEndpoint(base, owner, tenants, cap);
    log(`customers: the endpoint sends ${cap.all.length} statements per request: ${cap.all.map((x) => x.text.split(/\s/)[0]).join(', ')}`);
    log(`customers: seeded ${ORGS} organizations × ${CUSTOMERS_PER_ORG} customers in ${((Date.now() - t0) / 1000).toFixed(1)} s; pool size ${poolSize}, ${settings.connections} connections, ${settings.seconds} s per workload`);

    const orgOf = (i: number) => tenants[i % tenants.length];
    const results: Result[] = [];

    const raw = new pg.Pool({ connectionString: bdb.url, max: poolSize });
    raw.on('error', () => {});
    closers.push(onCleanup(() => raw.end()));
    // The exact statements the endpoint sent, replayed for any tenant.
    const send = async (c: pg.Pool | pg.PoolClient, st: Statement, t: Tenant): Promise<{ rows: unknown[] }> => {
      const query = { text: st.text.replaceAll(cap.from.organizationId, t.organizationId), values: valuesFor(cap, st, t) };
      return st.rowMode === 'array' ? (c as pg.Pool).query({ ...query, rowMode: 'array' }) : (c as pg.Pool).query(query);
    };
    const listIn = async (c: pg.Pool | pg.PoolClient, t: Tenant) => (await send(c, cap.list, t)).rows.length === PAGE + 1;

    // The endpoint over HTTP, and the same SQL through raw pg with a pool of the server's size.
    const endpointVariant: Variant = { name: `GET ${LIST_PATH} (HTTP, API key)`, measure: (seconds) => endpointLoad(base, tenants, seconds) };
    const rawVariant = loopVariant(SUITE, 'same SQL, raw pg (1 statement)', (i) => listIn(raw, orgOf(i)));
    // Diagnostic: every statement the endpoint sends, replayed in order on one pooled connection per request,
    // one round trip each. A verified API key is cached, and a GET reads in a read-only scope, so a warm request
    // sends the scope with the list and the scope with the page's suppression flags — the server itself sends
    // each pair in one round trip, with no BEGIN or COMMIT.
    const n = cap.all.length;
    const rawReplayVariant = loopVariant(SUITE, `diag: endpoint's ${n} statements, raw pg`, async (i) => {
      const t = orgOf(i);
      let c: pg.PoolClient | null = null;
      let ok = true;
      try {
        for (const st of cap.all) {
          c ??= await raw.connect();
          const res = await send(c, st, t);
          if (st === cap.list) ok &&= res.rows.length === PAGE + 1;
          if (/^(commit|rollback)$/i.test(st.text.trim())) {
            c.release();
            c = null;
          }
        }
      } catch (err) {
        await c?.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c?.release();
      }
      return ok;
    });
    // The issue-12 baseline: the same data statements behind a bare Fastify route, over HTTP too.
    const bare = await bareServer(bdb.url, poolSize, cap, tenants);
    closers.push(onCleanup(bare.close));
    const bareName = `bare Fastify + raw pg, no auth/RLS (HTTP, ${bare.statements} statements)`;
    const bareVariant: Variant = {
      name: bareName,
      measure: (seconds) => httpLoad(bare.base, bareName, tenants.map((t) => ({ method: 'GET', path: '/bare/customers', headers: { 'x-org': t.organizationId } })), seconds),
    };
    const variants = [endpointVariant, bareVariant, rawVariant, rawReplayVariant];
    log('customers: endpoint vs bare Fastify vs raw SQL warm-up');
    await interleaved(variants, settings.warmupSeconds, 1);
    log(`customers: endpoint vs bare Fastify vs raw SQL (${ROUNDS} interleaved rounds)`);
    const [endpoint, bareResult, rawResult, rawReplay] = await interleaved(variants, settings.seconds, ROUNDS);
    results.push(endpoint, bareResult, rawResult, rawReplay);

    // RLS on vs off: identical transactions (BEGIN; one set_config statement; SELECT; COMMIT).
    // On: the runtime role with app.org_id set, so the policy applies. Off: the owner, which bypasses
    // RLS; app.org_id is set but unused and only the explicit organization_id filter narrows the rows.
    const rlsOn = loopVariant(SUITE, 'list in a transaction, RLS on (app role)', (i) =>
      inTransaction(raw, async (c) => {
        await c.query(`select set_config('role', $1, true), set_config('app.org_id', $2, true)`, [APP_ROLE, orgOf(i).organizationId]);
        return listIn(c, orgOf(i));
      }),
    );
    const rlsOff = loopVariant(SUITE, 'list in a transaction, RLS off (owner)', (i) =>
      inTransaction(raw, async (c) => {
        await c.query(`select set_config('app.org_id', $1, true)`, [orgOf(i).organizationId]);
        return listIn(c, orgOf(i));
      }),
    );
    // The two really differ: with RLS on, an unfiltered count sees one organization only.
    const visible = async (on: boolean) =>
      inTransaction(raw, async (c) => {
        await c.query(on ? `select set_config('role', $1, true), set_config('app.org_id', $2, true)` : `select set_config('app.org_id', $2, true), $1::text`, [APP_ROLE, tenants[0].organizationId]);
        return (await c.query('select count(*)::int as n from customers')).rows[0].n === (on ? CUSTOMERS_PER_ORG : CUSTOMERS_PER_ORG * ORGS);
      });
    if (!(await visible(true)) || !(await visible(false))) throw new Error('RLS on/off variants do not see the expected rows');
    log('customers: RLS on/off warm-up');
    await interleaved([rlsOff, rlsOn], settings.warmupSeconds, 1);
    log(`customers: RLS off vs on (${ROUNDS} interleaved rounds)`);
    const [off, on] = await interleaved([rlsOff, rlsOn], settings.seconds, ROUNDS);
    results.push(off, on);

    const bareRatio = endpoint.rps / bareResult.rps;
    results.push({
      kind: 'ratio',
      suite: SUITE,
      name: 'list endpoint vs bare Fastify route (both HTTP)',
      value: bareRatio,
      aim: '>= 0.7',
      met: bareRatio >= 0.7,
      detail: `throughput, p50 ${ms(endpoint.p50Ms)} ms vs ${ms(bareResult.p50Ms)} ms, p99 ${ms(endpoint.p99Ms)} ms vs ${ms(bareResult.p99Ms)} ms`,
    });
    const endpointRatio = endpoint.rps / rawResult.rps;
    results.push({
      kind: 'ratio',
      suite: SUITE,
      name: 'diag: list endpoint vs raw SQL (no HTTP)',
      value: endpointRatio,
      aim: '(diagnostic)',
      met: true,
      detail: `throughput, p99 ${ms(endpoint.p99Ms)} ms vs ${ms(rawResult.p99Ms)} ms`,
    });
    results.push({
      kind: 'ratio',
      suite: SUITE,
      name: `diag: raw pg, endpoint's ${n} statements vs 1`,
      value: rawReplay.rps / rawResult.rps,
      aim: '(diagnostic)',
      met: true,
      detail: 'throughput: one round trip per statement (the server sends each scope with the statement after it, so half as many)',
    });
    results.push({
      kind: 'ratio',
      suite: SUITE,
      name: `diag: list endpoint vs its own ${n} statements over raw pg`,
      value: endpoint.rps / rawReplay.rps,
      aim: '(diagnostic)',
      met: true,
      detail: 'throughput: what HTTP, Fastify, zod and drizzle add on top',
    });
    const rlsRatio = on.rps / off.rps;
    results.push({
      kind: 'ratio',
      suite: SUITE,
      name: 'RLS on vs off',
      value: rlsRatio,
      aim: '>= 0.90',
      met: rlsRatio >= 0.9,
      detail: `throughput, p99 ${ms(on.p99Ms)} ms vs ${ms(off.p99Ms)} ms`,
    });
    return results;
  } finally {
    for (const close of closers.reverse()) await close().catch((err) => log(`close failed: ${(err as Error).message}`));
    await bdb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
