// Database layer, as the runtime role: row-level security alone keeps organizations apart, even for a
// query that forgets its organization_id filter. Every tenant table comes from the catalog (see catalog.ts)
// and is seeded generically, so a table added later is seeded and checked here the day it is added.
import { randomUUID } from 'node:crypto';
import { sql, type SQL, type SQLChunk } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE, openDatabase, schema, type Database, type Tx } from '../src/db/index.js';
import { pgError, refusal, tenantTables } from './catalog.js';
import { createTestDatabase, onPostgres, type TestDatabase } from './helpers.js';

const ident = (name: string) => sql.identifier(name);
const rowsOf = async <T = Record<string, any>>(tx: Tx, q: SQL): Promise<T[]> => ((await tx.execute(q)) as unknown as { rows: T[] }).rows;
const list = (parts: SQLChunk[]) => sql.join(parts, sql`, `);

interface Org {
  id: string;
  label: string;
}
interface Column {
  table: string;
  name: string;
  type: string;
  notNull: boolean;
  hasDefault: boolean;
}
interface ForeignKey {
  name: string;
  table: string;
  ref: string;
  cols: string[];
  refCols: string[];
}

const A: Org = { id: randomUUID(), label: 'a' };
const B: Org = { id: randomUUID(), label: 'b' };
const userIds: string[] = [randomUUID(), randomUUID()];
/** An account with no membership anywhere: no tenant transaction may see it, its sessions or its hash. */
const outsider: string = randomUUID();
const ROWS_PER_TABLE = 2;
/** Tables that hold one row per organization (its settings): seeded once. */
const ONE_PER_ORGANIZATION = new Set(['sms_settings', 'billing_accounts']);
const rowsPer = (table: string) => (ONE_PER_ORGANIZATION.has(table) ? 1 : ROWS_PER_TABLE);
/**
 * Counter tables kept by triggers on the rows they count (0016_scale.sql): the seed of the counted
 * tables already writes into them, so a generic row that collides with one is skipped, and their
 * row count is whatever the (identical) seeds of the two organizations made.
 */
const MAINTAINED = new Set(['customer_counts', 'email_campaign_status_counts', 'email_campaign_hourly', 'email_link_clicks', 'sms_campaign_status_counts', 'sms_campaign_hourly']);

let tdb: TestDatabase;
let db: Database;
let tables: string[];
let columns: Column[];
let fks: ForeignKey[];
/** First allowed value of single-column `col = ANY (ARRAY[...])` checks, by "table.column". */
const allowed = new Map<string, string>();

const columnsOf = (table: string) => columns.filter((c) => c.table === table);
const privileged = async (table: string, privilege: 'UPDATE' | 'DELETE') =>
  (await db.owner.query<{ ok: boolean }>(`SELECT has_table_privilege($1, $2, $3) AS ok`, [APP_ROLE, `public.${table}`, privilege]))[0].ok;

/** Row count of each organization per tenant table, read as the owner (no RLS). */
async function ownerCounts(): Promise<Map<string, { a: number; b: number }>> {
  const out = new Map<string, { a: number; b: number }>();
  for (const t of tables) {
    const [r] = await db.owner.query<{ a: number; b: number }>(
      `SELECT count(*) FILTER (WHERE organization_id = $1)::int AS a, count(*) FILTER (WHERE organization_id = $2)::int AS b FROM "${t}"`,
      [A.id, B.id],
    );
    out.set(t, r);
  }
  return out;
}

/** A fingerprint of every row of one organization per tenant table, read as the owner. */
async function snapshot(org: Org): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of tables) {
    const [r] = await db.owner.query<{ h: string | null }>(
      `SELECT md5(string_agg(row_to_json(x)::text, '|' ORDER BY x.id::text)) AS h FROM "${t}" x WHERE organization_id = $1`,
      [org.id],
    );
    out[t] = r.h ?? '';
  }
  return out;
}

/** Tables in an order where every referenced tenant table comes before the tables that reference it. */
function seedOrder(): string[] {
  const deps = new Map(tables.map((t) => [t, fks.filter((f) => f.table === t && f.ref !== t && tables.includes(f.ref)).map((f) => f.ref)]));
  const out: string[] = [];
  while (out.length < tables.length) {
    const next = tables.find((t) => !out.includes(t) && deps.get(t)!.every((d) => out.includes(d))) ?? tables.find((t) => !out.includes(t))!;
    out.push(next);
  }
  return out;
}

