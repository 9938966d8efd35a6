/**
 * Import vs health benchmark (issue 6): a 200,000-row CSV import on PGlite (embedded, one connection,
 * same thread) against a listening server, and the latency of GET /api/health while it runs, against
 * an idle baseline in the same run. The health poller runs in a worker thread so its clock keeps
 * ticking while the server's event loop is busy.
 * Run alone: `npx tsx bench/import-health.ts` (BENCH_IMPORT_ROWS, BENCH_DURATION for the baseline).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';
import { log, ms, onCleanup, percentile, runIfMain, settings, type Result } from './lib.js';

const SUITE = 'import-health';
const ROWS = Number(process.env.BENCH_IMPORT_ROWS ?? 200_000);
/** Pause between two health checks of the poller (one request in flight at a time). */
const GAP_MS = 20;

type Load = Extract<Result, { kind: 'load' }>;

/** Polls `url` one request at a time until told to stop; posts back every latency (ms). */
const POLLER = `
const { parentPort, workerData } = require('node:worker_threads');
let stop = false;
parentPort.on('message', () => { stop = true; });
(async () => {
  const latencies = [];
  let errors = 0;
  while (!stop) {
    const t0 = performance.now();
    try {
      const res = await fetch(workerData.url);
      await res.text();
      if (res.status !== 200) errors++;
    } catch { errors++; }
    latencies.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, workerData.gapMs));
  }
  parentPort.postMessage({ latencies, errors });
})();
`;

async function pollWhile(url: string, name: string, during: () => Promise<void>): Promise<Load & { maxMs: number }> {
  const worker = new Worker(POLLER, { eval: true, workerData: { url, gapMs: GAP_MS } });
  const done = new Promise<{ latencies: number[]; errors: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  const start = performance.now();
  await during();
  worker.postMessage('stop');
  const { latencies, errors } = await done;
  await worker.terminate();
  const seconds = (performance.now() - start) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    kind: 'load', suite: SUITE, name, connections: 1, seconds, requests: latencies.length, rps: latencies.length / seconds,
    p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted[sorted.length - 1] ?? NaN, errors,
  };
}

function csvOf(rows: number): string {
  const lines = ['email,first_name,last_name,phone,email_opt_in,tags,city'];
  for (let i = 0; i < rows; i++) lines.push(`bench${i}@example.com,First${i},Last${i},+1555${String(i).padStart(7, '0')},${i % 2 ? 'false' : 'true'},bench;t${i % 10},City${i % 100}`);
  return lines.join('\n');
}

export async function run(): Promise<Result[]> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'switchboard-bench-import-'));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', PORT: '0', JOBS_IN_PROCESS: 'false', BILLING_PLANS: '{"free":{}}' });
  // The default embedded database of `npm start`: PGlite on disk.
  const db = await openDatabase({ dataDir: path.join(dataDir, 'pglite') });
  const app = await buildServer({ config, db, logger: false });
  const cleanup = onCleanup(async () => {
    await app.close();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  });
  try {
    const base = await app.listen({ host: '127.0.0.1', port: 0 });
    const signUp = await fetch(`${base}/api/auth/sign-up`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'bench-importer@example.com', password: 'correct horse battery', name: 'Bench', organizationName: 'Bench' }),
    });
    if (signUp.status !== 201) throw new Error(`sign-up answered ${signUp.status}: ${await signUp.text()}`);
    const cookie = signUp.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
    const csv = csvOf(ROWS);
    log(`${SUITE}: ${ROWS} rows, ${(csv.length / 1e6).toFixed(1)} MB CSV, PGlite on disk`);

    const idle = await pollWhile(`${base}/api/health`, 'GET /api/health, idle', () => new Promise((r) => setTimeout(r, settings.seconds * 1000)));
    let importMs = 0;
    const busy = await pollWhile(`${base}/api/health`, `GET /api/health, during a ${ROWS}-row import`, async () => {
      const t0 = performance.now();
      const res = await fetch(`${base}/api/customers/import`, { method: 'POST', headers: { cookie, 'content-type': 'text/csv' }, body: csv });
      const body = await res.text();
      importMs = performance.now() - t0;
      if (res.status !== 200) throw new Error(`import answered ${res.status}: ${body.slice(0, 300)}`);
      const { created } = JSON.parse(body) as { created: number };
      if (created !== ROWS) throw new Error(`import created ${created} of ${ROWS}`);
    });
    log(`${SUITE}: import took ${ms(importMs / 1000)} s; health max ${ms(idle.maxMs)} ms idle, ${ms(busy.maxMs)} ms during the import`);
    const ratio = busy.p99Ms / idle.p99Ms;
    return [
      idle,
      busy,
      {
        kind: 'ratio', suite: SUITE, name: 'health p99 during import / idle', value: ratio, aim: '<= 20', met: ratio <= 20,
        detail: `p50 ${ms(idle.p50Ms)} → ${ms(busy.p50Ms)} ms, p99 ${ms(idle.p99Ms)} → ${ms(busy.p99Ms)} ms, max ${ms(idle.maxMs)} → ${ms(busy.maxMs)} ms; import ${ms(importMs / 1000)} s`,
      },
    ];
  } finally {
    await cleanup();
  }
}

await runIfMain(import.meta.url, run);
