// Pooling: a pool of 8 PostgreSQL connections serving thousands of interleaved requests from two
// organizations through the real HTTP layer — with requests that fail, roll back or are cancelled midway —
// and not one foreign row is ever returned; afterwards no pooled connection still carries a tenant.
// The same scenario runs a second time through PgBouncer in transaction mode when PGBOUNCER_URL names one in
// front of DATABASE_URL's server (.ci/run starts one with 4 server connections): there the 8 client connections
// share fewer server connections, so transactions of both organizations follow one another on each of them.
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE, openDatabase } from '../src/db/index.js';
import { pgError } from './catalog.js';
import { createApiKey, createCustomer, createTestApp, createTestDatabase, onPostgres, signUpWithOrg, withDatabase, type Actor, type TestApp, type TestDatabase } from './helpers.js';

const POOL = 8;
const BATCHES = 50;
const BATCH_SIZE = 64; // 3,200 operations, 64 in flight at a time over 8 connections
const SEEDED = 25;

/** A small deterministic PRNG, so a failure can be replayed. */
function mulberry32(seed: number) {
  return () => {
    seed |= 0;
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

interface Side {
  label: 'a' | 'b';
  actor: Actor;
  key: Record<string, string>;
  /** Every customer id of this organization (seeded and created during the run). */
  ids: Set<string>;
  seeded: { id: string; email: string }[];
}

/** A PgBouncer in pool_mode = transaction in front of DATABASE_URL's server, with fewer than POOL server connections per database. */
const pgbouncerUrl = process.env.PGBOUNCER_URL || undefined;

/**
 * The scenario on a pool of POOL connections. `through`: a pooler's URL the platform connects through (the
 * scope then goes unnamed: PgBouncer before 1.21 keeps no named statement across server connections).
 */
function poolingScenario(through?: string) {
  let t: TestApp;
  let tdb: TestDatabase;
  let A: Side;
  let B: Side;
  const pidsUnderLoad = new Set<number>();
  const tally: Record<string, number> = {};

  beforeAll(async () => {
    tdb = await createTestDatabase({ poolSize: POOL, through, preparedScope: through ? false : undefined });
    t = await createTestApp({ database: tdb });
    const make = async (label: 'a' | 'b'): Promise<Side> => {
      const actor = await signUpWithOrg(t.app, `pool-${label}`);
      const key = (await createApiKey(t.app, actor, 'admin')).headers;
      return { label, actor, key, ids: new Set(), seeded: [] };
    };
    A = await make('a');
    B = await make('b');
    for (let i = 0; i < SEEDED; i++) {
      for (const s of [A, B]) {
        const email = `${s.label}-seed-${i}@pool.example`;
        const c = await createCustomer(t.app, i % 2 ? s.key : s.actor.headers, { email, firstName: `${s.label.toUpperCase()} ${i}`, tags: ['pool'] });
        s.ids.add(c.id);
        s.seeded.push({ id: c.id, email });
      }
    }
  });
  afterAll(async () => {
    await t?.close();
    await tdb?.close();
  });

  it('serves thousands of interleaved requests from two organizations without returning one foreign row', async () => {
    const rand = mulberry32(20240611);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
    let created = 0;

    type Outcome = { side: Side; kind: string; status?: number; body?: string; expect: number[]; createdId?: string; error?: string };

    /** One operation for `me`, chosen at random; `other` is the other organization. */
    const operation = (me: Side, other: Side): (() => Promise<Outcome>) => {
      const headers = rand() < 0.5 ? me.key : me.actor.headers;
      const http = (kind: string, expectStatus: number[], opts: { method: 'GET' | 'POST' | 'PATCH' | 'DELETE'; url: string; payload?: Record<string, unknown> }) => async (): Promise<Outcome> => {
        const res = await t.app.inject({ ...opts, headers });
        return { side: me, kind, status: res.statusCode, body: res.body, expect: expectStatus };
      };
      const r = rand();
      if (r < 0.3) {
        const limit = 1 + Math.floor(rand() * 60);
        const filter = rand() < 0.3 ? '&tag=pool' : rand() < 0.2 ? `&q=${me.label}-seed` : '';
        return http('list', [200], { method: 'GET', url: `/api/customers?limit=${limit}${filter}` });
      }
      if (r < 0.42) return http('get-own', [200], { method: 'GET', url: `/api/customers/${pick(me.seeded).id}` });
      if (r < 0.52) return http('get-foreign', [404], { method: 'GET', url: `/api/customers/${pick(other.seeded).id}` });
      if (r < 0.56) return http('patch-foreign', [404], { method: 'PATCH', url: `/api/customers/${pick(other.seeded).id}`, payload: { firstName: 'HACKED' } });
      if (r < 0.59) return http('delete-foreign', [404], { method: 'DELETE', url: `/api/customers/${pick(other.seeded).id}` });
      if (r < 0.64) return http('invalid-body', [400], { method: 'POST', url: '/api/customers', payload: { email: 'not-an-email', organizationId: other.actor.organizationId } });
      // A unique violation in the middle of the handler's transaction: the whole transaction rolls back.
      if (r < 0.69) return http('duplicate-create', [409], { method: 'POST', url: '/api/customers', payload: { email: pick(me.seeded).email.toUpperCase() } });
      if (r < 0.72) {
        const [x, y] = [pick(me.seeded), pick(me.seeded)];
        if (x.id === y.id) return http('get-own', [200], { method: 'GET', url: `/api/customers/${x.id}` });
        return http('duplicate-update', [409], { method: 'PATCH', url: `/api/customers/${x.id}`, payload: { email: y.email } });
      }
      if (r < 0.77) {
        const n = ++created;
        return async () => {
          const o = await http('create', [201], { method: 'POST', url: '/api/customers', payload: { email: `${me.label}-new-${n}@pool.example`, tags: ['pool'] } })();
          if (o.status === 201) o.createdId = JSON.parse(o.body!).id;
          return o;
        };
      }
      if (r < 0.79) return http('malformed-id', [400, 404], { method: 'GET', url: '/api/customers/not-a-uuid' });
      // Cancelled midway: statement_timeout cancels the query inside the tenant transaction.
      if (r < 0.87) {
        return async () => {
          try {
            await t.db.withTenant(me.actor.organizationId, async (tx) => {
              const [row] = ((await tx.execute(sql`SELECT pg_backend_pid() AS pid`)) as unknown as { rows: { pid: number }[] }).rows;
              pidsUnderLoad.add(row.pid);
              await tx.execute(sql`SET LOCAL statement_timeout = '15ms'`);
              await tx.execute(sql`SELECT pg_sleep(1)`);
            });
            return { side: me, kind: 'cancelled', expect: [], error: 'pg_sleep was not cancelled' };
          } catch (err) {
            const code = pgError(err).code;
            return { side: me, kind: 'cancelled', expect: [], error: code === '57014' ? undefined : `expected 57014, got ${code} ${pgError(err).message}` };
          }
        };
      }
      // Fails midway: the handler throws after the tenant is set and a query ran.
      return async () => {
        try {
          await t.db.withTenant(me.actor.organizationId, async (tx) => {
            const [row] = ((await tx.execute(sql`SELECT pg_backend_pid() AS pid, count(*)::int AS n FROM customers`)) as unknown as { rows: { pid: number }[] }).rows;
            pidsUnderLoad.add(row.pid);
            throw new Error('handler failed midway');
          });
          return { side: me, kind: 'thrown', expect: [], error: 'did not throw' };
        } catch (err) {
          return { side: me, kind: 'thrown', expect: [], error: (err as Error).message === 'handler failed midway' ? undefined : String(err) };
        }
      };
    };

    let total = 0;
    let rowsChecked = 0;
    for (let batch = 0; batch < BATCHES; batch++) {
      const ops = Array.from({ length: BATCH_SIZE }, () => (rand() < 0.5 ? operation(A, B) : operation(B, A)));
      const outcomes = await Promise.all(ops.map((op) => op()));
      total += outcomes.length;
      // Learn this batch's new ids first: a concurrent list may already have returned them.
      for (const o of outcomes) if (o.createdId) o.side.ids.add(o.createdId);
      for (const o of outcomes) {
        tally[o.kind] = (tally[o.kind] ?? 0) + 1;
        const me = o.side;
        const other = me === A ? B : A;
        const ctx = `batch ${batch} ${me.label} ${o.kind}`;
        if (o.status === undefined) {
          expect(o.error, ctx).toBeUndefined();
          continue;
        }
        expect(o.expect, `${ctx}: status ${o.status} ${o.body?.slice(0, 200)}`).toContain(o.status);
        // Not one id of the other organization (nor its organization id) anywhere in any response.
        const foreign = (o.body!.match(UUID) ?? []).filter((id) => other.ids.has(id) || id === other.actor.organizationId);
        expect(foreign, `${ctx}: foreign ids in the response`).toEqual([]);
        if (o.kind === 'list') {
          const page = JSON.parse(o.body!);
          for (const c of page.data) {
            expect(me.ids.has(c.id), `${ctx}: listed customer ${c.id} is not ${me.label}'s`).toBe(true);
            expect(c.email.startsWith(`${me.label}-`), `${ctx}: listed ${c.email}`).toBe(true);
            rowsChecked++;
          }
        }
        if (o.kind === 'get-own') expect(me.ids.has(JSON.parse(o.body!).id), ctx).toBe(true);
      }
    }

    expect(total).toBeGreaterThanOrEqual(3000);
    for (const kind of ['list', 'get-own', 'get-foreign', 'patch-foreign', 'delete-foreign', 'invalid-body', 'duplicate-create', 'duplicate-update', 'create', 'cancelled', 'thrown']) {
      expect(tally[kind] ?? 0, `operations of kind ${kind}`).toBeGreaterThan(20);
    }
    expect(rowsChecked).toBeGreaterThan(10_000);

    // Nothing foreign was changed or removed, and every rolled-back request left nothing behind.
    for (const s of [A, B]) {
      const rows = await t.db.owner.query<{ id: string; first_name: string | null }>(`SELECT id::text AS id, first_name FROM customers WHERE organization_id = $1`, [s.actor.organizationId]);
      expect(new Set(rows.map((r) => r.id)), `${s.label}: exactly its seeded and created customers`).toEqual(s.ids);
      expect(rows.filter((r) => r.first_name === 'HACKED')).toEqual([]);
    }
    console.info(`pooling${through ? ' through PgBouncer' : ''}: ${total} operations over ${POOL} connections, ${rowsChecked} listed rows checked`, tally);
  });

  it('leaves no tenant, no role and no statement_timeout on any pooled connection afterwards', async () => {
    // Hold all 8 connections at once so each one answers.
    const states = await Promise.all(
      Array.from({ length: POOL }, () =>
        t.db.owner.query<{ pid: number; org: string | null; uid: string | null; cu: string; su: string; role: string; timeout: string }>(
          `SELECT pg_backend_pid() AS pid, current_setting('app.org_id', true) AS org, current_setting('app.user_id', true) AS uid,
                  current_user::text AS cu, session_user::text AS su, current_setting('role') AS role,
                  current_setting('statement_timeout') AS timeout, pg_sleep(0.3)::text AS slept`,
        ),
      ),
    );
    const pids = new Set(states.map(([s]) => s.pid));
    if (through) {
      // Fewer server connections than clients: each served several clients' transactions, both organizations'.
      expect(pids.size, 'server connections behind the pooler').toBeGreaterThan(1);
      expect(pids.size, 'server connections behind the pooler').toBeLessThan(POOL);
    } else expect(pids.size, 'distinct pooled connections').toBe(POOL);
    expect([...pids].filter((p) => pidsUnderLoad.has(p)).length, 'connections that served the load').toBe(pids.size);
    for (const [s] of states) {
      expect(['', null], `connection ${s.pid} app.org_id`).toContain(s.org);
      expect(['', null], `connection ${s.pid} app.user_id`).toContain(s.uid);
      expect(s.cu, `connection ${s.pid} current_user`).toBe(s.su);
      expect(s.cu).not.toBe(APP_ROLE);
      expect(s.role).toBe('none');
      expect(s.timeout).toBe('0');
    }
    // And as the runtime role with no tenant, every connection sees zero customers.
    const counts = await Promise.all(
      Array.from({ length: POOL }, () =>
        t.db.withPlatform(async (tx) => ((await tx.execute(sql`SELECT pg_backend_pid() AS pid, (SELECT count(*)::int FROM customers) AS n, pg_sleep(0.3)::text AS slept`)) as unknown as { rows: { pid: number; n: number }[] }).rows[0]),
      ),
    );
    expect(new Set(counts.map((c) => c.pid)).size).toBe(pids.size);
    expect(counts.map((c) => c.n)).toEqual(Array(POOL).fill(0));
  });
}

describe.skipIf(!onPostgres)('pooling (PostgreSQL only: PGlite is a single connection, nothing is pooled)', () => poolingScenario());

describe.skipIf(!onPostgres || !pgbouncerUrl)('pooling through PgBouncer in transaction mode (PGBOUNCER_URL)', () => poolingScenario(pgbouncerUrl));

describe.skipIf(!onPostgres || !pgbouncerUrl)('a pooler that keeps no named statements, with the prepared scope left on (PGBOUNCER_URL: PgBouncer before 1.21)', () => {
  it('sends the scope unnamed after the first lost statement and says so once; no request fails after that, even on new server connections', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => {
      if ((w as Error & { code?: string }).code === 'SB_PREPARED_SCOPE') warnings.push(w);
    };
    process.on('warning', onWarning);
    // The organization and its key are made directly; then a server whose pool goes through PgBouncer, as configured by default.
    const tdb = await createTestDatabase({ poolSize: 2 });
    const direct = await createTestApp({ database: tdb });
    const owner = await signUpWithOrg(direct.app, 'pool-named');
    const key = (await createApiKey(direct.app, owner, 'admin')).headers;
    await direct.close();
    const db = await openDatabase({ databaseUrl: withDatabase(pgbouncerUrl!, new URL(tdb.url!).pathname.slice(1)), poolSize: POOL, migrate: false });
    const t = await createTestApp({ database: { db, close: () => db.close() } });
    const created: string[] = [];
    let n = 0;
    /** 32 requests at once, half lists and half creates; the statuses of the ones that failed. */
    const wave = async () => {
      const res = await Promise.all(
        Array.from({ length: 32 }, async (_, i) => {
          if (i % 2) return (await t.app.inject({ method: 'GET', url: '/api/customers?limit=5', headers: key })).statusCode;
          const email = `named-${++n}@pool.example`;
          const r = await t.app.inject({ method: 'POST', url: '/api/customers', headers: key, payload: { email } });
          if (r.statusCode === 201) created.push(email);
          return r.statusCode;
        }),
      );
      return res.filter((s) => s !== 200 && s !== 201);
    };
    try {
      const before: number[] = [];
      for (let i = 0; i < 20 && !warnings.length; i++) {
        before.push(...(await wave()));
        await new Promise((r) => setImmediate(r)); // a warning is emitted on the next tick
      }
      // Only requests in flight when the first lost statement came back can fail: at most one per pooled connection.
      console.info(`prepared scope through PgBouncer: ${before.length} requests failed before the scope went unnamed`);
      expect(warnings.length, 'the lost statement was met, and said once').toBe(1);
      expect(warnings[0].message).toMatch(/DATABASE_PREPARED_SCOPE=false/);
      expect(before.every((s) => s === 500) && before.length <= POOL, `failed: ${before}`).toBe(true);
      // PgBouncer replaces its server connections (server_lifetime, a restart): the new ones have no statement prepared.
      const admin = new pg.Client({ connectionString: tdb.url });
      await admin.connect();
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`);
      await admin.end();
      await new Promise((r) => setTimeout(r, 500));
      const after: number[] = [];
      for (let i = 0; i < 10; i++) after.push(...(await wave()));
      expect(after, 'requests that failed after the scope went unnamed').toEqual([]);
      expect(warnings.length).toBe(1);
      // The failed requests wrote nothing, the rest everything.
      const rows = await t.db.owner.query<{ email: string }>(`SELECT email FROM customers WHERE organization_id = $1 ORDER BY email`, [owner.organizationId]);
      expect(rows.map((r) => r.email)).toEqual([...created].sort());
    } finally {
      process.off('warning', onWarning);
      await t.close();
      await db.close();
      await tdb.close();
    }
  });
});
