// Customer search and tag filters go through sb_customer_page (0016_scale.sql), a SECURITY DEFINER
// function: it runs past RLS so the trigram and tags indexes can be used. Treated like withSystem: it is
// on the reviewed list of test/schema-rules.test.ts, and here it is shown to return nothing without a
// tenant scope and nothing of another tenant, and to give exactly the pages of the plain RLS query.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema, type Tx } from '../src/db/index.js';
import { keysetPage } from '../src/lib/pagination.js';
import { customerFilters } from '../src/modules/customers/service.js';
import type { CustomerListQuery } from '../src/modules/customers/schemas.js';
import { createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;

const page = (tx: Tx, q: string | null, tags: string[] | null, after: { ts: string; id: string } | null = null, limit = 50) =>
  tx
    .execute(sql`select id from sb_customer_page(${q}::text, ${tags ? sql.param(tags) : null}::text[], null, null, ${after?.ts ?? null}::timestamptz, ${after?.id ?? null}::uuid, ${limit}::int)`)
    .then((r) => (r as unknown as { rows: { id: string }[] }).rows.map((x) => x.id));

/** 60 customers in an organization; names, addresses and phones that exercise case, LIKE wildcards and tags. */
async function seed(actor: Actor, label: string) {
  await t.db.withTenant(actor.organizationId, (tx) =>
    tx.execute(sql`insert into customers (organization_id, email, phone, first_name, last_name, email_opt_in, sms_opt_in, tags, created_at)
      select ${actor.organizationId}, case when g % 7 = 0 then null else ${label} || '.user' || g || case when g % 5 = 0 then '_x@Example.COM' else '@example.com' end end,
             case when g % 3 = 0 then '+1 555 01' || lpad(g::text, 2, '0') end,
             case when g % 4 = 0 then 'Ann' || g when g % 4 = 1 then 'JOANNA' else 'Bo%b' end, 'Smith' || (g % 9),
             g % 2 = 0, g % 3 = 0,
             case when g % 6 = 0 then array['vip', ${label}] when g % 2 = 0 then array[${label}] else '{}'::text[] end,
             -- Pairs of rows with the same created_at: the id breaks the tie in the keyset.
             now() - make_interval(mins => g / 2)
        from generate_series(1, 60) g
       where g % 7 <> 0 or g % 3 = 0`),
  );
}

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'sa');
  b = await signUpWithOrg(t.app, 'sb');
  await seed(a, 'alpha');
  await seed(b, 'beta');
  // Only in B: a name no customer of A has.
  await t.db.withTenant(b.organizationId, (tx) => tx.execute(sql`insert into customers (organization_id, email, first_name, tags) values (${b.organizationId}, 'zed@b.example', 'Zebulon', '{only-b}')`));
});
afterAll(() => t?.close());

describe('sb_customer_page', () => {
  it('returns nothing without a tenant scope: no organization, a user only, or the owner', async () => {
    expect(await t.db.withPlatform((tx) => page(tx, 'ann', null))).toEqual([]);
    expect(await t.db.withPlatform((tx) => page(tx, null, ['vip']))).toEqual([]);
    expect(await t.db.withUser({ id: a.userId }, (tx) => page(tx, 'a', null))).toEqual([]);
    // Even the owner's unscoped transaction gets nothing: the organization is app.org_id or none.
    expect(await t.db.withSystem('job-scheduler', (tx) => page(tx, 'ann', null))).toEqual([]);
  });

  it("returns only the scoped organization's customers, never another tenant's", async () => {
    expect(await t.db.withTenant(a.organizationId, (tx) => page(tx, 'zebulon', null))).toEqual([]);
    expect(await t.db.withTenant(a.organizationId, (tx) => page(tx, null, ['only-b']))).toEqual([]);
    expect(await t.db.withTenant(a.organizationId, (tx) => page(tx, 'beta', null))).toEqual([]);
    expect(await t.db.withTenant(b.organizationId, (tx) => page(tx, 'zebulon', null))).toHaveLength(1);
    const ids = await t.db.withTenant(a.organizationId, (tx) => page(tx, null, null, null, 500));
    const owners = await t.db.owner.query<{ organization_id: string }>(`select distinct organization_id from customers where id = any($1::uuid[])`, [ids]);
    expect(owners.map((o) => o.organization_id)).toEqual([a.organizationId]);
    // At most 201 ids whatever is asked.
    expect(ids.length).toBeLessThanOrEqual(201);
  });

  it('takes no organization parameter and may be executed by the runtime role only', async () => {
    const [f] = await t.db.owner.query<{ args: string; public_exec: boolean; definer: boolean }>(
      `select pg_get_function_arguments(p.oid) as args, prosecdef as definer, has_function_privilege('public', p.oid, 'EXECUTE') as public_exec
         from pg_proc p where proname = 'sb_customer_page' and pronamespace = 'public'::regnamespace`,
    );
    expect(f).toMatchObject({ definer: true, public_exec: false });
    expect(f.args).not.toMatch(/org/i);
  });
});

