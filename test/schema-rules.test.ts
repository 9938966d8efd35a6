// The schema rules of ARCHITECTURE.md, checked in pg_catalog on the migrated database (PGlite and PostgreSQL).
// Tables come from the catalog, so a table added later is held to the rules the day it is added.
import { is } from 'drizzle-orm';
import { getTableConfig, PgTable } from 'drizzle-orm/pg-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE, schema, type Database } from '../src/db/index.js';
import { ACCOUNT_TABLES, PLATFORM_TABLES, publicTables, tenantTables } from './catalog.js';
import { createTestDatabase, type TestDatabase } from './helpers.js';

/**
 * Policies besides tenant_isolation that may widen what a tenant table shows, each a reviewed decision:
 * a signed-in user reads their own memberships (to list and switch organizations) and the pending
 * invitations sent to their own address. Both are SELECT-only; a new one fails the test until added here.
 */
const EXTRA_POLICIES = ['memberships.own_memberships', 'invitations.own_invitations', 'organizations.member_organizations'];

/** organization_id = (SELECT nullif(current_setting('app.org_id', true), ''))::uuid, as pg_get_expr prints it. */
const tenantPolicy = (col: string) =>
  new RegExp(
    `^\\(${col} = \\(*\\s*(SELECT )?NULLIF\\(current_setting\\('app\\.org_id'::text, true\\), ''::text\\)( AS "?nullif"?)?\\)*::uuid\\)$`,
  );

/**
 * Unique indexes that deliberately span organizations, each a reviewed decision: inbound provider traffic
 * names only these keys, so each must lead to exactly one organization (0009_twilio.sql).
 * - phone_numbers_number_key: a phone number belongs to at most one organization across the platform
 *   (an inbound SMS or call names only the number it was sent to).
 * - integrations_twilio_account_key: a Twilio account is connected to at most one organization (its
 *   status callbacks name only the AccountSid, and must be checked with that one organization's token).
 * - integrations_shopify_shop_key: a Shopify shop is connected to at most one organization (its webhooks
 *   name only the shop domain, X-Shopify-Shop-Domain; 0014_shopify.sql).
 * - billing_accounts_stripe_customer_key: a Stripe customer belongs to at most one organization (Stripe's
 *   billing events name only the customer id; 0015_billing.sql).
 */
const REVIEWED_PLATFORM_UNIQUES = ['phone_numbers_number_key', 'integrations_twilio_account_key', 'integrations_shopify_shop_key', 'billing_accounts_stripe_customer_key'];

/** SECURITY DEFINER functions, each a reviewed decision: sign-in's lookup of one account's password hash by address. */
const REVIEWED_DEFINERS = ['sb_sign_in_lookup', 'sb_customer_page', 'sb_kb_search'];
/**
 * The tenant tables a reviewed SECURITY DEFINER function may read, past RLS. Such a function must take
 * the organization from app.org_id only (test/customer-search.test.ts proves it returns nothing without a
 * tenant and nothing of another tenant); every other one reads no tenant table at all.
 */
