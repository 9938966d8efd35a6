// Catalog helpers shared by the database-layer isolation tests (db-isolation, schema-rules, pooling).
// Tenant tables are found in pg_catalog, never listed by hand, so a table added later is covered the day it lands.
import type { Database } from '../src/db/index.js';

/**
 * The only public tables that are not tenant tables. Everything else in the public schema must carry
 * organization_id and obey the tenant rules. Adding a name here is a reviewed decision (ARCHITECTURE.md,
 * "Schema rules"): a platform table is readable by the runtime role without a tenant.
 * processed_webhook_events has an (informational, nullable) organization_id but is a platform dedupe table.
 * users, sessions and user_tokens are account tables under RLS keyed on app.user_id (schema-rules holds them to it).
 */
export const PLATFORM_TABLES = ['organizations', 'users', 'sessions', 'user_tokens', 'processed_webhook_events', 'schema_migrations'];

/** Account tables: RLS enabled and forced, policies keyed on app.user_id (users also: co-members of app.org_id). */
export const ACCOUNT_TABLES = ['users', 'sessions', 'user_tokens'];

export interface TableInfo {
  name: string;
  hasOrganizationId: boolean;
}

/**
 * Every base (or partitioned) table of the public schema. Partitions are left out: they are reached only
 * through their parent (whose rules they inherit; the runtime role holds no privilege on them).
 */
export async function publicTables(db: Database): Promise<TableInfo[]> {
  const rows = await db.owner.query<{ name: string; has_org: boolean }>(
    `SELECT c.relname AS name,
            EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'organization_id' AND NOT a.attisdropped) AS has_org
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      ORDER BY c.relname`,
  );
  return rows.map((r) => ({ name: r.name, hasOrganizationId: r.has_org }));
}

/** Every public table with an organization_id column, except the platform allow-list. */
export async function tenantTables(db: Database): Promise<string[]> {
  return (await publicTables(db)).filter((t) => t.hasOrganizationId && !PLATFORM_TABLES.includes(t.name)).map((t) => t.name);
}

/** A PostgreSQL error's SQLSTATE and message, looking through Drizzle's DrizzleQueryError wrapper. */
export function pgError(err: unknown): { code?: string; message: string } {
  let e: any = err;
  for (let i = 0; e && i < 5; i++) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return { code: e.code, message: String(e.message) };
    e = e.cause;
  }
  return { message: String((err as Error)?.message ?? err) };
}

/** Runs fn and returns the database error it raised; fails when it raised none. */
export async function refusal(fn: () => Promise<unknown>, what: string): Promise<{ code?: string; message: string }> {
  try {
    await fn();
  } catch (err) {
    return pgError(err);
  }
  throw new Error(`expected the database to refuse: ${what}`);
}
