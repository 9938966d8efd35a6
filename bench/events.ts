/**
 * Event ingestion benchmark (issue 13): POST /api/analytics/events with batches of 100 through HTTP
 * (API key; validation, messageId deduplication, customer resolution by userId, one multi-row insert
 * into the monthly partition), against a bare multi-row insert of the same rows (100 a statement,
 * owner connection, no transaction around it) into the same table in the same run, interleaved.
 * The issue asks ≥ 5,000 events/s through HTTP and aims at ≥ 0.5× the bare insert. A second baseline also
 * claims each messageId in analytics_event_ids in the same statement (what idempotent ingestion costs in the
 * database): reported beside it.
 */
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';
import { createBenchDatabase, interleaved, log, loopVariant, onCleanup, runIfMain, settings, versusBaseline, type Result } from './lib.js';

const SUITE = 'events';
const BATCH = 100;
const USERS = 1_000;
/** Interleaved rounds (each side gets settings.seconds in total). */
const ROUNDS = 5;

const props = JSON.stringify({ sku: 'SKU-1234', price: 42.5, currency: 'EUR', page: '/products/1234' });

export async function run(): Promise<Result[]> {
  const bdb = await createBenchDatabase();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-events-'));
  const base = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: bdb.url });
  const config = { ...base, jobs: { ...base.jobs, inProcess: false } };
  const db = await openDatabase({ databaseUrl: bdb.url, poolSize: settings.connections + 4 });
  const app = await buildServer({ config, db, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const owner = new pg.Pool({ connectionString: bdb.url, max: settings.connections });
  const agent = new http.Agent({ keepAlive: true, maxSockets: settings.connections });
  const closeAll = onCleanup(async () => {
    agent.destroy();
    await owner.end();
    await app.close();
    await db.close();
    await bdb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  try {
    const signUp = await app.inject({ method: 'POST', url: '/api/auth/sign-up', payload: { email: 'bench@acme.example', password: 'correct horse battery', name: 'b', organizationName: 'Bench' } });
    const orgId = signUp.json().organization.id as string;
    const cookie = String(signUp.headers['set-cookie']).split(';')[0];
    const keyRes = await app.inject({ method: 'POST', url: '/api/api-keys', headers: { cookie }, payload: { name: 'bench', role: 'admin' } });
    const key = keyRes.json().key as string;

    let seq = 0;
    /** A batch of 100 track events of known customers, each with a new messageId. */
    const batch = () => {
      const events: string[] = [];
      const at = new Date().toISOString();
      for (let k = 0; k < BATCH; k++) {
        const n = seq++;
        events.push(`{"type":"track","userId":"user-${n % USERS}","event":"Product Viewed","properties":${props},"timestamp":"${at}","messageId":"m-${n}"}`);
      }
      return `{"batch":[${events.join(',')}]}`;
    };
    const post = (body: string) =>
      new Promise<{ status: number; body: string }>((resolve, reject) => {
        const req = http.request(
          { host: '127.0.0.1', port, path: '/api/analytics/events', method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    // The customers exist before measuring (steady state: events about known people).
    log(`events: creating ${USERS} customers through the endpoint`);
    for (let i = 0; i < USERS; i += BATCH) {
      const r = await post(batch());
      if (r.status !== 200 || JSON.parse(r.body).accepted !== BATCH) throw new Error(`warm-up batch: ${r.status} ${r.body}`);
    }
    const ids = (await owner.query<{ id: string; external_id: string }>(`select id, external_id from customers where organization_id = $1 and external_id is not null`, [orgId])).rows;
    const customerOf = new Map(ids.map((r) => [r.external_id, r.id]));

    const http100 = loopVariant(SUITE, `POST /api/analytics/events (HTTP, API key, batches of ${BATCH})`, async () => {
      const r = await post(batch());
      return r.status === 200 && JSON.parse(r.body).accepted === BATCH;
    });
    /** The same rows as a bare multi-row insert (with keys: their messageIds claimed in analytics_event_ids too, in the same statement). */
    const bare = (withKeys: boolean) => async () => {
      const at = new Date().toISOString();
      const values: unknown[] = [];
      const rows: string[] = [];
      for (let k = 0; k < BATCH; k++) {
        const n = seq++;
        const p = values.length;
        values.push(orgId, at, customerOf.get(`user-${n % USERS}`), 'track', 'Product Viewed', props, `m-${n}`);
        rows.push(`($${p + 1}::uuid, $${p + 2}::timestamptz, $${p + 3}::uuid, $${p + 4}, $${p + 5}, $${p + 6}::jsonb, $${p + 7})`);
      }
      const insert = `insert into analytics_events (organization_id, occurred_at, customer_id, type, name, properties, message_id)`;
      const r = withKeys
        ? await owner.query(
            `with v (o, t, c, ty, n, p, m) as (values ${rows.join(', ')}),
               k as (insert into analytics_event_ids (organization_id, message_id, occurred_at) select o, m, t from v)
             ${insert} select o, t, c, ty, n, p, m from v`,
            values,
          )
        : await owner.query(`${insert} values ${rows.join(', ')}`, values);
      return r.rowCount === BATCH;
    };
    const bare100 = loopVariant(SUITE, `bare multi-row INSERT of the same rows (${BATCH} a statement)`, bare(false));
    const keyed100 = loopVariant(SUITE, `bare multi-row INSERT of the same rows and their messageIds (${BATCH} a statement)`, bare(true));
    log(`events: ${settings.seconds} s each, ${ROUNDS} interleaved rounds, ${settings.connections} connections`);
    await interleaved([http100, bare100, keyed100], Math.min(2, settings.warmupSeconds), 2);
    const [h, b, k] = await interleaved([http100, bare100, keyed100], settings.seconds, ROUNDS);
    const run = { name: 'events through HTTP', connections: h.connections, expected: h.requests * BATCH, done: (h.requests - h.errors) * BATCH, seconds: h.seconds };
    const note = `batches of ${BATCH}, load generator in the server's process`;
    return [
      { ...h, name: `${h.name}, requests/s`, p50Ms: h.p50Ms, p99Ms: h.p99Ms },
      ...versusBaseline(SUITE, run, { name: 'events by bare multi-row INSERT', requests: b.requests * BATCH, rps: b.rps * BATCH }, { name: 'event ingestion vs bare multi-row insert', aim: 0.5, unit: 'events/s', note }),
      // The same comparison against a baseline that also records each messageId, as idempotent ingestion must.
      ...versusBaseline(SUITE, run, { name: 'events and messageIds by bare multi-row INSERT', requests: k.requests * BATCH, rps: k.rps * BATCH }, { name: 'event ingestion vs bare insert of the events and their messageIds', aim: null, unit: 'events/s', note }).slice(1),
    ];
  } finally {
    await closeAll();
  }
}

await runIfMain(import.meta.url, run);
