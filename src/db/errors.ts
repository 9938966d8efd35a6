// PostgreSQL errors as the services need to tell them apart, looking through the driver's and
// Drizzle's wrappers (Drizzle's DrizzleQueryError carries the driver's error as `cause`).

/** The SQLSTATE of a PostgreSQL error, or undefined for anything else. */
export function pgErrorCode(err: unknown): string | undefined {
  for (let e: any = err, i = 0; e && i < 5; i++, e = e.cause) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

/** The error of SQLSTATE `code` among err and its causes, or undefined. */
function errorWithCode(err: unknown, code: string): any {
  for (let e: any = err, i = 0; e && i < 5; i++, e = e.cause) {
    if (e.code === code) return e;
  }
  return undefined;
}

/** unique_violation (23505), optionally of one constraint. */
export function isUniqueViolation(err: unknown, constraint?: string) {
  const e = errorWithCode(err, '23505');
  return !!e && (!constraint || e.constraint === constraint || e.constraint_name === constraint || String(e.message ?? '').includes(constraint));
}

/** invalid_sql_statement_name (26000) for one of the scope's named statements: a pooler lost it between transactions. */
export function isLostScopeStatement(err: unknown) {
  const e = errorWithCode(err, '26000');
  return !!e && /"sb_scope(_read)?"/.test(String(e.message ?? ''));
}

/** deadlock_detected (40P01) or serialization_failure (40001): the transaction was rolled back and may simply be run again. */
export function isTransientConflict(err: unknown) {
  const code = pgErrorCode(err);
  return code === '40P01' || code === '40001';
}

/**
 * Runs a whole transaction again when PostgreSQL rolled it back for a deadlock or a serialization
 * failure (a short, growing pause between tries); any other error, or the last try's, is thrown.
 */
export async function retryTransient<T>(run: () => Promise<T>, tries = 4): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await run();
    } catch (err) {
      if (attempt >= tries || !isTransientConflict(err)) throw err;
      await new Promise((r) => setTimeout(r, 10 * attempt + Math.random() * 20 * attempt));
    }
  }
}