const DEFINER_TENANT_READS: Record<string, string[]> = {
  sb_customer_page: ['customers'],
  // The help center's full-text search (0022_knowledge_base.sql): published versions of app.org_id's articles, ranked ids only.
  sb_kb_search: ['kb_article_translations'],
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

describe('schema rules (ARCHITECTURE.md)', () => {
  it('has organization_id on every public table except the listed platform tables', async () => {
    const tables = await publicTables(db);
    expect(tenant.length, 'tenant tables found in the catalog').toBeGreaterThanOrEqual(20);
    const without = tables.filter((t) => !t.hasOrganizationId).map((t) => t.name);
    const unlisted = without.filter((t) => !PLATFORM_TABLES.includes(t));
    expect(unlisted, 'tables without organization_id that are not on the platform allow-list (test/catalog.ts): add organization_id, or review and list them').toEqual([]);
  });

  it('declares organization_id NOT NULL on every tenant table', async () => {
    const rows = await q<{ table: string; not_null: boolean }>(
      `SELECT c.relname AS table, a.attnotnull AS not_null FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace AND a.attname = 'organization_id'`,
      [tenant],
    );
    expect(rows).toHaveLength(tenant.length);
    expect(rows.filter((r) => !r.not_null).map((r) => r.table), 'organization_id nullable').toEqual([]);
  });

  it('puts organization_id first in every primary key, unique constraint and unique index (partial and expression ones too)', async () => {
    const rows = await q<{ table: string; index: string; primary: boolean; first: string | null; def: string }>(
      `SELECT c.relname AS table, ic.relname AS index, i.indisprimary AS primary, pg_get_indexdef(i.indexrelid) AS def,
              (SELECT a.attname::text FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = i.indkey[0] AND i.indkey[0] <> 0) AS first
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_class ic ON ic.oid = i.indexrelid
        WHERE c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace AND i.indisunique`,
      [tenant],
    );
    const withPk = new Set(rows.filter((r) => r.primary).map((r) => r.table));
    expect(tenant.filter((t) => !withPk.has(t)), 'tenant tables without a primary key').toEqual([]);
    expect(rows.filter((r) => r.first !== 'organization_id' && !REVIEWED_PLATFORM_UNIQUES.includes(r.index)).map((r) => `${r.table}: ${r.def}`), 'unique indexes not led by organization_id').toEqual([]);
    // The cases the rule is easy to forget on are really looked at.
    const names = rows.map((r) => r.index);
    expect(names).toEqual(expect.arrayContaining(['customers_email_key', 'invitations_pending_email_key', ...REVIEWED_PLATFORM_UNIQUES]));
  });

  it('includes organization_id, matched to organization_id, in every foreign key that references a tenant table', async () => {
    const rows = await q<{ name: string; table: string; ref: string; pairs: string[] }>(
      `SELECT con.conname::text AS name, cl.relname::text AS table, rf.relname::text AS ref,
              ARRAY(SELECT a.attname::text || '=' || b.attname::text
                      FROM unnest(con.conkey, con.confkey) WITH ORDINALITY k(n, m, i)
                      JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n
                      JOIN pg_attribute b ON b.attrelid = con.confrelid AND b.attnum = k.m ORDER BY k.i) AS pairs
         FROM pg_constraint con JOIN pg_class cl ON cl.oid = con.conrelid JOIN pg_class rf ON rf.oid = con.confrelid
        WHERE con.contype = 'f' AND rf.relname = ANY($1) AND rf.relnamespace = 'public'::regnamespace`,
      [tenant],
    );
    expect(rows.length, 'foreign keys between tenant tables').toBeGreaterThanOrEqual(10);
    const bad = rows.filter((r) => !r.pairs.includes('organization_id=organization_id'));
    expect(bad.map((r) => `${r.name} (${r.table} -> ${r.ref}: ${r.pairs.join(', ')})`), 'foreign keys that could point into another organization').toEqual([]);
  });

  it('enables and forces row-level security on every tenant table, with the nullif(app.org_id) policy for USING and WITH CHECK', async () => {
    const rls = await q<{ table: string; enabled: boolean; forced: boolean }>(
      `SELECT relname AS table, relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class
        WHERE relname = ANY($1) AND relnamespace = 'public'::regnamespace`,
      [[...tenant, 'organizations']],
    );
    expect(rls.filter((r) => !r.enabled || !r.forced).map((r) => `${r.table} enabled=${r.enabled} forced=${r.forced}`), 'RLS not enabled and forced').toEqual([]);
    expect(rls).toHaveLength(tenant.length + 1);

    const policies = await q<{ table: string; name: string; cmd: string; permissive: boolean; to_app: boolean; using: string | null; check: string | null }>(
      `SELECT c.relname AS table, p.polname::text AS name, p.polcmd::text AS cmd, p.polpermissive AS permissive,
              (0 = ANY (p.polroles) OR (SELECT oid FROM pg_roles WHERE rolname = $2) = ANY (p.polroles)) AS to_app,
              pg_get_expr(p.polqual, p.polrelid) AS using, pg_get_expr(p.polwithcheck, p.polrelid) AS check
         FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid
        WHERE c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace`,
      [[...tenant, 'organizations'], APP_ROLE],
    );
    for (const t of [...tenant, 'organizations']) {
      const mine = policies.filter((p) => p.table === t);
      const pattern = tenantPolicy(t === 'organizations' ? 'id' : 'organization_id');
      const tenantOnes = mine.filter((p) => p.permissive && p.cmd === '*' && p.to_app && pattern.test(p.using ?? '') && pattern.test(p.check ?? ''));
      expect(tenantOnes.length, `${t}: a permissive policy for all commands with USING and WITH CHECK on app.org_id via nullif; found ${JSON.stringify(mine)}`).toBe(1);
      // Every other permissive policy widens access: it must be listed above, and may only read.
      for (const p of mine.filter((x) => x.permissive && !tenantOnes.includes(x))) {
        expect(EXTRA_POLICIES, `${t}.${p.name} is an extra permissive policy (${p.using}); review it and list it in EXTRA_POLICIES`).toContain(`${t}.${p.name}`);
        expect(p.cmd, `${t}.${p.name} must be SELECT-only`).toBe('r');
      }
    }
  });

  it('runs the application as a role that is not superuser, has no BYPASSRLS, inherits nothing and owns no table', async () => {
    const [role] = await q<{ rolsuper: boolean; rolbypassrls: boolean; rolcreaterole: boolean; rolcreatedb: boolean }>(
      `SELECT rolsuper, rolbypassrls, rolcreaterole, rolcreatedb FROM pg_roles WHERE rolname = $1`,
      [APP_ROLE],
    );
    expect(role, `role ${APP_ROLE} exists`).toBeDefined();
    expect(role, `${APP_ROLE} must be neither superuser nor BYPASSRLS (nor create roles or databases)`).toEqual({ rolsuper: false, rolbypassrls: false, rolcreaterole: false, rolcreatedb: false });
    const memberOf = await q(`SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.roleid WHERE m.member = (SELECT oid FROM pg_roles WHERE rolname = $1)`, [APP_ROLE]);
    expect(memberOf, `roles ${APP_ROLE} is a member of (it would inherit their rights)`).toEqual([]);
    const owned = await q<{ relname: string }>(
      `SELECT relname FROM pg_class WHERE relowner = (SELECT oid FROM pg_roles WHERE rolname = $1) AND relnamespace = 'public'::regnamespace`,
      [APP_ROLE],
    );
    expect(owned.map((r) => r.relname), `objects owned by ${APP_ROLE} (an owner may disable its RLS)`).toEqual([]);
    const owners = await q<{ table: string; owner: string }>(
      `SELECT relname AS table, pg_get_userbyid(relowner) AS owner FROM pg_class WHERE relname = ANY($1) AND relnamespace = 'public'::regnamespace`,
      [tenant],
    );
    expect(owners.filter((o) => o.owner === APP_ROLE)).toEqual([]);
    // TRUNCATE ignores row-level security; TRIGGER would let the role run code on other tenants' rows.
    const rights = await q<{ table: string; truncate: boolean; trigger: boolean }>(
      `SELECT t AS table, has_table_privilege($2, 'public.' || t, 'TRUNCATE') AS truncate, has_table_privilege($2, 'public.' || t, 'TRIGGER') AS trigger
         FROM unnest($1::text[]) t`,
      [tenant, APP_ROLE],
    );
    expect(rights.filter((r) => r.truncate || r.trigger).map((r) => r.table), 'tenant tables the runtime role may TRUNCATE or add triggers to').toEqual([]);
    const [schemaRights] = await q<{ create: boolean }>(`SELECT has_schema_privilege($1, 'public', 'CREATE') AS create`, [APP_ROLE]);
    expect(schemaRights.create, `${APP_ROLE} may create objects in public`).toBe(false);
  });

  it('has no view, materialized view or SECURITY DEFINER function in public that would read tenant rows past RLS', async () => {
    const views = await q<{ name: string; kind: string; invoker: boolean }>(
      `SELECT relname AS name, relkind::text AS kind, coalesce('security_invoker=true' = ANY (reloptions) OR 'security_invoker=on' = ANY (reloptions), false) AS invoker
         FROM pg_class WHERE relnamespace = 'public'::regnamespace AND relkind IN ('v', 'm')`,
    );
    expect(views.filter((v) => v.kind === 'm' || !v.invoker).map((v) => v.name), 'views run as their owner unless security_invoker; materialized views have no RLS').toEqual([]);
    const definers = await q<{ name: string; config: string[] | null; public_exec: boolean; app_exec: boolean; body: string }>(
      `SELECT proname AS name, proconfig AS config, prosrc AS body,
              has_function_privilege('public', p.oid, 'EXECUTE') AS public_exec, has_function_privilege($1, p.oid, 'EXECUTE') AS app_exec
         FROM pg_proc p WHERE pronamespace = 'public'::regnamespace AND prosecdef`,
      [APP_ROLE],
    );
    expect(definers.map((f) => f.name).filter((n) => !REVIEWED_DEFINERS.includes(n)), 'SECURITY DEFINER functions run as their owner, past RLS: review and list them').toEqual([]);
    for (const f of definers) {
      expect(f.config ?? [], `${f.name}: a fixed search_path`).toEqual(expect.arrayContaining([expect.stringMatching(/^search_path=pg_catalog/)]));
      expect(f.public_exec, `${f.name}: not executable by PUBLIC`).toBe(false);
      expect(f.app_exec, `${f.name}: executable by the runtime role`).toBe(true);
      // It reads no tenant table, or only the reviewed ones, scoped by app.org_id.
      const reads = DEFINER_TENANT_READS[f.name] ?? [];
      for (const t of tenant.filter((t) => !reads.includes(t))) expect(f.body, `${f.name} reads ${t}`).not.toMatch(new RegExp(`\\b${t}\\b`));
      if (reads.length) {
        // The organization is the transaction's tenant, the first value of the one query, and nothing else.
        expect(f.body, `${f.name}: the organization comes from app.org_id`).toMatch(/org uuid := nullif\(current_setting\('app\.org_id', true\), ''\)::uuid;/);
        expect(f.body).toMatch(/IF org IS NULL THEN\s+RETURN;/);
        expect(f.body.match(/organization_id\s*=\s*[^\s';]+/g), `${f.name}: one organization condition, on $1`).toEqual(['organization_id = $1']);
        expect(f.body).toMatch(/USING org,/);
      }
    }
  });

  it('puts users, sessions and user_tokens behind forced RLS keyed on app.user_id, and keeps password_hash from the runtime role', async () => {
    const rls = await q<{ table: string; enabled: boolean; forced: boolean }>(
      `SELECT relname AS table, relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class WHERE relname = ANY($1) AND relnamespace = 'public'::regnamespace`,
      [ACCOUNT_TABLES],
    );
    expect(rls.filter((r) => r.enabled && r.forced).map((r) => r.table).sort()).toEqual([...ACCOUNT_TABLES].sort());
    const policies = await q<{ table: string; name: string; cmd: string; using: string }>(
      `SELECT c.relname AS table, p.polname::text AS name, p.polcmd::text AS cmd, pg_get_expr(p.polqual, p.polrelid) AS using
         FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relname = ANY($1) AND c.relnamespace = 'public'::regnamespace`,
      [ACCOUNT_TABLES],
    );
    for (const p of policies) {
      // Every policy is keyed on the user who is set, or (users, read-only) the organization that is set.
      const keyed = /current_setting\('app\.user_id'::text, true\)/.test(p.using) || (p.table === 'users' && p.cmd === 'r' && /app\.org_id/.test(p.using));
      expect(keyed, `${p.table}.${p.name}: ${p.using}`).toBe(true);
    }
    expect(policies.map((p) => `${p.table}.${p.name}`).sort()).toEqual(['sessions.own_sessions', 'user_tokens.own_tokens', 'users.co_members', 'users.own_user']);
    const [cols] = await q<{ hash: boolean; email: boolean }>(
      `SELECT has_column_privilege($1, 'public.users', 'password_hash', 'SELECT') AS hash, has_column_privilege($1, 'public.users', 'email', 'SELECT') AS email`,
      [APP_ROLE],
    );
    expect(cols).toEqual({ hash: false, email: true });
  });

  it('has every column of the Drizzle tables in src/db/schema.ts, with the same type and nullability', async () => {
    const drizzleTables = Object.values(schema as Record<string, unknown>).filter((v): v is PgTable => is(v, PgTable));
    expect(drizzleTables.length).toBeGreaterThanOrEqual(10);
    const dbCols = await q<{ table: string; name: string; type: string; not_null: boolean }>(
      `SELECT c.relname::text AS table, a.attname::text AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null
         FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
        WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped`,
    );
    const pks = await q<{ table: string; cols: string[] }>(
      `SELECT c.relname::text AS table,
              ARRAY(SELECT a.attname::text FROM unnest(i.indkey::int2[]) WITH ORDINALITY k(n, o) JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.n ORDER BY k.o) AS cols
         FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'public'::regnamespace AND i.indisprimary`,
    );
    const problems: string[] = [];
    for (const table of drizzleTables) {
      const cfg = getTableConfig(table);
      if (cfg.schema && cfg.schema !== 'public') continue;
      const inDb = dbCols.filter((c) => c.table === cfg.name);
      if (inDb.length === 0) {
        problems.push(`${cfg.name}: table missing in the database`);
        continue;
      }
      for (const col of cfg.columns) {
        const d = inDb.find((c) => c.name === col.name);
        if (!d) problems.push(`${cfg.name}.${col.name}: column missing in the database`);
        else {
          if (d.not_null !== col.notNull) problems.push(`${cfg.name}.${col.name}: Drizzle notNull=${col.notNull}, database NOT NULL=${d.not_null}`);
          if (d.type !== col.getSQLType()) problems.push(`${cfg.name}.${col.name}: Drizzle type ${col.getSQLType()}, database type ${d.type}`);
        }
      }
      const drizzlePk = cfg.primaryKeys[0]?.columns.map((c) => c.name) ?? cfg.columns.filter((c) => c.primary).map((c) => c.name);
      const dbPk = pks.find((p) => p.table === cfg.name)?.cols ?? [];
      if (drizzlePk.join(',') !== dbPk.join(',')) problems.push(`${cfg.name}: Drizzle primary key (${drizzlePk}) but database (${dbPk})`);
    }
    expect(problems, 'src/db/schema.ts out of step with src/db/migrations').toEqual([]);
  });
});