/**
 * Columns whose CHECK wants a shape generic text lacks: E.164 numbers (unique across organizations, too);
 * an audit actor_reason only for the system actor (the seed's actor_type is 'user', so none).
 */
const SHAPED: Record<string, (org: Org, k: number) => string | null> = {
  'phone_numbers.number': (org, k) => `+1415555${org === A ? 1 : 2}${String(k).padStart(3, '0')}`,
  'audit_log.actor_reason': () => null,
  // Quiet hours are HH:MM times or none.
  'sms_settings.quiet_hours_start': () => null,
  'sms_settings.quiet_hours_end': () => null,
  // A calendar month is its first day (and one row per organization and month).
  'usage_months.month': (_org, k) => `2026-${String(k + 1).padStart(2, '0')}-01`,
  // A report is one of the kinds modules/reports computes.
  'reports.kind': () => 'campaign_performance',
  'reports.schedule_every': () => 'week',
  // Knowledge base (0022): slugs are URL segments, locales language codes, an article draft or published.
  'kb_categories.slug': (_org, k) => `category-${k}`,
  'kb_articles.status': () => 'draft',
  'kb_article_translations.locale': (_org, k) => ['en', 'fr', 'de', 'es', 'it'][k % 5],
  'kb_article_translations.slug': (_org, k) => `article-${k}`,
};

function synthesize(col: Column, org: Org, k: number): unknown {
  const pinned = allowed.get(`${col.table}.${col.name}`);
  if (pinned !== undefined) return pinned;
  const shaped = SHAPED[`${col.table}.${col.name}`];
  if (shaped) return shaped(org, k);
  const t = col.type;
  if (t === 'uuid') return randomUUID();
  if (t === 'text' || t.startsWith('character varying') || t === 'citext') return `${org.label}-${col.table}-${col.name}-${k}@example.test`;
  if (t.startsWith('timestamp') || t === 'date') return new Date().toISOString();
  if (/^(integer|bigint|smallint|numeric|real|double precision)/.test(t)) return '1';
  if (t === 'boolean') return 'false';
  if (t === 'jsonb' || t === 'json') return '{}';
  if (t.endsWith('[]')) return '{}';
  return undefined;
}

/**
 * Inserts ROWS_PER_TABLE rows into every tenant table for one organization, as the runtime role inside
 * withTenant. Foreign-key columns point at the same organization's rows (or at platform rows such as
 * users); other columns get a value of their type, so nullable foreign keys are exercised too.
 */
