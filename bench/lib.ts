/**
 * Shared pieces of the benchmark suites: the result shape, a throwaway PostgreSQL database,
 * a closed-loop load generator for in-process work (raw `pg`), and the summary table.
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import pg from 'pg';

/** One measured workload, or one comparison between two of them. */
export type Result =
  | {
      kind: 'load';
      suite: string;
      name: string;
      connections: number;
      seconds: number;
      requests: number;
      rps: number;
      p50Ms: number;
      p99Ms: number;
      /** Failed or wrong answers (non-2xx, wrong row count, driver errors). */
      errors: number;
    }
  | {
      kind: 'ratio';
      suite: string;
      name: string;
      value: number;
      /** The target, e.g. ">= 0.5". */
      aim: string;
      met: boolean;
      detail: string;
    };

/** A suite is a module exporting `run()`; bench/run.ts lists them. */
export interface SuiteModule {
  run(): Promise<Result[]>;
}

/** Knobs shared by every suite; override with BENCH_DURATION / BENCH_CONNECTIONS / BENCH_WARMUP. */
export const settings = {
  adminUrl: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
  seconds: Number(process.env.BENCH_DURATION ?? 10),
  warmupSeconds: Number(process.env.BENCH_WARMUP ?? 3),
  connections: Number(process.env.BENCH_CONNECTIONS ?? 16),
};

export const log = (msg: string) => process.stderr.write(`${msg}\n`);

// Cleanups run on normal exit paths (the suites' finally blocks) and on Ctrl-C / SIGTERM,
// so an interrupted run does not leave bench_* databases behind.
const cleanups = new Set<() => Promise<void>>();
async function runCleanups() {
  for (const fn of [...cleanups].reverse()) {
    cleanups.delete(fn);
    await fn().catch((err) => log(`cleanup failed: ${(err as Error).message}`));
  }
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    log(`\n${signal}: cleaning up`);
    void runCleanups().finally(() => process.exit(130));
  });
}

function withDatabase(url: string, name: string) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

export interface BenchDatabase {
  name: string;
  url: string;
  /** Drops the database (FORCE ends leftover connections). Safe to call twice. */
  drop(): Promise<void>;
}

/** Creates `bench_<random>` on the server behind settings.adminUrl. */
export async function createBenchDatabase(): Promise<BenchDatabase> {
  const name = `bench_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: settings.adminUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    cleanups.delete(drop);
    const a = new pg.Client({ connectionString: settings.adminUrl });
    await a.connect();
    try {
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    } finally {
      await a.end();
    }
  };
  cleanups.add(drop);
  return { name, url: withDatabase(settings.adminUrl, name), drop };
}

/** Registers a cleanup (closing a server or pool) that also runs on Ctrl-C; returns an unregistering runner. */
export function onCleanup(fn: () => Promise<void>): () => Promise<void> {
  let done = false;
  const once = async () => {
    if (done) return;
    done = true;
    cleanups.delete(once);
    await fn();
  };
  cleanups.add(once);
  return once;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/**
 * Closed-loop load: `connections` workers each run `op(i)` back to back for `seconds`,
 * the same shape as autocannon's connections. `op` returns false (or throws) for a wrong answer.
 */
export async function closedLoop(
  suite: string,
  name: string,
  opts: { connections: number; seconds: number },
  op: (i: number) => Promise<boolean>,
): Promise<Extract<Result, { kind: 'load' }>> {
  const latencies: number[] = [];
  let errors = 0;
  let seq = 0;
  const start = performance.now();
  const deadline = start + opts.seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      const i = seq++;
      const t0 = performance.now();
      let ok = false;
      try {
        ok = await op(i);
      } catch {
        ok = false;
      }
      latencies.push(performance.now() - t0);
      if (!ok) errors++;
    }
  };
  await Promise.all(Array.from({ length: opts.connections }, worker));
  const elapsed = (performance.now() - start) / 1000;
  const sorted = Float64Array.from(latencies).sort();
  return {
    kind: 'load',
    suite,
    name,
    connections: opts.connections,
    seconds: elapsed,
    requests: latencies.length,
    rps: latencies.length / elapsed,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    errors,
  };
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '-');

function table(rows: string[][]): string {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  return rows
    .map((r, i) => {
      const line = r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  ');
      return i === 0 ? `${line}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : line;
    })
    .join('\n');
}

