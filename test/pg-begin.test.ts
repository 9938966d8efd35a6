// The pg driver's pipelined BEGIN (src/db/pg-begin.ts): a tenant transaction's BEGIN and scope leave with its
// first query, as bound parameters, in one round trip; a failure anywhere rolls back and leaves the pooled
// connection clean; a transaction that sends nothing sends no BEGIN either.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/index.js';
import { query } from '../src/db/sql.js';
import { createTestDatabase, onPostgres, type TestDatabase } from './helpers.js';
import { recordPgQueries } from './pg-support.js';

interface Sent {
  text: string;
  prefix: string[];
}

/** What the server's pg clients are handed while fn runs: one entry is one round trip. */
async function roundTrips(fn: () => Promise<unknown>): Promise<Sent[]> {
  const seen: Sent[] = [];
  await recordPgQueries(fn, ([q]) => {
    const query = q as string | { text: string; prefix?: { text: string }[] };
    seen.push(typeof query === 'string' ? { text: query, prefix: [] } : { text: query.text, prefix: (query.prefix ?? []).map((p) => p.text) });
  });
  return seen;
}

describe.skipIf(!onPostgres)('pipelined BEGIN (PostgreSQL only: PGlite runs in the process)', () => {
  let t: TestDatabase;
  let org: string;
  beforeAll(async () => {
    t = await createTestDatabase({ poolSize: 1 });
    const [o] = await t.db.owner.query<{ id: string }>(`insert into organizations (name) values ('Pipelined') returning id`);
    org = o.id;
    await t.db.owner.query(`insert into customers (organization_id, email) values ($1, 'one@pipelined.example')`, [org]);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('sends BEGIN and the scope with the first query (one round trip), then only COMMIT', async () => {
    let seenOrg = '';
    const sent = await roundTrips(() =>
      t.db.withTenant(org, async (tx) => {
        const [row] = await query<{ org: string; n: number }>(tx, sql`select current_setting('app.org_id') as org, (select count(*)::int from customers) as n`);
        seenOrg = row.org;
        expect(row.n).toBe(1);
      }),
    );
    expect(seenOrg).toBe(org);
    expect(sent).toHaveLength(2);
    expect(sent[0].prefix).toEqual(['BEGIN', expect.stringMatching(/^select set_config\('role', \$1, true\), set_config\('app\.org_id', \$2, true\)/)]);
    expect(sent[0].text).toMatch(/^select current_setting\('app\.org_id'\)/);
    expect(sent[1]).toEqual({ text: 'COMMIT', prefix: [] });
  });

  it('binds the scope as parameters: an email with quotes is a value, never SQL', async () => {
    const email = `o'hara'); select pg_sleep(5); --@example.com`;
    const user = await t.db.withUser({ id: '00000000-0000-4000-8000-000000000001', email }, async (tx) =>
      (await query<{ email: string; role: string }>(tx, sql`select current_setting('app.user_email') as email, current_user as role`))[0]);
    expect(user.email).toBe(email);
    expect(user.role).toBe('switchboard_app');
  });

  it('a failing first query rolls back, and the connection carries no scope or transaction afterwards', async () => {
    const failed = await t.db.withTenant(org, (tx) => tx.execute(sql`insert into customers (organization_id, email) values (${org}, 'two@pipelined.example'), (${org}, (1/0)::text)`)).catch((e: Error) => e);
    expect(String((failed as Error & { cause?: Error }).cause?.message ?? failed)).toMatch(/division by zero/);
    // One pooled connection: the next transaction gets the same one.
    const after = await t.db.withSystem('job-scheduler', async (tx) =>
      (await query<{ org: string; n: number; role: string }>(tx, sql`select coalesce(current_setting('app.org_id', true), '') as org, (select count(*)::int from customers) as n, current_user as role`))[0]);
    expect(after.org).toBe('');
    expect(after.n).toBe(1);
    expect(after.role).not.toBe('switchboard_app');
  });

  it('a transaction that sends no query sends nothing at all', async () => {
    const sent = await roundTrips(() => t.db.withTenant(org, async () => 'nothing to read'));
    expect(sent).toEqual([]);
    // And an error before any query rolls back nothing and keeps the connection usable.
    await expect(t.db.withTenant(org, async () => { throw new Error('refused before reading'); })).rejects.toThrow('refused before reading');
    expect((await t.db.withTenant(org, (tx) => query<{ n: number }>(tx, sql`select count(*)::int as n from customers`)))[0].n).toBe(1);
  });
});

describe.skipIf(!onPostgres)('read-only scopes: each statement carries the scope, no BEGIN or COMMIT (PostgreSQL only)', () => {
  let t: TestDatabase;
  let org: string;
  let other: string;
  beforeAll(async () => {
    t = await createTestDatabase({ poolSize: 1 });
    const [o, p] = await t.db.owner.query<{ id: string }>(`insert into organizations (name) values ('Reader'), ('Other reader') returning id`);
    org = o.id;
    other = p.id;
    await t.db.owner.query(`insert into customers (organization_id, email) values ($1, 'one@reader.example'), ($2, 'two@reader.example'), ($2, 'three@reader.example')`, [org, other]);
  });
  afterAll(async () => {
    await t?.close();
  });

  const readScope = <T>(organizationId: string, fn: Parameters<TestDatabase['db']['withTenant']>[1]) => t.db.withTenant(organizationId, fn, { readOnly: true }) as Promise<T>;

  it('sends every statement with the read-only scope ahead of it, one round trip each, and sees only its organization', async () => {
    const seen: { org: string; n: number; ro: string }[] = [];
    const sent = await roundTrips(() =>
      readScope(org, async (tx) => {
        for (let i = 0; i < 2; i++) {
          seen.push((await query<{ org: string; n: number; ro: string }>(tx, sql`select current_setting('app.org_id') as org, (select count(*)::int from customers) as n, current_setting('transaction_read_only') as ro`))[0]);
        }
      }),
    );
    expect(seen).toEqual([{ org, n: 1, ro: 'on' }, { org, n: 1, ro: 'on' }]);
    expect(sent).toHaveLength(2);
    for (const s of sent) {
      expect(s.prefix).toEqual([expect.stringMatching(/set_config\('app\.org_id', \$2, true\).*set_config\('transaction_read_only', \$5, true\)/)]);
      expect(s.text).toMatch(/^select current_setting/);
    }
    expect(sent.map((s) => s.text)).not.toContain('COMMIT');
  });

  it('refuses a write and changes nothing', async () => {
    const failed = await readScope(org, (tx) => tx.execute(sql`insert into customers (organization_id, email) values (${org}, 'written@reader.example')`)).catch((e: Error) => e);
    expect(String((failed as Error & { cause?: Error }).cause?.message ?? failed)).toMatch(/read-only transaction/);
    const [{ n }] = await t.db.owner.query<{ n: number }>(`select count(*)::int as n from customers where organization_id = $1`, [org]);
    expect(n).toBe(1);
  });

  it('leaves the pooled connection without scope, role or read-only mode, also after a failed statement', async () => {
    await readScope(org, (tx) => tx.execute(sql`select 1/0`)).catch(() => undefined);
    await readScope(other, (tx) => tx.execute(sql`select 1`));
    // One pooled connection: the next use gets the same one.
    const after = await t.db.withSystem('job-scheduler', async (tx) =>
      (await query<{ org: string; ro: string; role: string; n: number }>(tx, sql`select coalesce(current_setting('app.org_id', true), '') as org, current_setting('transaction_read_only') as ro, current_user as role, (select count(*)::int from customers) as n`))[0]);
    expect(after).toEqual({ org: '', ro: 'off', role: expect.not.stringMatching(/^switchboard_app$/), n: 3 });
    // And a tenant transaction after it writes as usual.
    await t.db.withTenant(org, (tx) => tx.execute(sql`update customers set first_name = 'Written' where organization_id = ${org}`));
    expect((await t.db.owner.query<{ first_name: string }>(`select first_name from customers where organization_id = $1`, [org]))[0].first_name).toBe('Written');
  });

  it('sends the scope as a named statement prepared once per connection, unless preparedScope is off', async () => {
    const names = async (db: TestDatabase['db']) =>
      (await db.withTenant(org, (tx) => query<{ name: string }>(tx, sql`select name from pg_prepared_statements order by name`), { readOnly: true })).map((r) => r.name);
    await t.db.withTenant(org, (tx) => tx.execute(sql`select 1`));
    // One pooled connection: both scope statements live on it, once each, however many requests used them.
    expect(await names(t.db)).toEqual(['sb_scope', 'sb_scope_read']);
    const unnamed = await openDatabase({ databaseUrl: t.url!, poolSize: 1, migrate: false, preparedScope: false });
    try {
      expect(await names(unnamed)).toEqual([]);
      expect((await unnamed.withTenant(org, (tx) => query<{ n: number }>(tx, sql`select count(*)::int as n from customers`), { readOnly: true }))[0].n).toBe(1);
    } finally {
      await unnamed.close();
    }
  });

  it('refuses a statement sent after the scope ended, and a nested transaction inside it', async () => {
    let kept: Parameters<Parameters<TestDatabase['db']['withTenant']>[1]>[0] | undefined;
    await readScope(org, async (tx) => {
      kept = tx;
      await expect(tx.transaction(async () => undefined)).rejects.toThrow(/no transaction to nest in/);
    });
    const late = await kept!.execute(sql`select count(*) from customers`).catch((e: Error & { cause?: Error }) => e.cause ?? e);
    expect(String((late as Error).message)).toMatch(/read scope has ended/);
  });
});