async function seedOrganization(org: Org) {
  await db.withTenant(org.id, async (tx) => {
    for (const table of seedOrder()) {
      for (let k = 0; k < rowsPer(table); k++) {
        const values = new Map<string, unknown>([['organization_id', org.id]]);
        for (const fk of fks.filter((f) => f.table === table)) {
          const pairs = fk.cols.map((c, i) => [c, fk.refCols[i]] as const).filter(([c]) => c !== 'organization_id');
          if (pairs.length === 0) continue;
          const refHasOrg = columnsOf(fk.ref).some((c) => c.name === 'organization_id');
          // Account rows (users) are under RLS keyed on the user: the seed points at the seeded users it knows.
          const candidates: Record<string, string>[] = fk.ref === 'users' && pairs.length === 1
            ? userIds.map((id) => ({ [pairs[0][1]]: id }))
            : await rowsOf(tx, sql`SELECT ${list(pairs.map(([, r]) => sql`${ident(r)}::text AS ${ident(r)}`))} FROM ${ident(fk.ref)}
                ${refHasOrg ? sql`WHERE organization_id = ${org.id}` : sql``} ORDER BY 1 LIMIT 10`);
          const pick = candidates.length ? candidates[k % candidates.length] : null;
          for (const [c, r] of pairs) values.set(c, pick ? pick[r] : null);
        }
        for (const col of columnsOf(table)) {
          if (values.has(col.name) || col.hasDefault) continue;
          const v = synthesize(col, org, k);
          if (v === undefined && col.notNull) throw new Error(`db-isolation seed: no value for ${table}.${col.name} (${col.type}); teach synthesize() this type`);
          if (v !== undefined) values.set(col.name, v);
        }
        const names = [...values.keys()];
        try {
          await tx.execute(sql`INSERT INTO ${ident(table)} (${list(names.map(ident))}) VALUES (${list(names.map((n) => sql`${values.get(n)}`))})
            ${MAINTAINED.has(table) ? sql`ON CONFLICT DO NOTHING` : sql``}`);
        } catch (err) {
          throw new Error(`db-isolation seed: could not insert a generic row into ${table} (${pgError(err).message}); extend the seeder for it`);
        }
      }
    }
  });
}

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = tdb.db;
  await db.owner.query(`INSERT INTO organizations (id, name) VALUES ($1, 'Org A'), ($2, 'Org B')`, [A.id, B.id]);
  await db.owner.query(
    `INSERT INTO users (id, email, name, password_hash) VALUES ($1, 'u0@example.test', 'u0', 'x'), ($2, 'u1@example.test', 'u1', 'x')`,
    userIds,
  );
  await db.owner.query(`INSERT INTO users (id, email, name, password_hash) VALUES ($1, 'outsider@example.test', 'outsider', '$argon2id$secret')`, [outsider]);
  await db.owner.query(
    `INSERT INTO sessions (token_hash, user_id, expires_at) VALUES ('h0', $1, now() + interval '1 day'), ('h1', $2, now() + interval '1 day'), ('h2', $3, now() + interval '1 day')`,
    [userIds[0], userIds[1], outsider],
  );
  await db.owner.query(`INSERT INTO user_tokens (user_id, purpose, token_hash, email, expires_at) VALUES ($1, 'password_reset', 'th', 'outsider@example.test', now() + interval '1 hour')`, [outsider]);
  tables = await tenantTables(db);
  // Generated columns (kb_article_translations.search) are left out: nothing may write them, the database computes them.
  columns = (
    await db.owner.query<any>(
      `SELECT c.relname::text AS table, a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
              (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS has_default
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
        ORDER BY c.relname, a.attnum`,
    )
  ).map((r) => ({ table: r.table, name: r.name, type: r.type, notNull: r.not_null, hasDefault: r.has_default }));
  // A partition's copies of its parent's foreign keys are left out: rows are reached, and checked, through the parent.
  fks = (
    await db.owner.query<any>(
      `SELECT con.conname::text AS name, cl.relname::text AS table, rf.relname::text AS ref,
              ARRAY(SELECT a.attname::text FROM unnest(con.conkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.i) AS cols,
              ARRAY(SELECT a.attname::text FROM unnest(con.confkey) WITH ORDINALITY k(n, i)
                    JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.i) AS ref_cols
         FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid JOIN pg_class rf ON rf.oid = con.confrelid
         JOIN pg_namespace n ON n.oid = cl.relnamespace
        WHERE con.contype = 'f' AND n.nspname = 'public' AND NOT cl.relispartition
        ORDER BY 2, 1`,
    )
  ).map((r) => ({ name: r.name, table: r.table, ref: r.ref, cols: r.cols, refCols: r.ref_cols }));
  const checks = await db.owner.query<{ table: string; def: string }>(
    `SELECT cl.relname::text AS table, pg_get_constraintdef(con.oid) AS def
       FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid JOIN pg_namespace n ON n.oid = cl.relnamespace
      WHERE con.contype = 'c' AND n.nspname = 'public'`,
  );
  for (const c of checks) {
    const m = /^CHECK \(\((\w+) = ANY \(ARRAY\[(.+)\]\)\)\)$/.exec(c.def);
    const first = m && /'([^']*)'/.exec(m[2]);
    if (m && first) allowed.set(`${c.table}.${m[1]}`, first[1]);
  }
  await seedOrganization(A);
  await seedOrganization(B);
});
afterAll(() => tdb?.close());