export function formatResults(results: Result[]): string {
  const loads = results.filter((r): r is Extract<Result, { kind: 'load' }> => r.kind === 'load');
  const ratios = results.filter((r): r is Extract<Result, { kind: 'ratio' }> => r.kind === 'ratio');
  const out: string[] = [];
  if (loads.length) {
    out.push(
      table([
        ['workload', 'conns', 'secs', 'requests', 'req/s', 'p50 ms', 'p99 ms', 'errors'],
        ...loads.map((r) => [
          `${r.suite}: ${r.name}`,
          String(r.connections),
          fmt(r.seconds),
          String(r.requests),
          fmt(r.rps, 0),
          fmt(r.p50Ms, 2),
          fmt(r.p99Ms, 2),
          String(r.errors),
        ]),
      ]),
    );
  }
  if (ratios.length) {
    out.push('');
    for (const r of ratios) {
      out.push(`${r.suite}: ${r.name}: ${r.value.toFixed(2)}x — ${r.detail} (aim ${r.aim}: ${r.met ? 'met' : 'NOT met'})`);
    }
  }
  return out.join('\n');
}

export const ms = fmt;

/**
 * A batch run through the platform (a campaign, a delivery queue) beside its bare baseline measured in
 * the same run: both as loads, and their ratio against the aim (`null`: reported, no aim).
 */
export function versusBaseline(
  suite: string,
  run: { name: string; connections: number; expected: number; done: number; seconds: number },
  baseline: { name: string; requests: number; rps: number },
  ratio: { name: string; aim: number | null; unit: string; note?: string },
): Result[] {
  const rps = run.expected / run.seconds;
  const value = rps / baseline.rps;
  const load = (name: string, seconds: number, requests: number, r: number, errors: number): Result => ({
    kind: 'load', suite, name, connections: run.connections, seconds, requests, rps: r, p50Ms: NaN, p99Ms: NaN, errors,
  });
  return [
    load(run.name, run.seconds, run.done, rps, run.expected - run.done),
    load(baseline.name, baseline.requests / baseline.rps, baseline.requests, baseline.rps, 0),
    {
      kind: 'ratio', suite, name: ratio.name, value,
      aim: ratio.aim === null ? 'report' : `>= ${ratio.aim}`, met: ratio.aim === null || value >= ratio.aim,
      detail: `${rps.toFixed(0)} vs ${baseline.rps.toFixed(0)} ${ratio.unit}${ratio.note ? `, ${ratio.note}` : ''}`,
    },
  ];
}

export type Load = Extract<Result, { kind: 'load' }>;

/** A workload measured for a given time: one side of an interleaved comparison. */
export interface Variant {
  name: string;
  measure(seconds: number): Promise<Load>;
}

/** A closed loop of `op` on `settings.connections` connections, as a variant. */
export const loopVariant = (suite: string, name: string, op: (i: number) => Promise<boolean>): Variant => ({
  name,
  measure: (seconds) => closedLoop(suite, name, { connections: settings.connections, seconds }, op),
});

/**
 * Runs each variant for `seconds` in total, alternating in rounds so that drift (caches, other
 * load on the machine) hits every variant alike. Throughput over the whole time; latency
 * percentiles as the request-weighted mean of the rounds.
 */
export async function interleaved(variants: Variant[], seconds: number, maxRounds: number): Promise<Load[]> {
  const rounds = Math.max(1, Math.min(maxRounds, Math.floor(seconds)));
  const parts = variants.map(() => [] as Load[]);
  const cpu = variants.map(() => ({ main: 0, pg: 0 }));
  for (let r = 0; r < rounds; r++) {
    for (const [v, variant] of variants.entries()) {
      const before = cpuNow();
      parts[v].push({ ...(await variant.measure(seconds / rounds)), name: variant.name });
      const after = cpuNow();
      cpu[v].main += after.main - before.main;
      cpu[v].pg += after.pg - before.pg;
    }
  }
  for (const [v, variant] of variants.entries()) {
    const requests = parts[v].reduce((s, p) => s + p.requests, 0);
    if (cpu[v].main > 0 && requests) log(`  cpu per request, ${variant.name}: this process's main thread ${Math.round(cpu[v].main / requests)} µs, PostgreSQL ${cpu[v].pg > 0 ? Math.round(cpu[v].pg / requests) : '?'} µs`);
  }
  return parts.map((ps) => {
    const requests = ps.reduce((s, p) => s + p.requests, 0);
    const secs = ps.reduce((s, p) => s + p.seconds, 0);
    const weighted = (f: (p: Load) => number) => ps.reduce((s, p) => s + f(p) * p.requests, 0) / requests;
    return { ...ps[0], seconds: secs, requests, rps: requests / secs, p50Ms: weighted((p) => p.p50Ms), p99Ms: weighted((p) => p.p99Ms), errors: ps.reduce((s, p) => s + p.errors, 0) };
  });
}

