import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const migrationsDir = path.join(path.dirname(fileURLToPath(import.meta.url)), 'migrations');

/** The owner connection's ability to run SQL: parameterless multi-statement scripts, and single parameterised queries. */
export interface OwnerExecutor {
  exec(sqlText: string): Promise<void>;
  query<T = Record<string, unknown>>(sqlText: string, params?: unknown[]): Promise<T[]>;
}

/**
 * Applies the committed SQL migrations in file-name order, each in its own transaction,
 * recording them in schema_migrations. A lock keeps two processes from migrating at once.
 */
export async function migrate(db: OwnerExecutor): Promise<string[]> {
  await db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`);
  const files = readdirSync(migrationsDir).filter((f) => f.endsWith('.sql')).sort();
  const applied: string[] = [];
  for (const file of files) {
    const body = readFileSync(path.join(migrationsDir, file), 'utf8');
    // pg_advisory_xact_lock serialises concurrent migrators; the check happens under the lock.
    await db.exec(`BEGIN; SELECT pg_advisory_xact_lock(727274);`);
    try {
      const done = await db.query(`SELECT 1 FROM schema_migrations WHERE name = $1`, [file]);
      if (done.length === 0) {
        await db.exec(body);
        await db.query(`INSERT INTO schema_migrations (name) VALUES ($1)`, [file]);
        applied.push(file);
      }
      await db.exec('COMMIT');
    } catch (err) {
      await db.exec('ROLLBACK');
      throw new Error(`Migration ${file} failed: ${(err as Error).message}`, { cause: err });
    }
  }
  return applied;
}
