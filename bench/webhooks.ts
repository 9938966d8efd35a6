/**
 * Outbound webhooks benchmark (issue 10), side by side in one run: deliveries per second of the job
 * worker (one durable job per delivery, run in batches: claim, load, sign, POST, record the attempts)
 * to a local receiver, against a bare loop of signed POSTs (same signing, same body size, same
 * receiver, as many in flight, keep-alive agent) — the ratio is the platform's overhead per delivery.
 */
import { inProcessBus } from '../src/lib/bus.js';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';
import { Worker } from '../src/jobs/queue.js';
import { DELIVERY_BATCH, signatureHeader } from '../src/modules/webhooks/delivery.js';
import { emitEvent } from '../src/modules/webhooks/emit.js';
import { webhooksModule } from '../src/modules/webhooks/index.js';
import { createBenchDatabase, log, onCleanup, runIfMain, versusBaseline, type Result } from './lib.js';

const SUITE = 'webhooks';
const DELIVERIES = Number(process.env.BENCH_WEBHOOK_DELIVERIES ?? 5_000);
const BASELINE = Number(process.env.BENCH_WEBHOOK_BASELINE ?? 5_000);
const CONCURRENCY = Number(process.env.BENCH_WEBHOOK_CONCURRENCY ?? 100);
/** Batch runs the worker keeps in flight (its default, 4, unless set): each takes up to DELIVERY_BATCH deliveries. */
const WORKER_RUNS = Number(process.env.BENCH_WEBHOOK_WORKER_RUNS ?? 4);

async function startReceiver() {
  let count = 0;
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      count++;
      res.writeHead(204).end();
    });
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    count: () => count,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

/** The baseline: n signed POSTs, CONCURRENCY in flight over a keep-alive agent. */
async function bareLoop(url: string, secret: string, body: string, n: number) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < n) {
        const id = `msg_${next++}`;
        const at = new Date();
        await new Promise<void>((resolve, reject) => {
          const req = http.request(
            url,
            {
              method: 'POST',
              agent,
              headers: {
                'content-type': 'application/json',
                'content-length': String(Buffer.byteLength(body)),
                'webhook-id': id,
                'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
                'webhook-signature': signatureHeader([secret], id, at, body),
              },
            },
            (res) => {
              res.resume();
              res.on('end', () => resolve());
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      }
    }),
  );
  agent.destroy();
  return n / ((performance.now() - t0) / 1000);
}

export async function run(): Promise<Result[]> {
  const results: Result[] = [];
  const rx = await startReceiver();
  const closeRx = onCleanup(rx.close);
  const bdb = await createBenchDatabase();
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-webhooks-'));
  const base = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', DATABASE_URL: bdb.url, WEBHOOK_ALLOW_PRIVATE_RANGES: '127.0.0.0/8', BILLING_PLANS: '{"free":{}}' });
  const config = { ...base, jobs: { ...base.jobs, inProcess: false, pollMs: 20 } };
  const db = await openDatabase({ databaseUrl: bdb.url, poolSize: Math.max(10, CONCURRENCY + 4) });
  const app = await buildServer({ config, db, logger: false });
  const closeAll = onCleanup(async () => {
    await app.close();
    await db.close();
    await bdb.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });
  try {
    const signUp = await app.inject({ method: 'POST', url: '/api/auth/sign-up', payload: { email: 'bench@acme.example', password: 'correct horse battery', name: 'b', organizationName: 'Bench' } });
    const orgId = signUp.json().organization.id as string;
    const headers = { cookie: String(signUp.headers['set-cookie']).split(';')[0] };
    const ep = await app.inject({ method: 'POST', url: '/api/webhook-endpoints', headers, payload: { url: rx.url, eventTypes: ['*'] } });
    if (ep.statusCode !== 201) throw new Error(`register endpoint: ${ep.statusCode} ${ep.body}`);
    const { secret } = ep.json() as { secret: string };

    // A representative event: a customer.created payload as the customers module emits it.
    const customer = {
      id: '7c1d3f0e-2b8a-4c59-9a51-0f6b5d2e8a11', externalId: null, anonymousId: null, email: 'ada@example.com', phone: '+14155550123', firstName: 'Ada', lastName: 'Lovelace',
      emailOptIn: true, smsOptIn: false, emailStatus: 'active' as const, emailSuppressed: false, smsSuppressed: false, tags: ['vip', 'spring'],
      attributes: { plan: 'pro' }, createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(),
    };
    log(`webhooks: recording ${DELIVERIES} events (one delivery each)`);
    for (let i = 0; i < DELIVERIES; i += 500) {
      await db.withTenant(orgId, async (tx) => {
        for (let j = i; j < Math.min(i + 500, DELIVERIES); j++) await emitEvent(tx, { organizationId: orgId }, 'customer.created', { customer });
      });
    }
    const [sample] = (
      (await db.withTenant(orgId, (tx) => tx.execute(sql`select payload from webhook_deliveries where organization_id = ${orgId} limit 1`))) as unknown as { rows: { payload: unknown }[] }
    ).rows;
    const body = JSON.stringify(sample.payload);

    log(`webhooks: bare loop, ${BASELINE / 2} signed POSTs (before)`);
    const bareBefore = await bareLoop(rx.url, secret, body, BASELINE / 2);

    const jobs = webhooksModule.jobs!({ db, config, bus: inProcessBus() });
    const worker = new Worker({ db, handlers: jobs.handlers, concurrency: WORKER_RUNS, pollMs: 20, leaseMs: config.jobs.leaseMs });
    const before = rx.count();
    log(`webhooks: ${DELIVERIES} deliveries through the job worker (${WORKER_RUNS} runs of up to ${DELIVERY_BATCH})`);
    const t0 = performance.now();
    worker.start();
    const delivered = async () =>
      Number(
        ((await db.withTenant(orgId, (tx) => tx.execute(sql`select count(*)::int as n from webhook_deliveries where organization_id = ${orgId} and status = 'delivered'`))) as unknown as { rows: { n: number }[] })
          .rows[0].n,
      );
    const deadline = Date.now() + 600_000;
    while (rx.count() - before < DELIVERIES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const secs = (performance.now() - t0) / 1000;
    await worker.stop();
    await jobs.close?.();
    const done = await delivered();
    log(`webhooks: bare loop, ${BASELINE / 2} signed POSTs (after)`);
    const bare = (bareBefore + (await bareLoop(rx.url, secret, body, BASELINE / 2))) / 2;
    results.push(
      ...versusBaseline(
        SUITE,
        { name: `outbound deliveries (job per delivery, batched runs, ${DELIVERIES})`, connections: WORKER_RUNS * DELIVERY_BATCH, expected: DELIVERIES, done, seconds: secs },
        { name: `bare loop of signed POSTs (${BASELINE})`, requests: BASELINE, rps: bare },
        { name: 'webhook deliveries vs bare signed POSTs', aim: null, unit: 'deliveries/s', note: `${body.length} B body` },
      ),
    );
  } finally {
    await closeAll();
    await closeRx();
  }
  return results;
}

await runIfMain(import.meta.url, run);