describe('database isolation, as the runtime role', () => {
  it('finds the tenant tables in the catalog and has rows of both organizations in every one', async () => {
    expect(tables.length).toBeGreaterThanOrEqual(20);
    expect(tables).toEqual(expect.arrayContaining(['customers', 'email_campaigns', 'email_messages', 'sms_messages', 'calls', 'audit_log', 'memberships']));
    for (const [t, c] of await ownerCounts()) {
      if (MAINTAINED.has(t)) expect(c.a >= 1 && c.a === c.b, `rows counted into ${t}: ${JSON.stringify(c)}`).toBe(true);
      else expect(c, `rows seeded into ${t}`).toEqual({ a: rowsPer(t), b: rowsPer(t) });
    }
  });

  it('returns zero rows from every tenant table when no organization is set', async () => {
    await db.withPlatform(async (tx) => {
      const [who] = await rowsOf(tx, sql`SELECT current_user AS u`);
      expect(who.u).toBe(APP_ROLE);
      for (const t of tables) {
        const [r] = await rowsOf<{ n: number; named: number }>(
          tx,
          sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE organization_id IN (${A.id}, ${B.id}))::int AS named FROM ${ident(t)}`,
        );
        expect(r, `rows of ${t} visible without an organization`).toEqual({ n: 0, named: 0 });
      }
      expect(await rowsOf(tx, sql`SELECT id FROM organizations`)).toEqual([]);
    });
  });

  it('shows an organization every one of its own rows and not one row of the other, in every tenant table', async () => {
    const counts = await ownerCounts();
    for (const [me, other] of [
      [A, B],
      [B, A],
    ] as const) {
      await db.withTenant(me.id, async (tx) => {
        const [who] = await rowsOf(tx, sql`SELECT current_user AS u`);
        expect(who.u).toBe(APP_ROLE);
        for (const t of tables) {
          // No organization filter on purpose: this is the query that forgot it.
          const [r] = await rowsOf<{ n: number; foreign: number }>(
            tx,
            sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE organization_id <> ${me.id})::int AS foreign FROM ${ident(t)}`,
          );
          expect(r.foreign, `rows of the other organization visible in ${t}`).toBe(0);
          expect(r.n, `own rows visible in ${t}`).toBe(counts.get(t)![me === A ? 'a' : 'b']);
          const [named] = await rowsOf<{ n: number }>(tx, sql`SELECT count(*)::int AS n FROM ${ident(t)} WHERE organization_id = ${other.id}`);
          expect(named.n, `rows of ${t} asked for by the other organization's id`).toBe(0);
        }
        expect((await rowsOf(tx, sql`SELECT id::text FROM organizations`)).map((r) => r.id)).toEqual([me.id]);
      });
    }
  });

  it('keeps the same wall in a read-only scope (what GET requests use), which also refuses every write', async () => {
    const counts = await ownerCounts();
    for (const me of [A, B]) {
      const other = me === A ? B : A;
      await db.withTenant(
        me.id,
        async (tx) => {
          for (const t of tables) {
            const [r] = await rowsOf<{ n: number; foreign: number }>(tx, sql`SELECT count(*)::int AS n, count(*) FILTER (WHERE organization_id <> ${me.id})::int AS foreign FROM ${ident(t)}`);
            expect(r.foreign, `rows of the other organization visible in ${t}, read-only`).toBe(0);
            expect(r.n, `own rows visible in ${t}, read-only`).toBe(counts.get(t)![me === A ? 'a' : 'b']);
          }
        },
        { readOnly: true },
      );
      for (const t of tables) {
        const err = await db
          .withTenant(me.id, (tx) => tx.execute(sql`DELETE FROM ${ident(t)} WHERE organization_id IN (${me.id}, ${other.id})`), { readOnly: true })
          .then(() => null, (e: unknown) => pgError(e));
        expect(err?.message, `a delete from ${t} in a read-only scope`).toMatch(/read-only transaction/);
      }
    }
    expect(await ownerCounts()).toEqual(counts);
  });

  it('shows a user with no organization set only their own memberships, and no other tenant row', async () => {
    await db.withUser({ id: userIds[0], email: 'u0@example.test' }, async (tx) => {
      for (const t of tables) {
        const [r] = await rowsOf<{ n: number }>(tx, sql`SELECT count(*)::int AS n FROM ${ident(t)}`);
        if (t === 'memberships') expect(r.n, 'own memberships in both organizations').toBe(2);
        else expect(r.n, `rows of ${t} visible to a user without an organization`).toBe(0);
      }
      const mine = await rowsOf(tx, sql`SELECT user_id::text AS u FROM memberships`);
      expect(mine.every((m) => m.u === userIds[0])).toBe(true);
    });
  });

  it("refuses a row carrying B's organization_id while A is set, in every tenant table", async () => {
    const before = await ownerCounts();
    for (const t of tables) {
      const [b] = await db.owner.query<{ r: Record<string, unknown> }>(`SELECT row_to_json(x) AS r FROM "${t}" x WHERE organization_id = $1 LIMIT 1`, [B.id]);
      const row = { ...(typeof b.r === 'string' ? JSON.parse(b.r) : b.r), id: randomUUID() };
      const names = columnsOf(t).map((c) => c.name);
      const err = await refusal(
        () =>
          db.withTenant(A.id, (tx) =>
            tx.execute(sql`INSERT INTO ${ident(t)} (${list(names.map(ident))})
                           SELECT ${list(names.map(ident))} FROM json_populate_record(null::${ident(t)}, ${JSON.stringify(row)}::json)`),
          ),
        `insert into ${t} with B's organization while A is set`,
      );
      expect(err.code, `${t}: ${err.message}`).toBe('42501');
      expect(err.message).toMatch(/row-level security/);
    }
    // The same through Drizzle, the way a service would write it.
    const err = await refusal(
      () => db.withTenant(A.id, (tx) => tx.insert(schema.customers).values({ organizationId: B.id, email: 'smuggled@example.test' })),
      'Drizzle insert of a customer into B',
    );
    expect(err.message).toMatch(/row-level security/);
    expect(await ownerCounts()).toEqual(before);
  });

  it("refuses moving A's rows into B, in every tenant table", async () => {
    const before = await Promise.all([snapshot(A), snapshot(B)]);
    for (const t of tables) {
      const err = await refusal(
        () => db.withTenant(A.id, (tx) => tx.execute(sql`UPDATE ${ident(t)} SET organization_id = ${B.id} WHERE organization_id = ${A.id}`)),
        `update of ${t} moving A's rows to B`,
      );
      expect(err.code, `${t}: ${err.message}`).toBe('42501');
      // The append-only audit log refuses every UPDATE; everything else is stopped by the policy's WITH CHECK.
      expect(err.message).toMatch((await privileged(t, 'UPDATE')) ? /row-level security/ : /permission denied/);
    }
    expect(await Promise.all([snapshot(A), snapshot(B)])).toEqual(before);
  });

  it("updates and deletes none of B's rows while A is set, and B's rows stay unchanged", async () => {
    const before = await snapshot(B);
    const counts = await ownerCounts();
    const affected = async (q: SQL) => (await db.withTenant(A.id, (tx) => rowsOf<{ n: number }>(tx, q)))[0].n;
    let checked = 0;
    for (const t of tables) {
      const [victim] = await db.owner.query<{ id: string }>(`SELECT id::text AS id FROM "${t}" WHERE organization_id = $1 LIMIT 1`, [B.id]);
      if (await privileged(t, 'UPDATE')) {
        expect(await affected(sql`WITH u AS (UPDATE ${ident(t)} SET id = gen_random_uuid() WHERE organization_id = ${B.id} RETURNING 1) SELECT count(*)::int AS n FROM u`), `${t} update by organization`).toBe(0);
        expect(await affected(sql`WITH u AS (UPDATE ${ident(t)} SET id = gen_random_uuid() WHERE id = ${victim.id} RETURNING 1) SELECT count(*)::int AS n FROM u`), `${t} update by id`).toBe(0);
        checked++;
      } else {
        const err = await refusal(() => affected(sql`WITH u AS (UPDATE ${ident(t)} SET id = id WHERE id = ${victim.id} RETURNING 1) SELECT count(*)::int AS n FROM u`), `update of ${t}`);
        expect(err.message).toMatch(/permission denied/);
      }
      if (await privileged(t, 'DELETE')) {
        expect(await affected(sql`WITH d AS (DELETE FROM ${ident(t)} WHERE id = ${victim.id} RETURNING 1) SELECT count(*)::int AS n FROM d`), `${t} delete by id`).toBe(0);
        expect(await affected(sql`WITH d AS (DELETE FROM ${ident(t)} WHERE organization_id = ${B.id} RETURNING 1) SELECT count(*)::int AS n FROM d`), `${t} delete by organization`).toBe(0);
        checked++;
      } else {
        const err = await refusal(() => affected(sql`WITH d AS (DELETE FROM ${ident(t)} WHERE id = ${victim.id} RETURNING 1) SELECT count(*)::int AS n FROM d`), `delete from ${t}`);
        expect(err.message).toMatch(/permission denied/);
      }
    }
    expect(checked).toBeGreaterThan(tables.length);
    expect(await snapshot(B)).toEqual(before);
    expect(await ownerCounts()).toEqual(counts);
  });

  it('lets an UPDATE or DELETE that forgets its filter touch only the organization that is set', async () => {
    const counts = await ownerCounts();
    const before = await snapshot(B);
    class Rollback extends Error {}
    for (const t of tables) {
      for (const [verb, q] of [
        ['UPDATE', sql`WITH x AS (UPDATE ${ident(t)} SET organization_id = organization_id RETURNING organization_id) SELECT count(*)::int AS n, count(*) FILTER (WHERE organization_id <> ${A.id})::int AS foreign FROM x`],
        ['DELETE', sql`WITH x AS (DELETE FROM ${ident(t)} RETURNING organization_id) SELECT count(*)::int AS n, count(*) FILTER (WHERE organization_id <> ${A.id})::int AS foreign FROM x`],
      ] as const) {
        if (!(await privileged(t, verb))) continue;
        const seen = await db
          .withTenant(A.id, async (tx) => {
            const [r] = await rowsOf<{ n: number; foreign: number }>(tx, q);
            throw Object.assign(new Rollback(), { r });
          })
          .catch((e) => {
            if (e instanceof Rollback) return (e as Rollback & { r: { n: number; foreign: number } }).r;
            throw e;
          });
        expect(seen, `${verb} ${t} without a filter`).toEqual({ n: counts.get(t)!.a, foreign: 0 });
      }
    }
    expect(await ownerCounts()).toEqual(counts);
    expect(await snapshot(B)).toEqual(before);
  });

  it("refuses, through the composite foreign keys, a reference from A's row to B's row even as the owner", async () => {
    const cross = fks.filter((f) => tables.includes(f.ref) && f.cols.some((c) => c !== 'organization_id'));
    expect(cross.map((f) => `${f.table}->${f.ref}`)).toEqual(expect.arrayContaining(['email_messages->email_campaigns', 'email_messages->customers']));
    for (const fk of cross) {
      const pairs = fk.cols.map((c, i) => [c, fk.refCols[i]] as const).filter(([c]) => c !== 'organization_id');
      const [child] = await db.owner.query<{ id: string }>(`SELECT id::text AS id FROM "${fk.table}" WHERE organization_id = $1 LIMIT 1`, [A.id]);
      const [target] = await db.owner.query<Record<string, string>>(
        `SELECT ${pairs.map(([, r]) => `"${r}"::text AS "${r}"`).join(', ')} FROM "${fk.ref}" WHERE organization_id = $1 LIMIT 1`,
        [B.id],
      );
      const sets = pairs.map(([c], i) => `"${c}" = $${i + 3}`).join(', ');
      const err = await refusal(
        () => db.owner.query(`UPDATE "${fk.table}" SET ${sets} WHERE organization_id = $1 AND id = $2`, [A.id, child.id, ...pairs.map(([, r]) => target[r])]),
        `${fk.name}: ${fk.table} of A pointing at ${fk.ref} of B`,
      );
      expect(err.code, `${fk.name}: ${err.message}`).toBe('23503');
    }
    // A new email message of A addressed through B's campaign or B's customer, with the right ids, as the owner.
    const [campA] = await db.owner.query<{ id: string }>(`SELECT id FROM email_campaigns WHERE organization_id = $1 LIMIT 1`, [A.id]);
    const [campB] = await db.owner.query<{ id: string }>(`SELECT id FROM email_campaigns WHERE organization_id = $1 LIMIT 1`, [B.id]);
    const [custB] = await db.owner.query<{ id: string }>(`SELECT id FROM customers WHERE organization_id = $1 LIMIT 1`, [B.id]);
    const insert = `INSERT INTO email_messages (organization_id, campaign_id, customer_id, to_email) VALUES ($1, $2, $3, 'x@example.test')`;
    expect((await refusal(() => db.owner.query(insert, [A.id, campB.id, null]), "A's message in B's campaign")).code).toBe('23503');
    expect((await refusal(() => db.owner.query(insert, [A.id, campA.id, custB.id]), "A's message to B's customer")).code).toBe('23503');
  });
});

