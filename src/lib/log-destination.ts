import type { Writable } from 'node:stream';

/** A pino destination: one JSON line per write. */
export interface LogDestination {
  write(line: string): void;
  /** Waits until the backlog is written, the output fails, or timeoutMs passes, whichever is first. */
  flush(timeoutMs: number): Promise<void>;
  /** Lines dropped because the backlog was full or the output is gone. */
  readonly dropped: number;
}

/**
 * Log lines to stdout that can never keep the process from stopping.
 *
 * pino's default destination (sonic-boom) buffers without limit while a reader stalls, and on exit
 * flushes synchronously in a loop that sleeps and retries every write error except EAGAIN/EBUSY —
 * EPIPE included — so a server whose log reader went away could never exit. Here the stream itself
 * (libuv for a pipe, which waits for the pipe to become writable instead of polling) does the
 * writing; nothing writes synchronously at exit, the backlog is bounded (lines beyond it are dropped
 * and counted), and a write error such as EPIPE ends logging instead of being retried.
 */
export function createLogDestination(out: Writable = process.stdout, maxBacklogBytes = 8 * 1024 * 1024): LogDestination {
  let broken = false;
  let dropped = 0;
  let unreported = 0;
  out.on('error', () => {
    broken = true;
  });
  out.on('drain', () => {
    if (unreported === 0 || broken) return;
    const msg = `${unreported} log lines dropped: the log output was not being read`;
    unreported = 0;
    out.write(`${JSON.stringify({ level: 40, time: Date.now(), msg })}\n`);
  });
  return {
    write(line) {
      if (broken || out.destroyed || out.writableLength + line.length > maxBacklogBytes) {
        dropped++;
        unreported++;
        return;
      }
      out.write(line);
    },
    flush(timeoutMs) {
      if (broken || out.destroyed || out.writableLength === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          out.off('drain', done);
          out.off('error', done);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        out.on('drain', done);
        out.on('error', done);
      });
    },
    get dropped() {
      return dropped;
    },
  };
}