const TICK_US = 1_000_000 / 100; // Linux's USER_HZ
/** Fields of a /proc/<pid>/stat line (1-based, as proc(5) numbers them) from `from`, `n` of them, summed. */
const ticks = (stat: string, from: number, n: number) => stat.slice(stat.lastIndexOf(')') + 2).split(' ').slice(from - 3, from - 3 + n).reduce((s, x) => s + Number(x), 0);

/**
 * CPU time so far, in µs, of this process's main thread (the servers and loops under test; autocannon runs in its
 * own thread) and of the local PostgreSQL: the postmaster (a `postgres` process whose parent is init) with the
 * children it has reaped, plus its live backends. Zero where /proc does not tell (not Linux, PostgreSQL
 * elsewhere): a diagnostic that does not depend on how fast the machine happens to run, since CPU time per
 * request moves less than requests per second when the host is busy.
 */
function cpuNow(): { main: number; pg: number } {
  try {
    const main = ticks(readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8'), 14, 2) * TICK_US;
    const postgres: { pid: number; stat: string }[] = [];
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
        if (stat.includes('(postgres)')) postgres.push({ pid: Number(d), stat });
      } catch {
        // exited meanwhile
      }
    }
    const postmaster = postgres.find((p) => ticks(p.stat, 4, 1) === 1);
    let pg = 0;
    if (postmaster) {
      pg += ticks(postmaster.stat, 14, 4) * TICK_US; // its own time and its reaped children's
      for (const p of postgres) if (ticks(p.stat, 4, 1) === postmaster.pid) pg += ticks(p.stat, 14, 2) * TICK_US;
    }
    return { main, pg };
  } catch {
    return { main: 0, pg: 0 };
  }
}

/** Runs a suite and prints its table when its file is executed on its own (`npx tsx bench/<suite>.ts`); nothing when imported. */
export async function runIfMain(moduleUrl: string, run: () => Promise<Result[]>) {
  if (moduleUrl !== pathToFileURL(process.argv[1] ?? '').href) return;
  console.log(`\n${formatResults(await run())}\n`);
  process.exit(0);
}

/** A response's body as JSON, or as text when it is not JSON (an error page). */
export async function bodyOf(res: Response) {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Signs up an owner with a new organization and creates an API key of `role`, all through the real HTTP
 * API of a listening server. `label` names the account and organization (`<label>-owner-<n>@example.test`).
 */
export async function createTenantOverHttp(base: string, label: string, n: number, role: 'admin' | 'member'): Promise<{ organizationId: string; key: string }> {
  const signUp = await fetch(`${base}/api/auth/sign-up`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: `${label}-owner-${n}@example.test`, password: 'correct horse battery staple', name: `Owner ${n}`, organizationName: `${label[0].toUpperCase()}${label.slice(1)} org ${n}` }),
  });
  const account = await bodyOf(signUp);
  if (signUp.status !== 201) throw new Error(`sign-up failed: ${signUp.status} ${JSON.stringify(account)}`);
  const cookie = signUp.headers.getSetCookie().find((c) => c.startsWith('sb_session='))?.split(';')[0];
  if (!cookie) throw new Error('sign-up set no session cookie');
  const keyRes = await fetch(`${base}/api/api-keys`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', cookie },
    body: JSON.stringify({ name: 'bench', role }),
  });
  const key = await bodyOf(keyRes);
  if (keyRes.status !== 201) throw new Error(`api key failed: ${keyRes.status} ${JSON.stringify(key)}`);
  return { organizationId: account.organization.id, key: key.key };
}
