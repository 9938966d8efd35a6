import { and, eq, sql } from 'drizzle-orm';
import { schema, type Database, type Tx } from '../db/index.js';
import { RunLease, type Lease } from './lease.js';

export type { Lease };

/**
 * Durable jobs in PostgreSQL (the `jobs` table of 0003_email.sql). A job belongs to one
 * organization and its handler runs its queries inside withTenant(job.organizationId).
 * Claiming is the only cross-organization step (withSystem('job-scheduler')): due rows are
 * taken with FOR UPDATE SKIP LOCKED and a lease; a running handler renews the lease, and a job
 * whose worker died is claimed again once its lease has expired.
 *
 * Leases are fenced (0007_job_fencing.sql): each claim writes a new lease id on the job row, and
 * every later write about the job (renewal, completion, retry, failure) names it. A run that
 * stalled past its lease while another run took the job over can no longer write anything: its
 * renewal finds another lease id, its handler's signal is aborted, its outcome is dropped.
 */
export interface Job {
  id: string;
  organizationId: string;
  queue: string;
  payload: Record<string, unknown>;
  attempts: number;
  maxAttempts: number;
  /** The fencing token of this claim. */
  leaseId: string;
}

export interface JobContext {
  /** Aborted when the worker stops or this run loses its lease: finish what is in flight, record it, and return. */
  signal: AbortSignal;
  lease: Lease;
}

export type JobHandler = (job: Job, ctx: JobContext) => Promise<JobResult | void>;
/** A handler may ask to run again later (e.g. a scheduled send whose time moved). */
export type JobResult = { retryAt: Date };

export interface EnqueueOptions {
  runAt?: Date | null;
  /** At most one queued or active job per key and organization. */
  singletonKey?: string;
  maxAttempts?: number;
}

/** Enqueues a job in the caller's tenant transaction, so it commits or rolls back with the change that asked for it. */
export async function enqueueJob(tx: Tx, organizationId: string, queue: string, payload: Record<string, unknown>, opts: EnqueueOptions = {}) {
  await tx
    .insert(schema.jobs)
    .values({
      organizationId,
      queue,
      payload,
      singletonKey: opts.singletonKey ?? null,
      runAt: opts.runAt ?? sql`now()`,
      maxAttempts: opts.maxAttempts ?? 10,
    })
    .onConflictDoNothing();
}

/** Enqueues many jobs of one queue in the caller's transaction, in multi-row inserts (one event fanned out to many deliveries). */
export async function enqueueJobs(
  tx: Tx,
  organizationId: string,
  queue: string,
  jobs: { payload: Record<string, unknown>; singletonKey?: string }[],
  opts: Omit<EnqueueOptions, 'singletonKey'> = {},
) {
  // Six parameters a row: well under PostgreSQL's 65,535 per statement.
  for (let i = 0; i < jobs.length; i += 5000) {
    await tx
      .insert(schema.jobs)
      .values(
        jobs.slice(i, i + 5000).map((j) => ({
          organizationId,
          queue,
          payload: j.payload,
          singletonKey: j.singletonKey ?? null,
          runAt: opts.runAt ?? sql`now()`,
          maxAttempts: opts.maxAttempts ?? 10,
        })),
      )
      .onConflictDoNothing();
  }
}

/** The queued (not yet running) job of this key, in the caller's tenant transaction. */
const queuedJob = (organizationId: string, singletonKey: string) =>
  and(eq(schema.jobs.organizationId, organizationId), eq(schema.jobs.singletonKey, singletonKey), eq(schema.jobs.state, 'queued'));

/** Moves the queued job of this key to a new time (a rescheduled campaign). */
export async function rescheduleQueuedJob(tx: Tx, organizationId: string, singletonKey: string, runAt: Date | null) {
  await tx.update(schema.jobs).set({ runAt: runAt ?? sql`now()`, updatedAt: sql`now()` }).where(queuedJob(organizationId, singletonKey));
}

/** Cancels the queued job of this key; a running job sees its campaign's state instead. */
export async function cancelQueuedJob(tx: Tx, organizationId: string, singletonKey: string) {
  await tx.update(schema.jobs).set({ state: 'cancelled', updatedAt: sql`now()` }).where(queuedJob(organizationId, singletonKey));
}

export interface WorkerOptions {
  db: Database;
  handlers: Record<string, JobHandler>;
  pollMs?: number;
  /**
   * Jobs of each queue run at once by this worker. Every queue has its own slots, so a flood of
   * short jobs (webhook deliveries) never holds the slots long jobs (campaign sends) wait for.
   */
  concurrency?: number;
  leaseMs?: number;
  log?: { info: (o: unknown, m?: string) => void; error: (o: unknown, m?: string) => void };
}

const backoffMs = (attempt: number) => Math.min(1000 * 2 ** attempt, 10 * 60_000);

export class Worker {
  private running = new Map<string, { queue: string; done: Promise<void> }>();
  private abort = new AbortController();
  private timer: NodeJS.Timeout | null = null;
  private polling: Promise<void> | null = null;
  private stopped = true;
  private readonly pollMs: number;
  private readonly concurrency: number;
  private readonly leaseMs: number;

  constructor(private readonly opts: WorkerOptions) {
    this.pollMs = opts.pollMs ?? 1000;
    this.concurrency = opts.concurrency ?? 4;
    this.leaseMs = opts.leaseMs ?? 30_000;
  }

  start() {
    if (!this.stopped) return this;
    this.stopped = false;
    this.abort = new AbortController();
    this.schedule(0);
    return this;
  }

