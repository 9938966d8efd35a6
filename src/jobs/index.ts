import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import { createMailer } from '../modules/email/mailer.js';
import { acquireRenderPool } from '../modules/email/render-pool.js';
import { CAMPAIGN_QUEUE, campaignSendHandler, RateLimiter } from '../modules/email/sender.js';
import { TokenSigner } from '../modules/email/tokens.js';
import { Worker, type WorkerOptions } from './queue.js';

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

/** The worker with every queue's handler; the server runs one in-process, `npm run worker` runs one on its own. */
export function createJobRunner(deps: { db: Database; config: Config; log?: WorkerOptions['log'] }): JobRunner {
  const { db, config } = deps;
  const mailer = createMailer(config);
  // The process's render pool (shared with the API when the worker runs in-process), released on stop.
  const renderer = acquireRenderPool(config.templates);
  const worker = new Worker({
    db,
    pollMs: config.jobs.pollMs,
    leaseMs: config.jobs.leaseMs,
    log: deps.log,
    handlers: {
      [CAMPAIGN_QUEUE]: campaignSendHandler({
        db,
        config,
        mailer,
        signer: new TokenSigner(config.secrets.encryptionKey),
        limiter: new RateLimiter(config.email.ratePerSecond),
        pool: renderer.pool,
      }),
    },
  });
  const runner: JobRunner = {
    start() {
      worker.start();
      return runner;
    },
    async stop() {
      await worker.stop();
      mailer.close();
      await renderer.release();
    },
    poke: () => worker.poke(),
  };
  return runner;
}
