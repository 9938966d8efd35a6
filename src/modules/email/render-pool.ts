import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import type { Config } from '../../config.js';
import { workerFile } from '../../lib/worker-file.js';
import type { RenderReply, RenderTask, RenderTaskBody, RenderWorkerData } from './render-worker.js';
import type { CampaignSources, CheckIssue, Rendered, RenderVars } from './templates.js';

export type RenderLimits = Config['templates'];

/** A render that overran its time, output or memory budget: the template's fault, reported as such. */
export class TemplateTooExpensiveError extends Error {}
/** A template that does not render (a Liquid error). */
export class TemplateRenderError extends Error {}

/** How long past its budget a task may run before its thread is terminated (Liquid stops most renders itself, between nodes). */
const GRACE_MS = 100;
const WATCH_EVERY_MS = 20;
/** Renders of one campaign waiting together go to a thread as one task, up to this many. */
const MAX_BATCH = 64;

interface Waiting {
  key: string;
  body: RenderTaskBody;
  resolve: (r: RenderReply) => void;
  reject: (e: unknown) => void;
}

type Single = Waiting & { body: Extract<RenderTaskBody, { op: 'render' }> };
const isRender = (w: Waiting): w is Single => w.body.op === 'render';

interface Running {
  key: string;
  slot: number;
  seq: number;
  /** When the watchdog first saw the task (or its current render, in a batch) started in its thread (waiting for a thread does not count). */
  since: number | null;
  /** The render of a batch the watchdog last saw running. */
  item: number;
  abort: AbortController;
  timedOut: boolean;
}

/**
 * Liquid off the event loop: a worker-thread pool (piscina) whose threads have bounded heaps, where
 * every task is timed from the moment it starts and its thread terminated once it overruns. Tasks
 * are queued here, not in piscina, so that a thread is free whenever one is handed over, and so that
 * one organization (the key) never holds more than half of the threads: another organization's
 * render waits at most for a thread that is not busy with the first one's templates.
 */
export class RenderPool {
  private pool: Piscina<RenderTask, RenderReply> | null = null;
  private readonly started: Int32Array;
  private readonly item: Int32Array;
  private readonly freeSlots: number[];
  private readonly waiting: Waiting[] = [];
  private readonly running = new Set<Running>();
  private readonly perKey = new Map<string, number>();
  private readonly perKeyLimit: number;
  private seq = 0;
  private watchdog: NodeJS.Timeout | null = null;

  constructor(readonly limits: RenderLimits) {
    this.started = new Int32Array(new SharedArrayBuffer(4 * limits.workers));
    this.item = new Int32Array(new SharedArrayBuffer(4 * limits.workers));
    this.freeSlots = Array.from({ length: limits.workers }, (_, i) => i);
    this.perKeyLimit = Math.max(1, Math.floor(limits.workers / 2));
  }

  /** Renders a prepared campaign for one recipient. `key` is the organization. */
  async render(key: string, campaign: { key: string; sources: CampaignSources }, vars: RenderVars): Promise<Rendered> {
    let reply = await this.run(key, { op: 'render', key: campaign.key, vars });
    if ('miss' in reply) reply = await this.run(key, { op: 'render', key: campaign.key, sources: campaign.sources, vars });
    if ('ok' in reply) return reply.ok;
    if ('error' in reply) throw reply.tooExpensive ? new TemplateTooExpensiveError(reply.error) : new TemplateRenderError(reply.error);
    throw new Error('unexpected render reply');
  }

  /** Parses and renders templates being saved, with sample variables. */
  async check(key: string, fields: Partial<CampaignSources>, vars: RenderVars): Promise<CheckIssue[]> {
    const reply = await this.run(key, { op: 'check', fields, vars });
    if ('issues' in reply) return reply.issues;
    throw new Error('unexpected check reply');
  }

  /** Terminates the threads and refuses what waits; a later task starts the pool again. */
  async close() {
    for (const w of this.waiting.splice(0)) w.reject(new Error('The template renderer is shutting down'));
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy();
  }

