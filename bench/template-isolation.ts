/**
 * Template isolation (issue 6): GET /api/health latency on a listening server (embedded PGlite,
 * in-process job worker) while one organization test-sends a hostile template back to back,
 * against an idle baseline measured in the same run. Prints p50/p99 of both and their ratio.
 *
 *   npx tsx bench/template-isolation.ts            (BENCH_DURATION seconds per phase, default 10)
 *
 * Self-contained (no PostgreSQL): it measures what one tenant's template costs every other tenant
 * on the event loop. Only the public API is used, so the same file runs against older versions.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/index.js';
import { buildServer } from '../src/http/server.js';

const SECONDS = Number(process.env.BENCH_DURATION ?? 10);
// Four million loop iterations (about 3 s of CPU in Liquid): small, and hostile.
const HOSTILE = '<p>{% for i in (1..2000) %}{% for j in (1..2000) %}{% endfor %}{% endfor %}</p>';

const log = (m: string) => process.stderr.write(`${m}\n`);
const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];

async function healthLoop(base: string, seconds: number, stop?: () => boolean) {
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end && !stop?.()) {
    const t0 = performance.now();
    const res = await fetch(`${base}/api/health`).catch(() => null);
    latencies.push(performance.now() - t0);
    if (res?.status !== 200) errors++;
    await res?.arrayBuffer();
    await new Promise((r) => setTimeout(r, 10));
  }
  latencies.sort((a, b) => a - b);
  return { n: latencies.length, p50: pct(latencies, 50), p99: pct(latencies, 99), max: latencies[latencies.length - 1], errors };
}

async function main() {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'bench-templates-'));
  const config = loadConfig({ NODE_ENV: 'test', DATA_DIR: dataDir, LOG_LEVEL: 'silent', PORT: '0', SIGN_IN_MAX_PER_IP: '100000' });
  const db = await openDatabase({ memory: true });
  const app = await buildServer({ config, db, logger: false });
  await app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  try {
    const post = (url: string, body: unknown, cookie?: string) =>
      fetch(`${base}${url}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(cookie && { cookie }) }, body: JSON.stringify(body) });
    const email = `bench-${Date.now()}@acme.example`;
    const signUp = await post('/api/auth/sign-up', { email, password: 'correct horse battery', name: 'b', organizationName: 'Hostile' });
    const org = (await signUp.json()).organization.id as string;
    const cookie = String(signUp.headers.get('set-cookie')).split(';')[0];
    // Test sends go only to confirmed member addresses: follow the link of the confirmation mail,
    // which lands in the account outbox (an older version has none and needs nothing).
    const accountOutbox = path.join(dataDir, 'outbox', '_account');
    if (existsSync(accountOutbox)) {
      for (const file of readdirSync(accountOutbox)) {
        const link = /\/api\/auth\/verify-email\?token=[A-Za-z0-9_.%-]+/.exec(readFileSync(path.join(accountOutbox, file), 'utf8').replace(/=\r?\n/g, ''));
        if (link) await fetch(`${base}${link[0].replace(/=3D/g, '=')}`);
      }
    }
    const c = await (await post('/api/email/campaigns', { name: 'H', subject: 'Hi', html: '<p>Hi</p>' }, cookie)).json();
    // Stored as an earlier version would have saved it (this version refuses it at save).
    await db.withTenant(org, (tx) => tx.execute(sql`update email_campaigns set html = ${HOSTILE} where id = ${c.id}`));

    log(`template-isolation: idle baseline, ${SECONDS} s`);
    const idle = await healthLoop(base, SECONDS);

    log(`template-isolation: hostile test sends back to back, ${SECONDS} s`);
    let hostileDone = false;
    const statuses = new Map<number, number>();
    const sender = (async () => {
      const end = performance.now() + SECONDS * 1000;
      while (performance.now() < end) {
        const res = await post(`/api/email/campaigns/${c.id}/test`, { to: email }, cookie);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        await res.arrayBuffer();
      }
      hostileDone = true;
    })();
    const busy = await healthLoop(base, SECONDS * 3, () => hostileDone);
    await sender;

    const row = (name: string, r: typeof idle) => `${name.padEnd(24)} n=${String(r.n).padStart(5)}  p50 ${r.p50.toFixed(1).padStart(8)} ms  p99 ${r.p99.toFixed(1).padStart(8)} ms  max ${r.max.toFixed(1).padStart(8)} ms  errors ${r.errors}`;
    console.log(row('idle', idle));
    console.log(row('hostile template', busy));
    console.log(`hostile test sends: ${[...statuses].map(([s, n]) => `${n}× ${s}`).join(', ')}`);
    console.log(`ratio hostile/idle: p50 ${(busy.p50 / idle.p50).toFixed(1)}x, p99 ${(busy.p99 / idle.p99).toFixed(1)}x`);
  } finally {
    await app.close();
    await db.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
