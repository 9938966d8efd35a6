/**
 * The schema stays ready for Citus (docs/scaling.md, "The path to Citus"): every tenant table can be
 * distributed by organization_id and co-located with the others, and every other table is classified
 * here — a reference table (copied to every worker) or a local one (on the coordinator) — so a new
 * table fails this test until someone decides where it lives.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Database } from '../src/db/index.js';
import { PLATFORM_TABLES, publicTables, tenantTables } from './catalog.js';
import { createTestDatabase, type TestDatabase } from './helpers.js';

/** Reference tables: small or read by every shard's queries, keyed globally, copied to every worker. */
const REFERENCE_TABLES: Record<string, string> = {
  organizations: 'one row per tenant; every tenant table has a foreign key to it (distributed → reference is allowed)',
  users: 'a person spans organizations (global unique email); memberships, api_keys, calls point to it',
  sessions: "keyed by token hash, resolved before any organization is known; points to users and organizations",
  user_tokens: 'verification and reset tokens, keyed by token hash before any organization is known',
};

/** Local tables: stay on the coordinator, never joined with tenant rows on a worker. */
const LOCAL_TABLES: Record<string, string> = {
  schema_migrations: 'the migration ledger',
  processed_webhook_events: 'webhook deduplication: the global key (provider, event_id) must refuse a duplicate from any organization',
};

/**
 * Unique keys on tenant tables that span organizations (reviewed in schema-rules.test.ts). Citus
 * refuses a unique constraint without the distribution column, so on Citus each moves to a reference
 * lookup table keyed by the global value (value → organization_id), written in the same transaction.
 */
const GLOBAL_UNIQUES_TO_MOVE: Record<string, string> = {
  phone_numbers_number_key: 'phone_number_owners(number PK, organization_id)',
  integrations_twilio_account_key: 'twilio_account_owners(account_sid PK, organization_id)',
  integrations_shopify_shop_key: 'shopify_shop_owners(shop PK, organization_id)',
  billing_accounts_stripe_customer_key: 'stripe_customer_owners(customer_id PK, organization_id)',
};

let tdb: TestDatabase;
let db: Database;
let tenant: string[];
beforeAll(async () => {
  tdb = await createTestDatabase();
  db = tdb.db;
  tenant = await tenantTables(db);
});
afterAll(() => tdb?.close());
const q = <T = Record<string, any>>(text: string, params?: unknown[]) => db.owner.query<T>(text, params);

describe('distribution-ready schema (Citus)', () => {
  it('classifies every table: distributed by organization_id (tenant), reference, or local — exactly one of them', async () => {
    const all = (await publicTables(db)).map((t) => t.name);
    const reference = Object.keys(REFERENCE_TABLES);
    const local = Object.keys(LOCAL_TABLES);
    const unclassified = all.filter((t) => !tenant.includes(t) && !reference.includes(t) && !local.includes(t));
    expect(unclassified, 'tables neither tenant nor listed as reference or local (test/distribution.test.ts): classify them').toEqual([]);
    expect(reference.filter((t) => local.includes(t) || tenant.includes(t))).toEqual([]);
    expect(local.filter((t) => tenant.includes(t))).toEqual([]);
    // The platform allow-list (test/catalog.ts) is exactly the reference and local tables.
    expect([...PLATFORM_TABLES].sort()).toEqual([...reference, ...local].sort());
    // No stale names.
    expect([...reference, ...local].filter((t) => !all.includes(t))).toEqual([]);
  });

  it('leads every tenant primary key and unique key with organization_id (the distribution column), but for the named global keys', async () => {
    const rows = await q<{ table: string; index: string; primary: boolean; first: string | null }>(
      `SELECT c.relname AS table, ic.relname AS index, i.indisprimary AS primary,
              (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[0] AND i.indkey[0] <> 0) AS first
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace AND i.indisunique`,
      [tenant],
    );
    const pks = rows.filter((r) => r.primary);
    expect(pks.map((r) => r.table).sort()).toEqual([...tenant].sort());
    expect(pks.filter((r) => r.first !== 'organization_id').map((r) => r.index)).toEqual([]);
    const global = rows.filter((r) => r.first !== 'organization_id').map((r) => r.index).sort();
    expect(global, 'unique keys across organizations: each needs a Citus plan in GLOBAL_UNIQUES_TO_MOVE and docs/scaling.md').toEqual(Object.keys(GLOBAL_UNIQUES_TO_MOVE).sort());
  });

  it('keeps foreign keys co-located: tenant → tenant through organization_id, tenant → reference, never into a tenant or local table from elsewhere', async () => {
    const rows = await q<{ name: string; table: string; ref: string; pairs: string[] }>(
      `SELECT con.conname::text AS name, cl.relname::text AS table, rf.relname::text AS ref,
              ARRAY(SELECT a.attname::text || '=' || b.attname::text
                      FROM unnest(con.conkey, con.confkey) WITH ORDINALITY k(n, m, i)
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                      JOIN pg_attribute b ON b.attrelid = con.confrelid AND b.attnum = k.m ORDER BY k.i) AS pairs
         FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid JOIN pg_class rf ON rf.oid = con.confrelid
        WHERE con.contype = 'f' AND cl.relnamespace = 'public'::regnamespace AND NOT cl.relispartition`,
    );
    const kind = (t: string) => (tenant.includes(t) ? 'tenant' : t in REFERENCE_TABLES ? 'reference' : t in LOCAL_TABLES ? 'local' : 'unclassified');
    const bad: string[] = [];
    for (const r of rows) {
      const from = kind(r.table);
      const to = kind(r.ref);
      const fk = `${r.name} (${r.table} [${from}] -> ${r.ref} [${to}]: ${r.pairs.join(', ')})`;
      if (to === 'tenant' && (from !== 'tenant' || !r.pairs.includes('organization_id=organization_id'))) bad.push(fk);
      else if (to === 'local' && from !== 'local') bad.push(fk);
      else if (from === 'reference' && to !== 'reference') bad.push(fk);
      else if (to === 'unclassified' || from === 'unclassified') bad.push(fk);
    }
    expect(bad, 'foreign keys Citus could not keep (or that would cross organizations)').toEqual([]);
    expect(rows.filter((r) => kind(r.table) === 'tenant' && kind(r.ref) === 'tenant').length).toBeGreaterThanOrEqual(10);
  });

  it('keeps organization_id NOT NULL on every tenant table (a distribution column cannot be null)', async () => {
    const rows = await q<{ table: string }>(
      `SELECT c.relname AS table FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace AND a.attname = 'organization_id' AND a.attnotnull`,
      [tenant],
    );
    expect(rows.map((r) => r.table).sort()).toEqual([...tenant].sort());
  });
});
