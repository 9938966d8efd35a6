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

/**
 * A queue of many short jobs (webhook deliveries) whose handler takes several due jobs of one
 * organization at once, so their reads, writes and bookkeeping cost one transaction each instead of
 * one per job. It answers one outcome per job, in order. Every job keeps its own row, lease id,
 * attempts and retries; a throw fails every job of the run. The queue's slots count jobs: a batch
 * queue runs up to `concurrency × batchSize` jobs at once.
 */
export interface BatchJobHandler {
  batchSize: number;
  run(jobs: Job[], ctx: JobContext): Promise<(JobResult | void)[]>;
}
export type QueueHandler = JobHandler | BatchJobHandler;
const isBatch = (h: QueueHandler): h is BatchJobHandler => typeof h !== 'function';

/** How a run of one job ended, as written on its row. */
type Outcome = { state: 'completed' } | { state: 'queued'; runAt: string; retry: boolean; error?: string } | { state: 'failed'; error: string };

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
  handlers: Record<string, QueueHandler>;
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
  /** Runs in flight by run id (a job's id, or the first job's id of a batch), with the jobs each holds. */
  private running = new Map<string, { queue: string; jobIds: string[]; done: Promise<void> }>();
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
    for (const r of this.running.values()) busy.set(r.queue, (busy.get(r.queue) ?? 0) + r.jobIds.length);
    for (const [queue, handler] of Object.entries(this.opts.handlers)) {
      const size = isBatch(handler) ? handler.batchSize : 1;
      const free = this.concurrency * size - (busy.get(queue) ?? 0);
      if (free <= 0 || this.stopped) continue;
      let jobs: Awaited<ReturnType<Worker['claim']>>;
      try {
        jobs = await this.claim(queue, free);
      } catch (err) {
        this.opts.log?.error({ err, queue }, 'job claim failed');
        continue;
      }
      if (!jobs.length) continue;
      const sentAt = jobs[0].sentAt;
      const runs = isBatch(handler) ? batchesOf(jobs.map((j) => j.job), size) : jobs.map((j) => [j.job]);
      for (const batch of runs) {
        const done = (isBatch(handler) ? this.runBatch(handler, batch, sentAt) : this.run(batch[0], sentAt)).finally(() => {
          this.running.delete(batch[0].id);
          this.poke();
        });
        this.running.set(batch[0].id, { queue, jobIds: batch.map((j) => j.id), done });
      }
    }
  }

  /** Due jobs, each with a new lease id; never one this worker is running (its lease may have run out while it ran). */
  private async claim(queue: string, limit: number): Promise<{ job: Job; sentAt: number }[]> {
    const lease = `${this.leaseMs} milliseconds`;
    const mine = [...this.running.values()].flatMap((r) => r.jobIds);
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

  /** The bookkeeping of a batch run, one statement for all its jobs, each only while its lease is this run's: the ids recorded. */
  private async finishMany(jobs: Job[], outcomes: Outcome[]): Promise<Set<string>> {
    const org = jobs[0].organizationId;
    const col = <T>(f: (o: Outcome, j: Job) => T) => sql.param(outcomes.map((o, i) => f(o, jobs[i])));
    const res = await this.opts.db.withTenant(org, (tx) =>
      tx.execute(sql`update jobs j set state = v.state, run_at = coalesce(v.run_at, j.run_at), attempts = j.attempts - v.refund,
          last_error = coalesce(v.error, j.last_error), locked_until = null, updated_at = now()
        from unnest(${col((_, j) => j.id)}::uuid[], ${col((_, j) => j.leaseId)}::uuid[], ${col((o) => o.state)}::text[],
          ${col((o) => (o.state === 'queued' ? o.runAt : null))}::timestamptz[], ${col((o) => (o.state === 'queued' && !o.retry ? 1 : 0))}::int[],
          ${col((o) => (o.state === 'completed' ? null : (o.error ?? null)))}::text[]) as v(id, lease_id, state, run_at, refund, error)
        where j.organization_id = ${org} and j.id = v.id and j.lease_id = v.lease_id and j.state = 'active'
        returning j.id`),
    );
    return new Set((res as unknown as { rows: { id: string }[] }).rows.map((r) => r.id));
  }

  /** Renews every lease of a batch: false when any of its jobs is another run's (the run then records nothing). */
  private async renewMany(jobs: Job[]): Promise<boolean> {
    const org = jobs[0].organizationId;
    const res = await this.opts.db.withTenant(org, (tx) =>
      tx.execute(sql`update jobs set locked_until = now() + ${`${this.leaseMs} milliseconds`}::interval, updated_at = now()
        where organization_id = ${org} and id = any(${sql.param(jobs.map((j) => j.id))}::uuid[])
          and lease_id = any(${sql.param(jobs.map((j) => j.leaseId))}::uuid[]) and state = 'active'
        returning id`),
    );
    return (res as unknown as { rows: unknown[] }).rows.length === jobs.length;
  }

  private async runBatch(handler: BatchJobHandler, jobs: Job[], claimSentAt: number) {
    const lease = new RunLease(jobs[0].leaseId, this.leaseMs, claimSentAt, () => this.renewMany(jobs), (err) =>
      this.opts.log?.error({ err, jobIds: jobs.map((j) => j.id) }, 'job lease renewal failed'),
    );
    const renew = setInterval(() => void lease.renew(), Math.max(50, this.leaseMs / 3));
    let outcomes: Outcome[];
    try {
      const results = await handler.run(jobs, { signal: AbortSignal.any([this.abort.signal, lease.lost.signal]), lease });
      if (lease.lost.signal.aborted) return;
      outcomes = jobs.map((_, i): Outcome => {
        const retryAt = results[i]?.retryAt;
        if (retryAt) return { state: 'queued', runAt: retryAt.toISOString(), retry: false };
        if (this.abort.signal.aborted) return { state: 'queued', runAt: new Date().toISOString(), retry: false };
        return { state: 'completed' };
      });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.opts.log?.error({ err, jobIds: jobs.map((j) => j.id), queue: jobs[0].queue, organizationId: jobs[0].organizationId }, 'job batch failed');
      outcomes = jobs.map((j): Outcome =>
        j.attempts >= j.maxAttempts
          ? { state: 'failed', error: message }
          : { state: 'queued', runAt: new Date(Date.now() + backoffMs(j.attempts)).toISOString(), retry: true, error: message },
      );
    } finally {
      clearInterval(renew);
    }
    const recorded = await this.finishMany(jobs, outcomes).catch((err) => {
      this.opts.log?.error({ err, jobIds: jobs.map((j) => j.id) }, 'job batch outcome not recorded');
      return new Set<string>();
    });
    const refused = jobs.filter((j) => !recorded.has(j.id));
    if (refused.length) this.opts.log?.info({ jobIds: refused.map((j) => j.id), queue: jobs[0].queue }, 'job outcome not recorded: another run holds the job');
  }

  private async run(job: Job, claimSentAt: number) {
    const lease = new RunLease(job.leaseId, this.leaseMs, claimSentAt, () => this.finish(job, sql`locked_until = now() + ${`${this.leaseMs} milliseconds`}::interval`), (err) =>
      this.opts.log?.error({ err, jobId: job.id }, 'job lease renewal failed'),
    );
    // Three renewals per lease: two may fail or come late before the lease runs out.
    const renew = setInterval(() => void lease.renew(), Math.max(50, this.leaseMs / 3));
    const refused = (what: string) => this.opts.log?.info({ jobId: job.id, queue: job.queue, organizationId: job.organizationId }, `job ${what} not recorded: another run holds the job`);
    try {
      const handler = this.opts.handlers[job.queue] as JobHandler;
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

/** Claimed jobs as batch runs: jobs of one organization together (one tenant transaction each), at most `size` a run. */
function batchesOf(jobs: Job[], size: number): Job[][] {
  const byOrg = new Map<string, Job[]>();
  for (const j of jobs) {
    const list = byOrg.get(j.organizationId);
    if (list) list.push(j);
    else byOrg.set(j.organizationId, [j]);
  }
  return [...byOrg.values()].flatMap((list) => Array.from({ length: Math.ceil(list.length / size) }, (_, i) => list.slice(i * size, (i + 1) * size)));
}
