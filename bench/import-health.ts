/**
 * Import vs health benchmark (issue 6): a 200,000-row CSV import on PGlite (embedded, one connection,
 * same thread) against a listening server, and the latency of GET /api/health while it runs, against
 * an idle baseline in the same run. The health poller runs in a worker thread so its clock keeps
 * ticking while the server's event loop is busy.
 * Run alone: `npx tsx bench/import-health.ts` (BENCH_IMPORT_ROWS, BENCH_DURATION for the baseline).
 */
import { Worker } from 'node:worker_threads';
import { log, ms, percentile, runIfMain, settings, type Result } from './lib.js';
import { embeddedServer } from './server.js';

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
  const { base, cookie, cleanup } = await embeddedServer(SUITE, { email: 'bench-importer@example.com', name: 'Bench', organizationName: 'Bench' });
  try {
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