describe('the tenant is transaction-local', () => {
  let one: Database;
  let ownOne = false;
  beforeAll(async () => {
    // PostgreSQL: a pool of ONE connection, so the next use is certainly the same session. PGlite is one session.
    if (onPostgres) {
      one = await openDatabase({ databaseUrl: tdb.url!, poolSize: 1, migrate: false });
      ownOne = true;
    } else one = db;
  });
  afterAll(async () => {
    if (ownOne) await one.close();
  });

  const sessionState = async () =>
    (
      await one.owner.query<{ pid: number; org: string | null; uid: string | null; role: string; cu: string; su: string }>(
        `SELECT pg_backend_pid() AS pid, current_setting('app.org_id', true) AS org, current_setting('app.user_id', true) AS uid,
                current_setting('role') AS role, current_user::text AS cu, session_user::text AS su`,
      )
    )[0];

  async function expectNoTenantLeft(pid: number) {
    const s = await sessionState();
    expect(s.pid, 'the same connection is reused').toBe(pid);
    expect(['', null]).toContain(s.org);
    expect(['', null]).toContain(s.uid);
    expect(s.cu).toBe(s.su);
    expect(s.cu).not.toBe(APP_ROLE);
    expect(s.role).toBe('none');
    await one.withPlatform(async (tx) => {
      for (const t of tables) {
        const [r] = await rowsOf<{ n: number }>(tx, sql`SELECT count(*)::int AS n FROM ${ident(t)}`);
        expect(r.n, `rows of ${t} visible on the reused connection after a tenant transaction`).toBe(0);
      }
    });
  }

  it('leaves neither the organization nor the runtime role on the connection after withTenant commits', async () => {
    const pid = await one.withTenant(A.id, async (tx) => {
      const [r] = await rowsOf<{ pid: number; n: number; org: string }>(
        tx,
        sql`SELECT pg_backend_pid() AS pid, (SELECT count(*)::int FROM customers) AS n, current_setting('app.org_id', true) AS org`,
      );
      expect(r.n).toBeGreaterThan(0);
      expect(r.org).toBe(A.id);
      return r.pid;
    });
    await expectNoTenantLeft(pid);
  });

  it('leaves neither the organization, the runtime role nor read-only mode on the connection after a read-only scope', async () => {
    const pid = await one.withTenant(
      A.id,
      async (tx) => {
        const [r] = await rowsOf<{ pid: number; n: number; ro: string }>(tx, sql`SELECT pg_backend_pid() AS pid, (SELECT count(*)::int FROM customers) AS n, current_setting('transaction_read_only') AS ro`);
        expect(r.n).toBeGreaterThan(0);
        expect(r.ro).toBe('on');
        return r.pid;
      },
      { readOnly: true },
    );
    await expectNoTenantLeft(pid);
    expect((await one.owner.query<{ ro: string }>(`SELECT current_setting('transaction_read_only') AS ro`))[0].ro).toBe('off');
  });

  it('leaves nothing behind after a tenant transaction that fails midway, or one with a rolled-back savepoint', async () => {
    let pid = 0;
    await expect(
      one.withTenant(A.id, async (tx) => {
        pid = (await rowsOf<{ pid: number }>(tx, sql`SELECT pg_backend_pid() AS pid`))[0].pid;
        throw new Error('handler failed after set_config');
      }),
    ).rejects.toThrow('handler failed after set_config');
    await expectNoTenantLeft(pid);

    await expect(one.withTenant(A.id, (tx) => tx.execute(sql`SELECT 1/0`))).rejects.toThrow();
    await expectNoTenantLeft(pid);

    await one.withTenant(A.id, async (tx) => {
      await tx.transaction(async (sp) => {
        await sp.execute(sql`SELECT set_config('app.org_id', ${B.id}, true)`);
        sp.rollback();
      }).catch(() => {});
      // The rolled-back savepoint restores A, not B.
      const [r] = await rowsOf<{ org: string }>(tx, sql`SELECT current_setting('app.org_id', true) AS org`);
      expect(r.org).toBe(A.id);
    });
    await expectNoTenantLeft(pid);
  });

  it('reads an unset organization as empty once the session has set it, and still returns zero rows (nullif), not an error', async () => {
    await one.withTenant(A.id, async () => {});
    // Now the session knows app.org_id: "unset" reads as '' rather than NULL.
    expect((await sessionState()).org).toBe('');
    await one.withPlatform(async (tx) => {
      const [r] = await rowsOf<{ raw: string; n: number }>(tx, sql`SELECT current_setting('app.org_id', true) AS raw, (SELECT count(*)::int FROM customers) AS n`);
      expect(r).toEqual({ raw: '', n: 0 });
    });
    // Without nullif the policy would cast '' to uuid and fail every query: that is what nullif prevents.
    const err = await refusal(() => one.withPlatform((tx) => tx.execute(sql`SELECT current_setting('app.org_id', true)::uuid`)), "''::uuid");
    expect(err.code).toBe('22P02');
  });
});