  /** Stops claiming, lets running handlers finish their in-flight work, and hands their jobs back to the queue. */
  async stop() {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.abort.abort();
    await this.polling;
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /** Claims and runs due jobs now (tests and the CLI use it instead of waiting for the next poll). */
  poke() {
    if (!this.stopped && !this.polling) this.schedule(0);
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.polling = null;
        this.schedule(this.pollMs);
      });
    }, ms);
  }

  private async poll() {
    if (this.stopped) return;
    const busy = new Map<string, number>();
    for (const r of this.running.values()) busy.set(r.queue, (busy.get(r.queue) ?? 0) + 1);
    for (const queue of Object.keys(this.opts.handlers)) {
      const free = this.concurrency - (busy.get(queue) ?? 0);
      if (free <= 0 || this.stopped) continue;
      let jobs: Awaited<ReturnType<Worker['claim']>>;
      try {
        jobs = await this.claim(queue, free);
      } catch (err) {
        this.opts.log?.error({ err, queue }, 'job claim failed');
        continue;
      }
      for (const { job, sentAt } of jobs) {
        const done = this.run(job, sentAt).finally(() => {
          this.running.delete(job.id);
          this.poke();
        });
        this.running.set(job.id, { queue, done });
      }
    }
  }

  /** Due jobs, each with a new lease id; never one this worker is running (its lease may have run out while it ran). */
  private async claim(queue: string, limit: number): Promise<{ job: Job; sentAt: number }[]> {
    const lease = `${this.leaseMs} milliseconds`;
    const mine = [...this.running.keys()];
    const sentAt = performance.now();
    const rows = await this.opts.db.withSystem('job-scheduler', (tx) =>
      tx.execute(sql`
        update jobs j set state = 'active', attempts = j.attempts + 1, locked_until = now() + ${lease}::interval,
          lease_id = gen_random_uuid(), updated_at = now()
        from (
          select organization_id, id from jobs
          where queue = ${queue}
            and ((state = 'queued' and run_at <= now()) or (state = 'active' and locked_until < now()))
            and not (id = any(${sql.param(mine)}::uuid[]))
          order by run_at
          limit ${limit}
          for update skip locked
        ) due
        where j.organization_id = due.organization_id and j.id = due.id
        returning j.id, j.organization_id, j.queue, j.payload, j.attempts, j.max_attempts, j.lease_id`),
    );
    return (rows as unknown as { rows: any[] }).rows.map((r) => ({
      sentAt,
      job: {
        id: r.id,
        organizationId: r.organization_id,
        queue: r.queue,
        payload: r.payload,
        attempts: r.attempts,
        maxAttempts: r.max_attempts,
        leaseId: r.lease_id,
      },
    }));
  }

  /** Job bookkeeping runs inside the job's own organization, and only while this run's lease is the job's: false when it is not. */
  private async finish(job: Job, set: ReturnType<typeof sql>): Promise<boolean> {
    const res = await this.opts.db.withTenant(job.organizationId, (tx) =>
      tx.execute(sql`update jobs set ${set}, updated_at = now()
        where organization_id = ${job.organizationId} and id = ${job.id} and lease_id = ${job.leaseId} and state = 'active'
        returning id`),
    );
    return (res as unknown as { rows: unknown[] }).rows.length > 0;
  }

  private async run(job: Job, claimSentAt: number) {
    const lease = new RunLease(job.leaseId, this.leaseMs, claimSentAt, () => this.finish(job, sql`locked_until = now() + ${`${this.leaseMs} milliseconds`}::interval`), (err) =>
      this.opts.log?.error({ err, jobId: job.id }, 'job lease renewal failed'),
    );
    // Three renewals per lease: two may fail or come late before the lease runs out.
    const renew = setInterval(() => void lease.renew(), Math.max(50, this.leaseMs / 3));
    const refused = (what: string) => this.opts.log?.info({ jobId: job.id, queue: job.queue, organizationId: job.organizationId }, `job ${what} not recorded: another run holds the job`);
    try {
      const handler = this.opts.handlers[job.queue];
      const result = await handler(job, { signal: AbortSignal.any([this.abort.signal, lease.lost.signal]), lease });
      // A run that lost its lease records nothing: the run that took the job over does.
      let recorded = false;
      if (!lease.lost.signal.aborted) {
        if (result?.retryAt) {
          recorded = await this.finish(job, sql`state = 'queued', run_at = ${result.retryAt.toISOString()}::timestamptz, attempts = attempts - 1, locked_until = null`);
        } else if (this.abort.signal.aborted) {
          // Stopped mid-run: the handler returned early; the job is handed back to be resumed at once.
          recorded = await this.finish(job, sql`state = 'queued', run_at = now(), attempts = attempts - 1, locked_until = null`);
        } else {
          recorded = await this.finish(job, sql`state = 'completed', locked_until = null`);
        }
      }
      if (!recorded) refused('outcome');
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.opts.log?.error({ err, jobId: job.id, queue: job.queue, organizationId: job.organizationId }, 'job failed');
      const last = job.attempts >= job.maxAttempts;
      const retryAt = new Date(Date.now() + backoffMs(job.attempts)).toISOString();
      const recorded = await this.finish(
        job,
        last
          ? sql`state = 'failed', last_error = ${message}, locked_until = null`
          : sql`state = 'queued', run_at = ${retryAt}::timestamptz, last_error = ${message}, locked_until = null`,
      ).catch(() => true);
      if (!recorded) refused('failure');
    } finally {
      clearInterval(renew);
    }
  }
}
