import pg from 'pg';

/**
 * Runs fn while every query any `pg` client is handed (the server and the caller share the module) is shown
 * to `record` first, with the arguments it was given: one call is one round trip. A transaction's first
 * query carries its BEGIN and scope as `prefix` (src/db/pg-begin.ts).
 */
export async function recordPgQueries(fn: () => Promise<unknown>, record: (args: unknown[]) => void): Promise<void> {
  const proto = pg.Client.prototype as unknown as { query: (...args: unknown[]) => unknown };
  const original = proto.query;
  proto.query = function (this: unknown, ...args: unknown[]) {
    record(args);
    return original.apply(this, args);
  };
  try {
    await fn();
  } finally {
    proto.query = original;
  }
}