  private run(key: string, body: RenderTaskBody): Promise<RenderReply> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ key, body, resolve, reject });
      this.dispatch();
    });
  }

  private dispatch() {
    for (let i = 0; i < this.waiting.length && this.freeSlots.length; ) {
      if ((this.perKey.get(this.waiting[i].key) ?? 0) >= this.perKeyLimit) i++;
      else this.start(this.batchFrom(i));
    }
  }

  /**
   * The waiting task at i, joined by the renders of the same campaign (same organization, same
   * content hash, sources or not alike) that wait behind it: one hand-over to a thread and one
   * reply for up to MAX_BATCH recipients, instead of a round trip through the event loop each.
   */
  private batchFrom(i: number): Waiting {
    const first = this.waiting.splice(i, 1)[0];
    if (!isRender(first)) return first;
    const batch: Single[] = [first];
    for (let j = i; j < this.waiting.length && batch.length < MAX_BATCH; ) {
      const w = this.waiting[j];
      if (isRender(w) && w.key === first.key && w.body.key === first.body.key && !w.body.sources === !first.body.sources) batch.push(this.waiting.splice(j, 1)[0] as Single);
      else j++;
    }
    if (batch.length === 1) return first;
    return {
      key: first.key,
      body: { op: 'renderMany', key: first.body.key, sources: first.body.sources, vars: batch.map((w) => w.body.vars) },
      resolve: (reply) => {
        if ('many' in reply) batch.forEach((w, k) => w.resolve(reply.many[k]));
        // A thread without the campaign's sources answers the whole batch with one miss.
        else batch.forEach((w) => w.resolve(reply));
      },
      reject: (err) => batch.forEach((w) => w.reject(err)),
    };
  }

  private threads() {
    if (this.pool) return this.pool;
    const data: RenderWorkerData = { started: this.started.buffer as SharedArrayBuffer, item: this.item.buffer as SharedArrayBuffer, timeoutMs: this.limits.renderTimeoutMs, maxOutputBytes: this.limits.maxOutputBytes };
    // Heap room for a few copies of the largest output (strings are UTF-16 while being built).
    const heapMb = Math.max(128, Math.ceil((this.limits.maxOutputBytes * 16) / (1024 * 1024)));
    this.pool = new Piscina<RenderTask, RenderReply>({
      ...workerFile(import.meta.url, 'render-worker'),
      minThreads: 0,
      maxThreads: this.limits.workers,
      idleTimeout: 60_000,
      concurrentTasksPerWorker: 1,
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 32, stackSizeMb: 4 },
      workerData: data,
    });
    return this.pool;
  }

  private start(w: Waiting) {
    const slot = this.freeSlots.pop()!;
    this.seq = (this.seq % 0x7ffffffe) + 1;
    const r: Running = { key: w.key, slot, seq: this.seq, since: null, item: 0, abort: new AbortController(), timedOut: false };
    this.perKey.set(w.key, (this.perKey.get(w.key) ?? 0) + 1);
    this.running.add(r);
    this.watch();
    this.threads()
      .run({ ...w.body, slot, seq: r.seq }, { signal: r.abort.signal })
      .then(w.resolve, (err) => w.reject(this.failure(err, r)))
      .finally(() => {
        this.running.delete(r);
        this.freeSlots.push(slot);
        const n = this.perKey.get(w.key)! - 1;
        if (n) this.perKey.set(w.key, n);
        else this.perKey.delete(w.key);
        this.dispatch();
      });
  }

  private failure(err: unknown, r: Running) {
    if (r.timedOut) return new TemplateTooExpensiveError(`rendering took longer than ${this.limits.renderTimeoutMs} ms`);
    if ((err as { code?: string })?.code === 'ERR_WORKER_OUT_OF_MEMORY') return new TemplateTooExpensiveError('rendering needed more memory than allowed');
    return err;
  }

  /** Liquid checks its time limit only between nodes: one slow filter or parse is stopped here, by terminating its thread. */
  private watch() {
    if (this.watchdog) return;
    this.watchdog = setInterval(() => {
      const now = performance.now();
      for (const r of this.running) {
        if (r.since === null) {
          if (Atomics.load(this.started, r.slot) === r.seq) r.since = now;
        } else if (Atomics.load(this.item, r.slot) !== r.item) {
          // The next render of a batch: its budget starts now.
          r.item = Atomics.load(this.item, r.slot);
          r.since = now;
        } else if (!r.timedOut && now - r.since > this.limits.renderTimeoutMs + GRACE_MS) {
          r.timedOut = true;
          r.abort.abort();
        }
      }
      if (!this.running.size) {
        clearInterval(this.watchdog!);
        this.watchdog = null;
      }
    }, WATCH_EVERY_MS);
    this.watchdog.unref();
  }
}

const shared = new Map<string, { pool: RenderPool; holders: number }>();

/**
 * The process's pool for these limits: the API and the in-process job worker share one. Each
 * holder releases it once (server close, JobRunner.stop); the last release terminates the threads.
 */
export function acquireRenderPool(limits: RenderLimits): { pool: RenderPool; release(): Promise<void> } {
  const id = JSON.stringify([limits.renderTimeoutMs, limits.maxOutputBytes, limits.workers]);
  let entry = shared.get(id);
  if (!entry) shared.set(id, (entry = { pool: new RenderPool(limits), holders: 0 }));
  entry.holders++;
  const held = entry;
  let released = false;
  return {
    pool: held.pool,
    async release() {
      if (released) return;
      released = true;
      if (--held.holders > 0) return;
      if (shared.get(id) === held) shared.delete(id);
      await held.pool.close();
    },
  };
}
