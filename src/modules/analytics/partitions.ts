import { sql } from 'drizzle-orm';
import type { Database } from '../../db/index.js';
import { query } from '../../db/sql.js';

/** Months kept created ahead of the current one. */
export const PARTITION_MONTHS_AHEAD = 2;
const EVERY_MS = 6 * 60 * 60 * 1000;

/**
 * Creates analytics_events' monthly partitions for the current month and the next ones (DDL, so the
 * owner's: the one reviewed system call of this module; it reads and writes no organization's rows
 * except moving default-partition rows of a new month into it). Returns how many were created.
 */
export async function ensureEventPartitions(db: Database): Promise<number> {
  const [row] = await db.withSystem('event-partitions', (tx) => query<{ made: number }>(tx, sql`select sb_event_partitions(${PARTITION_MONTHS_AHEAD}) as made`));
  return Number(row?.made ?? 0);
}

/** The worker's partition upkeep: now, then every six hours. Returns the stop function. */
export function startPartitionUpkeep(db: Database, onError: (err: unknown) => void): () => void {
  let stopped = false;
  const tick = () => void ensureEventPartitions(db).catch((err) => !stopped && onError(err));
  const first = setTimeout(tick, 0);
  const timer = setInterval(tick, EVERY_MS);
  first.unref?.();
  timer.unref?.();
  return () => {
    stopped = true;
    clearTimeout(first);
    clearInterval(timer);
  };
}