describe('processed webhook events', () => {
  it('dedupe globally, but a tenant sees only the events applied to its own organization', async () => {
    const eventB = `evt-${randomUUID()}`;
    const insert = (tx: Tx, org: Org, id: string) =>
      rowsOf<{ event_id: string }>(tx, sql`insert into processed_webhook_events (provider, event_id, organization_id)
        values ('sendgrid', ${id}, ${org.id}) on conflict do nothing returning event_id`);
    expect(await db.withTenant(B.id, (tx) => insert(tx, B, eventB))).toHaveLength(1);
    // A replay of B's event id from A's scope is a duplicate: nothing inserted, nothing revealed.
    expect(await db.withTenant(A.id, (tx) => insert(tx, A, eventB))).toHaveLength(0);
    const seenByA = await db.withTenant(A.id, (tx) => rowsOf(tx, sql`select * from processed_webhook_events`));
    expect(seenByA.filter((r) => r.organization_id !== A.id)).toEqual([]);
    expect(await db.withPlatform((tx) => rowsOf(tx, sql`select * from processed_webhook_events`))).toEqual([]);
    // Recording an event under another organization's id is refused.
    await expect(db.withTenant(A.id, (tx) => insert(tx, B, `evt-${randomUUID()}`))).rejects.toThrow();
  });
});

