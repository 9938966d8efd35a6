import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import { inProcessBus, type Bus } from './bus.js';

/**
 * The bus for this process. In-process for now: one server with its in-process worker.
 * Fan-out across processes (PostgreSQL LISTEN/NOTIFY, Redis pub/sub with REDIS_URL) plugs in here.
 */
export async function createBus(_config: Config, _db: Database): Promise<Bus> {
  return inProcessBus();
}
