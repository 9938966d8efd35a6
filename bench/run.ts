/**
 * `npm run bench [-- suite ...]`: runs the benchmark suites in order and prints one summary.
 * Each suite is a module exporting `run(): Promise<Result[]>` (see bench/lib.ts); add one with a line below.
 * Needs a PostgreSQL server: DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres (admin connection).
 */
import { formatResults, log, settings, type Result, type SuiteModule } from './lib.js';

const suites: Record<string, () => Promise<SuiteModule>> = {
  customers: () => import('./customers.js'),
  email: () => import('./email.js'),
  sms: () => import('./sms.js'),
  webhooks: () => import('./webhooks.js'),
  // One organization of SCALE_ROWS (1,000,000) customers beside nine of 10,000: p50s and growth per operation (issue 12).
  scale: () => import('./scale.js'),
  events: () => import('./events.js'),
  segments: () => import('./segments.js'),
  // These two need no PostgreSQL server (PGlite; pure CPU).
  'import-health': () => import('./import-health.js'),
  'webhook-verify': () => import('./webhook-verify.js'),
  // Live delivery of the conversations inbox (issue 11): widget POST → agent SSE, p50/p99 (PGlite; no server needed).
  inbox: () => import('./inbox.js'),
};

/** Suites that run only when named (`npm run bench -- scale`): they take longer than the rest together. */
const ON_REQUEST = new Set(['scale']);

const wanted = process.argv.slice(2);
const unknown = wanted.filter((name) => !(name in suites));
if (unknown.length) {
  log(`unknown suite(s): ${unknown.join(', ')}; available: ${Object.keys(suites).join(', ')}`);
  process.exit(2);
}

log(`bench: ${new URL(settings.adminUrl).host}, ${settings.connections} connections, ${settings.seconds} s per workload (+${settings.warmupSeconds} s warm-up)`);
const results: Result[] = [];
const failed: string[] = [];
const started = Date.now();
for (const [name, load] of Object.entries(suites)) {
  if (wanted.length ? !wanted.includes(name) : ON_REQUEST.has(name)) continue;
  try {
    results.push(...(await (await load()).run()));
  } catch (err) {
    failed.push(name);
    log(`suite ${name} failed: ${(err as Error).stack ?? err}`);
  }
}

console.log(`\n${formatResults(results)}\n`);
console.log(`total ${((Date.now() - started) / 1000).toFixed(0)} s${failed.length ? `; FAILED: ${failed.join(', ')}` : ''}`);
process.exit(failed.length ? 1 : 0);
