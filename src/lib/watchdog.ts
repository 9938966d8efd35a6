import { Worker } from 'node:worker_threads';

// Runs on its own thread, so a main thread stuck in a synchronous loop (a log flush that never
// ends, a runaway computation) cannot keep it from firing. It sleeps until armed, then until the
// deadline, and kills the whole process unless the process has exited first.
const source = `
const { workerData } = require('node:worker_threads');
const state = new Int32Array(workerData);
while (Atomics.load(state, 0) === 0) Atomics.wait(state, 0, 0);
if (Atomics.wait(state, 0, 1, Atomics.load(state, 1)) === 'timed-out') process.kill(process.pid, 'SIGKILL');
`;

export interface Watchdog {
  /** Kills the process (SIGKILL) deadlineMs from now unless it has exited by then. Arming twice keeps the first deadline. */
  arm(deadlineMs: number): void;
}

/** Starts the watchdog thread now, while the main thread is known to be responsive; it does not keep the process alive. */
export function startWatchdog(): Watchdog {
  const shared = new SharedArrayBuffer(8);
  const state = new Int32Array(shared);
  const worker = new Worker(source, {
    eval: true,
    workerData: shared,
    // Not the parent's flags (--import tsx, --input-type=module): the source above is plain CommonJS.
    execArgv: [],
    stdout: true,
    stderr: true,
  });
  worker.unref();
  return {
    arm(deadlineMs) {
      if (Atomics.load(state, 0) !== 0) return;
      Atomics.store(state, 1, Math.max(1, Math.round(deadlineMs)));
      Atomics.store(state, 0, 1);
      Atomics.notify(state, 0);
    },
  };
}
