import { mkdirSync } from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { sql } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT, PgTransaction } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import pg from 'pg';
import * as schema from './schema.js';
import { isLostScopeStatement } from './errors.js';
import { migrate, type OwnerExecutor } from './migrate.js';
import { beginWithFirstQuery, scopedReader, type Statement } from './pg-begin.js';

export { schema };
export type { GrantableRole, Role } from './schema.js';
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
  // Claiming due jobs across organizations; each job then runs inside withTenant (src/jobs).
  'job-scheduler',
  // Finding which organization a provider's email event belongs to, by our message id.
  'resolve-email-webhook',
  // Finding which organization a Twilio webhook belongs to (by AccountSid or by the number called) and its auth token.
  'resolve-twilio-webhook',
  // Finding which organization a Shopify webhook belongs to, by the shop domain (after the HMAC is checked).
  'resolve-shopify-webhook',
  // Finding which organization a Stripe event belongs to, by its Stripe customer id or a checkout's
  // client_reference_id (after the signature is checked); the change then runs inside withTenant.
  'resolve-stripe-webhook',
  // Creating analytics_events' monthly partitions ahead of time (DDL: the owner's); reads no tenant row.
  'event-partitions',
  // Finding which organization a public help center address (/help/<slug>) names, by its slug; the pages are
  // then read inside withTenant (knowledge-base/public.ts).
  'resolve-help-center',
] as const;
export type SystemReason = (typeof SYSTEM_REASONS)[number];

export interface Scope {
  organizationId?: string | null;
  userId?: string | null;
  userEmail?: string | null;
  /**
   * Reads only: the statements run with transaction_read_only on (a write fails). On PostgreSQL each
   * statement carries the scope and is its own implicit transaction: no BEGIN or COMMIT round trips.
   */
  readOnly?: boolean;
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
  /**
   * PostgreSQL: send the scope as a named prepared statement, parsed and planned once per connection (default).
   * Off for a pooler that cannot keep named statements (PgBouncer before 1.21, or without max_prepared_statements).
   */
  preparedScope?: boolean;
  migrate?: boolean;
}

// The one place the tenant is set (on Citus this becomes a validated SET LOCAL with
// citus.propagate_set_commands = 'local'). set_config(..., true) is transaction-local,
// so nothing survives into a pooled connection's next use. Besides the with* helpers below only the
// auth module calls it, to narrow one request's transaction from a session to that user's membership.

/**
 * The settings a scope makes, each with set_config(…, true): the runtime role, the tenant and user, and for a
 * read-only scope transaction_read_only, so a statement that writes fails instead of changing anything.
 */
function scopeSettings(scope: Scope): [name: string, value: string][] {
  const settings: [string, string][] = [
    ['role', APP_ROLE],
    ['app.org_id', scope.organizationId ?? ''],
    ['app.user_id', scope.userId ?? ''],
    ['app.user_email', scope.userEmail ?? ''],
  ];
  if (scope.readOnly) settings.push(['transaction_read_only', 'on']);
  return settings;
}

/**
 * The scope as one statement with bound parameters, for the pg driver's pipelined statements (src/db/pg-begin.ts).
 * It has two texts in all (read-only or not), so when `prepared` each is a named statement: PostgreSQL parses and
 * plans it once per connection instead of on every request.
 */
function scopeStatement(scope: Scope, prepared: boolean): Statement {
  const settings = scopeSettings(scope);
  return {
    text: `select ${settings.map(([name], i) => `set_config('${name}', $${i + 1}, true)`).join(', ')}`,
    values: settings.map(([, value]) => value),
    ...(prepared ? { name: scope.readOnly ? 'sb_scope_read' : 'sb_scope' } : {}),
  };
}

