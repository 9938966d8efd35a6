import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import type { Bus } from '../lib/bus.js';
import type { App, ModuleDeps } from '../http/types.js';
import type { QueueHandler } from '../jobs/queue.js';

/** What a job worker gives a module to build its handlers from. */
export interface WorkerDeps {
  db: Database;
  config: Config;
  bus: Bus;
}

/** The handlers a module runs in the job worker, and what to release when the worker stops. */
export interface ModuleJobs {
  handlers: Record<string, QueueHandler>;
  close?(): Promise<void> | void;
}

/**
 * A feature module: its routes and its job handlers, contributed through its own index.ts.
 * Nothing in http/ or jobs/ imports a module's internals; src/modules/index.ts lists the modules.
 */
export interface Module {
  name: string;
  routes?(app: App, deps: ModuleDeps): void;
  jobs?(deps: WorkerDeps): ModuleJobs;
}