describe('account tables (users, sessions, user_tokens) under RLS', () => {
  it('a tenant transaction that forgets its filter sees only co-members, only its user’s sessions, and no password hash', async () => {
    const seen = await db.withTenant(A.id, async (tx) => ({
      users: (await rowsOf<{ id: string }>(tx, sql`SELECT id::text AS id FROM users`)).map((r) => r.id).sort(),
      sessions: (await rowsOf<{ user_id: string }>(tx, sql`SELECT user_id::text FROM sessions`)).map((r) => r.user_id),
      tokens: await rowsOf(tx, sql`SELECT * FROM user_tokens`),
      joined: await rowsOf(tx, sql`SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id`),
    }), { userId: userIds[0] });
    // Both seeded users are members of A; the outsider is nobody's co-member.
    expect(seen.users).not.toContain(outsider);
    expect(seen.users.every((u) => userIds.includes(u))).toBe(true);
    expect(seen.sessions).toEqual([userIds[0]]);
    expect(seen.tokens).toEqual([]);
    expect(seen.joined.length).toBeGreaterThan(0);
    expect(JSON.stringify(seen)).not.toContain('outsider');

    const err = await refusal(() => db.withTenant(A.id, (tx) => tx.execute(sql`SELECT password_hash FROM users`), { userId: userIds[0] }), 'read password_hash');
    expect(err.code).toBe('42501');
    const star = await refusal(() => db.withTenant(A.id, (tx) => tx.execute(sql`SELECT * FROM users`)), 'select * from users');
    expect(star.code).toBe('42501');
  });

  it('without a user set, no account row, session or token is visible; updates and deletes touch nothing foreign', async () => {
    await db.withPlatform(async (tx) => {
      expect(await rowsOf(tx, sql`SELECT id FROM users`)).toEqual([]);
      expect(await rowsOf(tx, sql`SELECT id FROM sessions`)).toEqual([]);
      expect(await rowsOf(tx, sql`SELECT id FROM user_tokens`)).toEqual([]);
    });
    const touched = await db.withTenant(A.id, async (tx) => ({
      sessions: await rowsOf(tx, sql`DELETE FROM sessions WHERE user_id = ${outsider} RETURNING id`),
      users: await rowsOf(tx, sql`UPDATE users SET name = 'pwned' WHERE id = ${outsider} RETURNING id`),
    }), { userId: userIds[0] });
    expect(touched).toEqual({ sessions: [], users: [] });
    const [row] = await db.owner.query<{ name: string; n: number }>(
      `SELECT name, (SELECT count(*)::int FROM sessions WHERE user_id = $1) AS n FROM users WHERE id = $1`, [outsider]);
    expect(row).toEqual({ name: 'outsider', n: 1 });
  });

  it('a user sees their own row and sessions only; sign-in reads one hash by address through the reviewed function', async () => {
    await db.withUser({ id: outsider }, async (tx) => {
      expect((await rowsOf<{ id: string }>(tx, sql`SELECT id::text AS id FROM users`)).map((r) => r.id)).toEqual([outsider]);
      expect(await rowsOf(tx, sql`SELECT id FROM sessions`)).toHaveLength(1);
    });
    const found = await db.withPlatform((tx) => rowsOf<{ id: string; password_hash: string }>(tx, sql`SELECT id::text, password_hash FROM sb_sign_in_lookup('OUTSIDER@example.test')`));
    expect(found).toEqual([{ id: outsider, password_hash: '$argon2id$secret' }]);
  });
});
