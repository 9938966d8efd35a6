import { afterAll, beforeAll, expect, it } from 'vitest';
import { enqueueJob, Worker } from '../src/jobs/queue.js';
import { createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';
import { waitFor } from './email-support.js';

// Each queue has its own slots in a worker: long jobs of one queue (a campaign send) never keep
// another queue's jobs (webhook deliveries) waiting, and the other way round.

let t: TestApp;
let a: Actor;
beforeAll(async () => {
  t = await createTestApp({ config: { jobs: { inProcess: false, pollMs: 20 } } });
  a = await signUpWithOrg(t.app, 'queues');
});
afterAll(() => t?.close());

it('a queue whose slots are all busy does not hold back the jobs of another queue', async () => {
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const started: string[] = [];
  const worker = new Worker({
    db: t.db,
    pollMs: 20,
    concurrency: 1,
    handlers: {
      'test.slow': async (job) => {
        started.push(`slow:${job.payload.n}`);
        await held;
      },
      'test.fast': async (job) => void started.push(`fast:${job.payload.n}`),
    },
  });
  await t.db.withTenant(a.organizationId, async (tx) => {
    for (const n of [1, 2]) await enqueueJob(tx, a.organizationId, 'test.slow', { n });
    for (const n of [1, 2, 3]) await enqueueJob(tx, a.organizationId, 'test.fast', { n });
  });
  worker.start();
  try {
    // One slow job holds the slow queue's only slot; every fast job still runs, one at a time.
    await waitFor(async () => started.filter((s) => s.startsWith('fast')).length === 3);
    expect(started.filter((s) => s.startsWith('slow'))).toEqual(['slow:1']);
    release();
    await waitFor(async () => started.includes('slow:2'));
  } finally {
    release();
    await worker.stop();
  }
});

it('a batch queue runs due jobs of one organization together, records each job its own outcome, and never mixes organizations', async () => {
  const b = await signUpWithOrg(t.app, 'queues-b');
  const runs: { org: string; ns: number[] }[] = [];
  let failOnce = true;
  let retried = false;
  const worker = new Worker({
    db: t.db,
    pollMs: 20,
    concurrency: 2,
    handlers: {
      'test.batch': {
        batchSize: 3,
        async run(jobs) {
          runs.push({ org: jobs[0].organizationId, ns: jobs.map((j) => Number(j.payload.n)) });
          if (jobs.some((j) => j.payload.n === 7) && failOnce) {
            failOnce = false;
            throw new Error('receiver down');
          }
          // n = 2 asks to run again a little later, once.
          return jobs.map((j) => {
            if (j.payload.n !== 2 || retried) return undefined;
            retried = true;
            return { retryAt: new Date(Date.now() + 50) };
          });
        },
      },
    },
  });
  await t.db.withTenant(a.organizationId, async (tx) => {
    for (const n of [1, 2, 3, 4, 5]) await enqueueJob(tx, a.organizationId, 'test.batch', { n });
  });
  await t.db.withTenant(b.organizationId, async (tx) => {
    for (const n of [6, 7]) await enqueueJob(tx, b.organizationId, 'test.batch', { n });
  });
  const states = async (org: string) =>
    (await t.db.owner.query<{ n: number; state: string; attempts: number; last_error: string | null }>(
      `select (payload->>'n')::int as n, state, attempts, last_error from jobs where organization_id = $1 and queue = 'test.batch' order by 1`,
      [org],
    )) as { n: number; state: string; attempts: number; last_error: string | null }[];
  worker.start();
  try {
    await waitFor(async () => (await states(a.organizationId)).every((j) => j.state === 'completed') && (await states(b.organizationId)).every((j) => j.state === 'completed'));
  } finally {
    await worker.stop();
  }
  for (const r of runs) {
    expect(r.ns.length).toBeLessThanOrEqual(3);
    expect(r.ns.every((n) => (n <= 5) === (r.org === a.organizationId))).toBe(true);
  }
  expect(runs.flatMap((r) => r.ns).filter((n) => n === 2)).toHaveLength(2);
  // A requested retry is not a failed attempt; a thrown batch is one for each of its jobs.
  expect((await states(a.organizationId)).map((j) => [j.n, j.attempts])).toEqual([[1, 1], [2, 1], [3, 1], [4, 1], [5, 1]]);
  const failed = runs.find((r) => r.ns.includes(7))!.ns;
  expect((await states(b.organizationId)).map((j) => [j.n, j.attempts, j.last_error])).toEqual(
    [6, 7].map((n) => (failed.includes(n) ? [n, 2, 'receiver down'] : [n, 1, null])),
  );
});

it('a batch run that loses the lease of one of its jobs records nothing; the batch runs again once its leases run out', async () => {
  const c = await signUpWithOrg(t.app, 'queues-c');
  const runs: string[][] = [];
  const aborted: boolean[] = [];
  const worker = new Worker({
    db: t.db,
    pollMs: 20,
    leaseMs: 600,
    handlers: {
      'test.fenced': {
        batchSize: 10,
        async run(jobs, { signal }) {
          runs.push(jobs.map((j) => String(j.payload.n)));
          if (runs.length === 1) {
            // Another run takes one job over while this one works: the next renewal finds its lease id gone.
            await t.db.owner.query(`update jobs set lease_id = gen_random_uuid() where organization_id = $1 and id = $2`, [c.organizationId, jobs[0].id]);
            await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
            aborted.push(signal.aborted);
          }
          return jobs.map(() => undefined);
        },
      },
    },
  });
  await t.db.withTenant(c.organizationId, async (tx) => {
    for (const n of [1, 2, 3]) await enqueueJob(tx, c.organizationId, 'test.fenced', { n });
  });
  worker.start();
  try {
    await waitFor(async () => aborted.length === 1);
    const [row] = await t.db.owner.query<{ completed: number }>(
      `select count(*) filter (where state = 'completed')::int as completed from jobs where organization_id = $1 and queue = 'test.fenced'`,
      [c.organizationId],
    );
    expect(row.completed).toBe(0);
    // Its jobs are taken again as their leases run out (nobody renews the taken-over one in this test either), and then complete.
    await waitFor(async () => new Set(runs.slice(1).flat()).size === 3, 10_000);
    await waitFor(async () => {
      const [r] = await t.db.owner.query<{ completed: number }>(
        `select count(*) filter (where state = 'completed')::int as completed from jobs where organization_id = $1 and queue = 'test.fenced'`,
        [c.organizationId],
      );
      return r.completed === 3;
    });
  } finally {
    await worker.stop();
  }
});
