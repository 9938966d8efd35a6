import { workerData } from 'node:worker_threads';
import {
  checkTemplates,
  compileCampaign,
  describe,
  isTooExpensive,
  renderCampaign,
  type CampaignSources,
  type CheckIssue,
  type CompiledCampaign,
  type Rendered,
  type RenderVars,
} from './templates.js';

// A piscina worker: Liquid parses and renders here, off the event loop. The pool (render-pool.ts)
// times each task from the moment it starts here and terminates this thread if a task overruns.

export interface RenderWorkerData {
  /** One Int32 per in-flight task slot: the task writes its sequence number there when it starts. */
  started: SharedArrayBuffer;
  /** One Int32 per slot: the index of the render a batch task is on (each render has its own budget). */
  item: SharedArrayBuffer;
  timeoutMs: number;
  maxOutputBytes: number;
}

export type RenderTaskBody =
  | { op: 'render'; key: string; sources?: CampaignSources; vars: RenderVars }
  /** The same campaign for several recipients in one hand-over (the pool batches waiting renders). */
  | { op: 'renderMany'; key: string; sources?: CampaignSources; vars: RenderVars[] }
  | { op: 'check'; fields: Partial<CampaignSources>; vars: RenderVars };
export type RenderTask = RenderTaskBody & { slot: number; seq: number };
export type RenderReply =
  | { ok: Rendered }
  | { miss: true }
  | { error: string; tooExpensive: boolean }
  | { issues: CheckIssue[] }
  | { many: RenderReply[] };

const data = workerData as RenderWorkerData;
const started = new Int32Array(data.started);
const item = new Int32Array(data.item);
/** Compiled campaigns by content hash: a send parses its templates once per thread, not per message. */
const cache = new Map<string, CompiledCampaign>();
const CACHE_SIZE = 32;

export default function run(task: RenderTask): RenderReply {
  Atomics.store(item, task.slot, 0);
  Atomics.store(started, task.slot, task.seq);
  const limits = () => ({ deadline: performance.now() + data.timeoutMs, timeoutMs: data.timeoutMs, maxOutputBytes: data.maxOutputBytes });
  if (task.op === 'check') return { issues: checkTemplates(task.fields, task.vars, limits()) };
  let compiled = cache.get(task.key);
  if (compiled) {
    cache.delete(task.key);
  } else {
    // The sources travel only when this thread asks for them (once per campaign), not with every message.
    if (!task.sources) return { miss: true };
    try {
      compiled = compileCampaign(task.sources);
    } catch (err) {
      return { error: `Invalid Liquid template: ${describe(err, limits())}`, tooExpensive: isTooExpensive(err) };
    }
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  }
  cache.set(task.key, compiled);
  const renderOne = (vars: RenderVars): RenderReply => {
    const l = limits();
    try {
      return { ok: renderCampaign(compiled, vars, l) };
    } catch (err) {
      return { error: describe(err, l), tooExpensive: isTooExpensive(err) };
    }
  };
  if (task.op === 'render') return renderOne(task.vars);
  // Each render of a batch has the whole budget from its own start: the pool's watchdog sees the index move.
  return {
    many: task.vars.map((vars, i) => {
      Atomics.store(item, task.slot, i);
      return renderOne(vars);
    }),
  };
}
