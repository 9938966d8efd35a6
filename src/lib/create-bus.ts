import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import { inProcessBus, type Bus } from './bus.js';
import { postgresBus } from './bus-postgres.js';
import { redisBus } from './bus-redis.js';

/**
 * The bus for this process: Redis pub/sub when REDIS_URL is set; else PostgreSQL LISTEN/NOTIFY when
 * the database is a PostgreSQL server (over BUS_DATABASE_URL, default DATABASE_URL — a session
 * connection); else in-process (PGlite is one process). docs/scaling.md.
 */
export async function createBus(config: Config, db: Database, log?: (msg: string, err?: unknown) => void): Promise<Bus> {
  const s = config.scaleOut;
  if (s?.redisUrl) return redisBus({ url: s.redisUrl, prefix: s.redisKeyPrefix, log });
  const url = s?.busDatabaseUrl ?? config.databaseUrl;
  if (db.kind === 'postgres' && url) return postgresBus({ url, log });
  return inProcessBus();
}
