import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import { inProcessBus, type Bus } from '../lib/bus.js';
import type { Module, ModuleJobs } from '../modules/module.js';
import { Worker, type QueueHandler, type WorkerOptions } from './queue.js';

export interface JobRunner {
  start(): JobRunner;
  /** Graceful: in-flight work finishes and is recorded; unfinished jobs go back to the queue. */
  stop(): Promise<void>;
  /** Look for due jobs now instead of at the next poll. */
  poke(): void;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The in-process job worker (null when JOBS_IN_PROCESS=false and workers run as `npm run worker`). */
    jobs: JobRunner | null;
  }
}

/**
 * The worker with every module's job handlers; the server runs one in-process, `npm run worker`
 * runs one on its own. The caller passes the modules (src/modules/index.ts): nothing here knows
 * what a queue does.
 */
export function createJobRunner(deps: { db: Database; config: Config; bus?: Bus; modules: readonly Module[]; log?: WorkerOptions['log'] }): JobRunner {
  const { db, config } = deps;
  // A worker alone in its process (tests, benches) publishes to nobody unless given the server's bus.
  const bus = deps.bus ?? inProcessBus();
  const contributed: ModuleJobs[] = [];
  const handlers: Record<string, QueueHandler> = {};
  for (const m of deps.modules) {
    if (!m.jobs) continue;
    const jobs = m.jobs({ db, config, bus });
    contributed.push(jobs);
    for (const [queue, handler] of Object.entries(jobs.handlers)) {
      if (handlers[queue]) throw new Error(`Queue ${queue} has two handlers (module ${m.name})`);
      handlers[queue] = handler;
    }
  }
  const worker = new Worker({ db, pollMs: config.jobs.pollMs, leaseMs: config.jobs.leaseMs, log: deps.log, handlers });
  const runner: JobRunner = {
    start() {
      worker.start();
      return runner;
    },
    async stop() {
      await worker.stop();
      for (const jobs of contributed) await jobs.close?.();
    },
    poke: () => worker.poke(),
  };
  return runner;
}
