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
