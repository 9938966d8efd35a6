import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema.js';
import { migrate, type OwnerExecutor } from './migrate.js';

export { schema };
export type { Role } from './schema.js';
export type Schema = typeof schema;
/** A transaction scoped to one organization (or to no tenant at all). The only handle services receive. */
export type Tx = PgTransaction<PgQueryResultHKT, Schema, any>;
type Drizzle = PgDatabase<PgQueryResultHKT, Schema>;

export const APP_ROLE = 'switchboard_app';

/**
 * Every reason code that may run a query as the owner, bypassing row-level security.
 * test/with-system.test.ts holds the call sites of withSystem against this list.
 */
export const SYSTEM_REASONS = [
  'seed-demo',
  'bench-setup',
  // Claiming due jobs across organizations; each job then runs inside withTenant (src/jobs).
  'job-scheduler',
  // Finding which organization a provider's email event belongs to, by our message id.
  'resolve-email-webhook',
] as const;
export type SystemReason = (typeof SYSTEM_REASONS)[number];

export interface Scope {
  organizationId?: string | null;
  userId?: string | null;
  userEmail?: string | null;
}

export interface Database {
  kind: 'pglite' | 'postgres';
  /** Runs fn in a transaction as the runtime role with app.org_id set: only that organization's rows exist. */
  withTenant<T>(organizationId: string, fn: (tx: Tx) => Promise<T>, scope?: Omit<Scope, 'organizationId'>): Promise<T>;
  /** Runs fn as the runtime role with only a user (and no organization) set: their memberships, no tenant rows. */
  withUser<T>(user: { id: string; email?: string }, fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Runs fn as the runtime role with nothing set: platform tables only (sign-up, sign-in), zero tenant rows. */
  withPlatform<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** Owner access that bypasses RLS. Narrow by design: every reason is on an allow-list checked by a test. */
  withSystem<T>(reason: SystemReason, fn: (tx: Tx) => Promise<T>): Promise<T>;
  owner: OwnerExecutor;
  ping(): Promise<boolean>;
  close(): Promise<void>;
}

export interface OpenOptions {
  databaseUrl?: string;
  dataDir?: string;
  /** In-memory PGlite (tests). */
  memory?: boolean;
  poolSize?: number;
  migrate?: boolean;
}

// The one place the tenant is set (on Citus this becomes a validated SET LOCAL with
// citus.propagate_set_commands = 'local'). set_config(..., true) is transaction-local,
// so nothing survives into a pooled connection's next use. Besides the with* helpers below only the
// auth module calls it, to narrow one request's transaction from a session to that user's membership.
export async function setScope(tx: Tx, scope: Scope) {
  await tx.execute(
    sql`select set_config('role', ${APP_ROLE}, true),
      set_config('app.org_id', ${scope.organizationId ?? ''}, true),
      set_config('app.user_id', ${scope.userId ?? ''}, true),
      set_config('app.user_email', ${scope.userEmail ?? ''}, true)`,
  );
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  let db: Drizzle;
  let owner: OwnerExecutor;
  let close: () => Promise<void>;
  let kind: Database['kind'];

  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
    // An idle client's error (server restart) must not crash the process; the pool drops it.
    pool.on('error', () => {});
    db = drizzlePg({ client: pool, schema }) as unknown as Drizzle;
    owner = {
      async exec(text) {
        await pool.query(text);
      },
      async query(text, params) {
        return (await pool.query(text, params as any[])).rows;
      },
    };
    close = () => pool.end();
    kind = 'postgres';
  } else {
    let client: PGlite;
    if (opts.memory) client = await PGlite.create();
    else {
      mkdirSync(opts.dataDir!, { recursive: true });
      client = await PGlite.create(opts.dataDir!);
    }
    db = drizzlePglite({ client, schema }) as unknown as Drizzle;
    owner = {
      async exec(text) {
        await client.exec(text);
      },
      async query(text, params) {
        return (await client.query(text, params as any[])).rows as any[];
      },
    };
    close = () => client.close();
    kind = 'pglite';
  }

  if (opts.migrate !== false) await migrate(owner);

  const scoped = <T>(scope: Scope, fn: (tx: Tx) => Promise<T>) =>
    db.transaction(async (tx) => {
      await setScope(tx as Tx, scope);
      return fn(tx as Tx);
    });

  return {
    kind,
    owner,
    withTenant(organizationId, fn, extra) {
      if (!organizationId) throw new Error('withTenant needs an organization id');
      return scoped({ ...extra, organizationId }, fn);
    },
    withUser(user, fn) {
      return scoped({ userId: user.id, userEmail: user.email }, fn);
    },
    withPlatform(fn) {
      return scoped({}, fn);
    },
    withSystem(reason, fn) {
      if (!SYSTEM_REASONS.includes(reason)) throw new Error(`withSystem: unknown reason ${reason}`);
      return db.transaction((tx) => fn(tx as Tx));
    },
    async ping() {
      try {
        await owner.query('select 1');
        return true;
      } catch {
        return false;
      }
    },
    close,
  };
}