export async function setScope(tx: Tx, scope: Scope) {
  await tx.execute(sql`select ${sql.join(scopeSettings(scope).map(([name, value]) => sql`set_config(${sql.raw(`'${name}'`)}, ${value}, true)`), sql`, `)}`);
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  let db: Drizzle;
  let owner: OwnerExecutor;
  /** Runs fn in one transaction, scoped when a scope is given (the owner's, unscoped, for withSystem). */
  let transact: <T>(scope: Scope | null, fn: (tx: Tx) => Promise<T>) => Promise<T>;
  let close: () => Promise<void>;
  let kind: Database['kind'];

  if (opts.databaseUrl) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: opts.poolSize ?? 10 });
    let prepared = opts.preparedScope ?? true;
    /**
     * A pooler that does not keep named statements across its server connections (PgBouncer before 1.21, or
     * with max_prepared_statements = 0) loses the scope's statement between transactions: the first such error
     * sends the scope unnamed from then on and says so once. The requests that met it failed without running.
     */
    const noteLostScope = (err: unknown) => {
      if (!prepared || !isLostScopeStatement(err)) return;
      prepared = false;
      process.emitWarning(
        'The scope statement prepared on this connection was not found on the server: DATABASE_URL goes through a pooler that does not keep named statements (PgBouncer before 1.21, or max_prepared_statements = 0). The scope is sent unnamed from now on; set DATABASE_PREPARED_SCOPE=false to start that way.',
        { code: 'SB_PREPARED_SCOPE' },
      );
    };
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
    // One Drizzle handle per pooled connection, reused: building one per request costs more than the query.
    const handles = new WeakMap<pg.PoolClient, Drizzle>();
    const handleFor = (client: pg.PoolClient) => {
      let h = handles.get(client);
      if (!h) {
        h = drizzlePg({ client, schema }) as unknown as Drizzle;
        // The handle already runs inside our transaction, where a nested BEGIN/COMMIT would end it
        // early: a nested transaction is a savepoint, as in Drizzle's own transaction objects.
        let depth = 0;
        const handle = h;
        (h as any).transaction = async <T>(fn: (tx: Tx) => Promise<T>) => {
          const name = `sp${++depth}`;
          await client.query(`SAVEPOINT ${name}`);
          try {
            const result = await fn(handle as unknown as Tx);
            await client.query(`RELEASE SAVEPOINT ${name}`);
            return result;
          } catch (err) {
            await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
            throw err;
          } finally {
            depth--;
          }
        };
        handles.set(client, h);
      }
      return h;
    };
    // A read-only scope: every statement carries the scope and ends at its own Sync (src/db/pg-begin.ts), one
    // round trip each and no BEGIN or COMMIT. One reader and Drizzle handle per pooled connection, reused.
    const readers = new WeakMap<pg.PoolClient, { reader: ReturnType<typeof scopedReader>; handle: Drizzle }>();
    const readerFor = (client: pg.PoolClient) => {
      let r = readers.get(client);
      if (!r) {
        const reader = scopedReader(client);
        const handle = drizzlePg({ client: reader.client as unknown as pg.PoolClient, schema }) as unknown as Drizzle;
        (handle as any).transaction = async () => {
          throw new Error('A read-only scope has no transaction to nest in');
        };
        r = { reader, handle };
        readers.set(client, r);
      }
      return r;
    };
    const read = async <T>(scope: Scope, fn: (tx: Tx) => Promise<T>) => {
      const client = await pool.connect();
      const { reader, handle } = readerFor(client);
      reader.open([scopeStatement(scope, prepared)]);
      try {
        return await fn(handle as unknown as Tx);
      } catch (err) {
        noteLostScope(err);
        throw err;
      } finally {
        reader.end();
        client.release();
      }
    };
    // BEGIN and the scope go out with the transaction's first query, in one round trip (src/db/pg-begin.ts):
    // with COMMIT that is two per single-statement request.
    transact = async (scope, fn) => {
      if (scope?.readOnly) return read(scope, fn);
      const client = await pool.connect();
      const begin = beginWithFirstQuery(client, scope ? [{ text: 'BEGIN', values: [] }, scopeStatement(scope, prepared)] : [{ text: 'BEGIN', values: [] }]);
      let broken: Error | undefined;
      try {
        const result = await fn(handleFor(client) as unknown as Tx);
        if (begin.sent()) await client.query('COMMIT');
        return result;
      } catch (err) {
        noteLostScope(err);
        if (begin.sent()) {
          try {
            await client.query('ROLLBACK');
          } catch (rollbackErr) {
            broken = rollbackErr as Error; // the connection is unusable: drop it rather than return it to the pool
          }
        }
        throw err;
      } finally {
        begin.cancel();
        client.release(broken);
      }
    };
  } else {
    let client: PGlite;
    // pg_trgm: the trigram indexes behind customer search (0016_scale.sql).
    const extensions = { pg_trgm };
    if (opts.memory) client = await PGlite.create({ extensions });
    else {
      mkdirSync(opts.dataDir!, { recursive: true });
      client = await PGlite.create({ dataDir: opts.dataDir!, extensions });
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
    transact = (scope, fn) =>
      db.transaction(async (tx) => {
        if (scope) await setScope(tx as Tx, scope);
        return fn(tx as Tx);
      });
  }

  if (opts.migrate !== false) await migrate(owner);

  const scoped = <T>(scope: Scope, fn: (tx: Tx) => Promise<T>) => transact(scope, fn);

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
      return transact(null, fn);
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
