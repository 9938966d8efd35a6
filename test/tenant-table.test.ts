// sb_tenant_table(regclass) (0008_cleanup.sql): the one call a migration makes to put a new table under
// the standard tenant rules. It must produce exactly what 0006_sending.sql wrote by hand (compared with
// suppressions in the catalog) and hold organizations apart for the runtime role.
import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { APP_ROLE, type Database } from '../src/db/index.js';
import { createTestDatabase, type TestDatabase } from './helpers.js';

let tdb: TestDatabase;
let db: Database;
const A = randomUUID();
const B = randomUUID();

beforeAll(async () => {
  tdb = await createTestDatabase();
  db = tdb.db;
  await db.owner.query(`INSERT INTO organizations (id, name) VALUES ($1, 'A'), ($2, 'B')`, [A, B]);
  await db.owner.exec(`
    CREATE TABLE helper_notes (
      organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
      id uuid NOT NULL DEFAULT gen_random_uuid(),
      note text NOT NULL,
      PRIMARY KEY (organization_id, id)
    );
    SELECT sb_tenant_table('helper_notes');`);
});
afterAll(async () => {
  await db?.owner.exec('DROP TABLE IF EXISTS helper_notes');
  await tdb?.close();
});

const q = <T = Record<string, any>>(text: string, params?: unknown[]) => db.owner.query<T>(text, params);

/** RLS flags, policies (as pg_get_expr prints them) and the runtime role's rights on a table. */
async function rulesOf(table: string) {
  const [flags] = await q(`SELECT relrowsecurity AS enabled, relforcerowsecurity AS forced FROM pg_class WHERE oid = $1::regclass`, [table]);
  const policies = await q(
    `SELECT polname::text AS name, polcmd::text AS cmd, polpermissive AS permissive, polroles::text AS roles,
            pg_get_expr(polqual, polrelid) AS using, pg_get_expr(polwithcheck, polrelid) AS check
       FROM pg_policy WHERE polrelid = $1::regclass ORDER BY polname`,
    [table],
  );
  const rights: Record<string, boolean> = {};
  for (const p of ['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER', 'REFERENCES']) {
    rights[p] = (await q<{ ok: boolean }>(`SELECT has_table_privilege($1, $2::regclass, $3) AS ok`, [APP_ROLE, table, p]))[0].ok;
  }
  return { flags, policies, rights };
}

describe('sb_tenant_table', () => {
  it('gives a table exactly the rules 0006_sending.sql wrote by hand for suppressions', async () => {
    const made = await rulesOf('helper_notes');
    expect(made.flags).toEqual({ enabled: true, forced: true });
    expect(made.policies).toHaveLength(1);
    expect(made.rights).toEqual({ SELECT: true, INSERT: true, UPDATE: true, DELETE: true, TRUNCATE: false, TRIGGER: false, REFERENCES: false });
    expect(made).toEqual(await rulesOf('suppressions'));
  });

  it('keeps organizations apart for the runtime role', async () => {
    await db.withTenant(A, (tx) => tx.execute(sql`insert into helper_notes (organization_id, note) values (${A}, 'for A')`));
    expect(await db.withTenant(B, (tx) => tx.execute(sql`select * from helper_notes`)).then((r: any) => r.rows)).toEqual([]);
    expect((await db.withTenant(A, (tx) => tx.execute(sql`select note from helper_notes`)).then((r: any) => r.rows))).toEqual([{ note: 'for A' }]);
    // B cannot write a row into A, nor change or delete A's.
    await expect(db.withTenant(B, (tx) => tx.execute(sql`insert into helper_notes (organization_id, note) values (${A}, 'forged')`))).rejects.toThrow();
    await db.withTenant(B, (tx) => tx.execute(sql`update helper_notes set note = 'changed'`));
    await db.withTenant(B, (tx) => tx.execute(sql`delete from helper_notes`));
    expect(await q(`SELECT organization_id::text AS org, note FROM helper_notes`)).toEqual([{ org: A, note: 'for A' }]);
  });

  it('refuses a table without organization_id, and the runtime role cannot call it', async () => {
    await db.owner.exec(`CREATE TABLE helper_platform (id uuid PRIMARY KEY)`);
    try {
      await expect(db.owner.exec(`SELECT sb_tenant_table('helper_platform')`)).rejects.toThrow(/organization_id/);
    } finally {
      await db.owner.exec(`DROP TABLE helper_platform`);
    }
    const [r] = await q<{ ok: boolean }>(`SELECT has_function_privilege($1, 'sb_tenant_table(regclass)', 'EXECUTE') AS ok`, [APP_ROLE]);
    expect(r.ok).toBe(false);
  });
});
