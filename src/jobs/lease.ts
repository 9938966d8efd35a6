// The lease of one job run (src/jobs/queue.ts): its fencing token, and its own conservative view of whether it still holds the job.

/** A run's hold on its job, for handlers whose own writes must be fenced too. */
export interface Lease {
  readonly id: string;
  readonly ms: number;
  /** True while this run certainly holds the job: its last renewal was sent less than a lease ago. */
  holds(): boolean;
  /** holds(), or else renews now: false once the job is another run's. Call it before any step that cannot be undone (sending mail). */
  confirm(): Promise<boolean>;
  /** Runs after every successful renewal, before the lease counts as renewed (e.g. renewing claimed message rows). */
  onRenew(fn: () => Promise<unknown>): void;
}

/**
 * The lease of one run. Time is measured on this process's monotonic clock from the moment the
 * claim or renewal was sent, which is never later than the moment the database started the lease:
 * holds() is conservative however long the answer took or the event loop stalled.
 */
export class RunLease implements Lease {
  readonly lost = new AbortController();
  private validUntil: number;
  private renewing: Promise<boolean> | null = null;
  private readonly hooks: (() => Promise<unknown>)[] = [];

  constructor(
    readonly id: string,
    readonly ms: number,
    sentAt: number,
    private readonly write: () => Promise<boolean>,
    private readonly onError: (err: unknown) => void,
  ) {
    this.validUntil = sentAt + ms;
  }

  holds() {
    return !this.lost.signal.aborted && performance.now() < this.validUntil;
  }

  async confirm() {
    if (this.lost.signal.aborted) return false;
    return this.holds() || this.renew();
  }

  onRenew(fn: () => Promise<unknown>) {
    this.hooks.push(fn);
  }

  renew(): Promise<boolean> {
    if (this.lost.signal.aborted) return Promise.resolve(false);
    this.renewing ??= (async () => {
      const sentAt = performance.now();
      try {
        if (!(await this.write())) {
          this.lost.abort(new Error('lease lost: another run holds the job'));
          return false;
        }
        for (const fn of this.hooks) await fn();
        this.validUntil = sentAt + this.ms;
        return true;
      } catch (err) {
        // A failed renewal leaves the lease to run out; the next one may succeed.
        this.onError(err);
        return this.holds();
      } finally {
        this.renewing = null;
      }
    })();
    return this.renewing;
  }
}