describe('GET /api/customers with q or tag', () => {
  /** Every page of a list through the API (the function's path), in order. */
  async function viaApi(actor: Actor, query: Record<string, string>, limit: number) {
    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const qs = new URLSearchParams({ ...query, limit: String(limit), ...(cursor && { cursor }) });
      const res: { statusCode: number; body: string; json(): any } = await t.app.inject({ url: `/api/customers?${qs}`, headers: actor.headers });
      expect(res.statusCode, res.body).toBe(200);
      const body: { data: { id: string }[]; nextCursor: string | null } = res.json();
      ids.push(...body.data.map((c: { id: string }) => c.id));
      cursor = body.nextCursor;
    } while (cursor);
    return ids;
  }
  /** The same list by the plain RLS query (ILIKE and @> as filters), every page. */
  async function plain(actor: Actor, query: Partial<CustomerListQuery>) {
    return t.db.withTenant(actor.organizationId, async (tx) => {
      const ids: string[] = [];
      let cursor: string | undefined;
      do {
        const q = { limit: 200, ...query, cursor } as CustomerListQuery;
        const r = await keysetPage(tx, schema.customers, q, customerFilters(actor.organizationId, q));
        ids.push(...r.rows.map((c) => c.id));
        cursor = r.nextCursor ?? undefined;
      } while (cursor);
      return ids;
    });
  }

  const cases: [string, Record<string, string>, Partial<CustomerListQuery>][] = [
    ['a name, any case', { q: 'aNN' }, { q: 'aNN' }],
    ['an address domain, upper case stored', { q: 'example.com' }, { q: 'example.com' }],
    ['a LIKE wildcard taken literally (%)', { q: '%' }, { q: '%' }],
    ['a LIKE wildcard taken literally (_)', { q: '_x@' }, { q: '_x@' }],
    ['a phone fragment', { q: '555 01' }, { q: '555 01' }],
    ['a short term (under three characters)', { q: 'o' }, { q: 'o' }],
    ['no match', { q: 'nobody-here' }, { q: 'nobody-here' }],
    ['a tag', { tag: 'vip' }, { tag: 'vip' }],
    ['a tag and a search', { tag: 'alpha', q: 'smith1' }, { tag: 'alpha', q: 'smith1' }],
    ['a search and an opt-in filter', { q: 'smith', emailOptIn: 'true' }, { q: 'smith', emailOptIn: true }],
  ];
  for (const [name, query, same] of cases) {
    it(`gives the plain query's customers in its order, page after page: ${name}`, async () => {
      const expected = await plain(a, same);
      expect(await viaApi(a, query, 7)).toEqual(expected);
      if (name !== 'no match') expect(expected.length).toBeGreaterThan(0);
    });
  }

  it('answers with whole customers read under RLS, and B sees its own', async () => {
    const res = await t.app.inject({ url: '/api/customers?q=zebulon', headers: b.headers });
    expect(res.json()).toMatchObject({ data: [{ email: 'zed@b.example', firstName: 'Zebulon', tags: ['only-b'] }], nextCursor: null });
    expect((await t.app.inject({ url: '/api/customers?q=zebulon', headers: a.headers })).json()).toEqual({ data: [], nextCursor: null });
  });
});
