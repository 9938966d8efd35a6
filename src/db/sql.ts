import { sql, type SQL } from 'drizzle-orm';
import type { Tx } from './index.js';

// Typed helpers for the raw SQL that Drizzle's builder does not express (bulk unnest/jsonb_to_recordset
// writes, CTE pipelines). Every statement still runs in the caller's scoped transaction.

/** A JS array as ONE parameter (drizzle's sql`` would otherwise expand it into a list). */
export const arr = (v: unknown[]) => sql.param(v);

/** The rows of a `tx.execute` result (both drivers return `{ rows }`). */
export const rowsOf = <T>(result: unknown) => (result as { rows: T[] }).rows;

/** Runs a raw statement in the transaction and returns its rows, typed by the caller. */
export async function query<T = Record<string, unknown>>(tx: Tx, statement: SQL): Promise<T[]> {
  return rowsOf<T>(await tx.execute(statement));
}

/** Runs a raw statement and returns its first row (or undefined). */
export async function queryOne<T = Record<string, unknown>>(tx: Tx, statement: SQL): Promise<T | undefined> {
  return (await query<T>(tx, statement))[0];
}
