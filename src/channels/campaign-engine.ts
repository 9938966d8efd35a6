import { retryTransient } from '../db/errors.js';
import type { Database, Tx } from '../db/index.js';
import type { JobHandler, Lease } from '../jobs/queue.js';
import {
  beginSend,
  claimMessages,
  failSend,
  finishSend,
  recordOutcomes,
  remaining,
  renewMessageLeases,
  type CampaignRow,
  type CampaignStatusHook,
  type CampaignTables,
  type Claimed,
  type Fence,
  type Outcome,
  type Recorded,
} from './campaign-store.js';
import { RateLimiter } from './rate-limit.js';

export type { CampaignRow, CampaignTables, Claimed, Outcome, Recorded };

/** What a transport says about one hand-over. */
export type Delivery =
  | { ok: true; providerMessageId: string | null; extra?: Record<string, unknown> }
  /** `permanent`: the same message will never go through (a bad address); otherwise it is retried with backoff. */
  | { ok: false; error: string; permanent: boolean; extra?: Record<string, unknown> };

/**
 * A channel as the campaign engine sees it: audience, compose, transport, outcome. Email and SMS
 * are the two implementations (src/modules/email/campaign-channel.ts, src/modules/sms/…); a new
 * channel brings its tables (see campaign-store.ts for the columns) and these functions.
 */
export interface CampaignChannel<Run, Message> {
  /** Who accepts the messages, for the campaign's error when none was accepted ('mail server', 'SMS provider'). */
  provider: string;
  tables: CampaignTables;
  /** Inserts the campaign's message rows, one per recipient, `on conflict do nothing`. Runs once per campaign. */
  audience(tx: Tx, org: string, campaign: CampaignRow): Promise<void>;
  /**
   * What one run of the send shares between its messages (rendered template sources, the sending
   * identity, the transport), or why the campaign cannot be sent at all (it then fails).
   */
  prepare(org: string, campaign: CampaignRow): Promise<{ run: Run } | { fail: string }>;
  /**
   * One recipient's message. Returns an outcome instead when the message cannot be composed:
   * `failed` (a template that will not render for this recipient) or `queued` (the renderer is
   * shutting down: the row goes back untouched).
   */
  compose(run: Run, m: Claimed): Promise<{ message: Message } | { outcome: Outcome }>;
  /** Hands the message to the provider. Only called while this run provably holds the row. */
  transport(run: Run, message: Message, m: Claimed): Promise<Delivery>;
  /** Channel-specific writes for recorded outcomes (email events, SMS segments and error codes), same transaction. */
  recorded?(tx: Tx, org: string, rows: Recorded[]): Promise<void>;
  /** The campaign's status moved in the engine (a due scheduled campaign started sending, a send finished): events, same transaction. */
  statusChanged?: CampaignStatusHook;
  /** The earliest time the organization may be messaged now (quiet hours), or null for "now". Checked before each claim. */
  notBefore?(org: string): Promise<Date | null>;
  /** Messages in flight per run. */
  concurrency: number;
  /** Messages per second per organization in this worker; 0 = unlimited. */
  ratePerSecond: number;
  maxAttempts: number;
  /** First retry delay; doubles with each attempt. */
  retryBaseMs: number;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * The campaign send job, for any channel. Message rows drive it, so a stopped, crashed or
 * duplicated run resumes where the rows say: a recorded outcome is never sent again, a queued row
 * is never skipped. Claims run ahead of the sends (up to `concurrency` in flight) and outcomes are
 * recorded in batches. Every claim and outcome is fenced by the run's lease: a run that lost its
 * job to another stops, sends nothing it no longer holds, and its stale writes are refused.
 */
export function campaignSendHandler<Run, Message>(db: Database, channel: CampaignChannel<Run, Message>): JobHandler {
  const t = channel.tables;
  const limiter = new RateLimiter(channel.ratePerSecond);
  return async (job, { signal, lease }) => {
    const org = job.organizationId;
    const campaignId = String(job.payload.campaignId);
    const fence: Fence = { jobId: job.id, leaseId: lease.id, leaseMs: lease.ms };
    const begun = await db.withTenant(org, (tx) => beginSend(tx, t, org, campaignId, channel.audience, channel.statusChanged));
    if (begun.kind === 'done') return;
    if (begun.kind === 'later') return { retryAt: begun.at };
    const prepared = await channel.prepare(org, begun.campaign);
    if ('fail' in prepared) {
      await db.withTenant(org, (tx) => failSend(tx, t, org, campaignId, prepared.fail));
      return;
    }
    const run = prepared.run;
    // Outcome writes and lease renewals of the run's rows touch the same rows: they take turns
    // (one statement at a time, in order), so the run never deadlocks against itself.
    let rowWrites: Promise<unknown> = Promise.resolve();
    const onRows = <T>(write: (tx: Tx) => Promise<T>): Promise<T> => {
      const p = rowWrites.then(() => retryTransient(() => db.withTenant(org, write)));
      rowWrites = p.catch(() => undefined);
      return p;
    };
    // The rows this run has claimed stay leased to it as long as the job does.
    lease.onRenew(() => onRows((tx) => renewMessageLeases(tx, t, org, campaignId, fence)));

    const concurrency = channel.concurrency;
    const batch = Math.max(500, concurrency * 50);
    const lowWater = batch / 2;
    const buffer: Claimed[] = [];
    const inflight = new Set<Promise<void>>();
    const outcomes: Outcome[] = [];
    let lastFlush = Date.now();
    let drained = false;
    let cancelled = false;
    let lost = false;
    let deferredTo: Date | null = null;
    // Claims and outcome writes run beside the sends, never in their way; each is one at a time.
    let claiming: Promise<void> | null = null;
    let after: string | null = null;
    let flushing: Promise<void> = Promise.resolve();
    // A claim, send or outcome write that failed for good: the run stops (outcomes kept for one
    // last write) and fails the job, which the queue retries, instead of leaving a rejected promise
    // behind to end the process.
    let failure: unknown = null;

    const flush = () => {
      if (!outcomes.length) return flushing;
      const chunk = outcomes.splice(0);
      lastFlush = Date.now();
      flushing = onRows(async (tx) => {
        const rows = await recordOutcomes(tx, t, org, chunk, fence);
        if (rows.length && channel.recorded) await channel.recorded(tx, org, rows);
      }).catch((err) => {
        outcomes.unshift(...chunk);
        failure ??= err;
      });
      return flushing;
    };
    const claim = () => {
      claiming ??= (async () => {
        const wait = await channel.notBefore?.(org);
        if (wait && wait.getTime() > Date.now()) {
          deferredTo = wait;
          return;
        }
        const got = await retryTransient(() => db.withTenant(org, (tx) => claimMessages(tx, t, org, campaignId, batch, after, fence)));
        if (got.kind === 'cancelled') cancelled = true;
        else if (got.kind === 'lost') lost = true;
        // The end of the id range: one more pass from the start picks up retries that came due.
        else if (got.messages.length === 0) after === null ? (drained = true) : (after = null);
        else {
          buffer.push(...got.messages);
          after = got.messages.reduce((max, m) => (m.messageId > max ? m.messageId : max), after ?? got.messages[0].messageId);
        }
      })()
        .catch((err) => void (failure ??= err))
        .finally(() => (claiming = null));
      return claiming;
    };
    const start = (m: Claimed) => {
      // sendOne settles every delivery into an outcome; a throw is a fault of the run (a compose
      // bug), which stops it: the row stays leased and a later run takes it over.
      const p = sendOne(channel, run, m, lease, limiter).then(
        (o) => void outcomes.push(o),
        (err) => void (failure ??= err),
      );
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    };

    const stopped = () => signal.aborted || cancelled || lost || deferredTo !== null || failure !== null;
    for (;;) {
      if (!stopped() && !drained && buffer.length < lowWater) void claim();
      while (!stopped() && inflight.size < concurrency && buffer.length) start(buffer.shift()!);
      if (outcomes.length >= batch || (outcomes.length && Date.now() - lastFlush > 250)) void flush();
      if (inflight.size) {
        await Promise.race(inflight);
        continue;
      }
      if (claiming) {
        await claiming;
        continue;
      }
      if (stopped()) break;
      if (buffer.length) continue;
      if (drained) {
        await flush();
        if (failure) break;
        const left = await db.withTenant(org, (tx) => remaining(tx, t, org, campaignId));
        if (left.queued === 0) {
          await db.withTenant(org, (tx) => finishSend(tx, t, org, campaignId, fence, `No message was accepted by the ${channel.provider}`, channel.statusChanged));
          return;
        }
        // Messages wait for a retry: sleep briefly, or give the worker back until they are due.
        const wait = left.next ? left.next.getTime() - Date.now() : 0;
        if (wait > 2000) return { retryAt: left.next! };
        await sleep(Math.max(wait, 20), signal);
        drained = false;
        after = null;
      }
    }
    // Stopped, cancelled, lost or deferred: what was sent is recorded; what was claimed but not
    // started goes back (rows another run has taken over meanwhile are that run's: those writes are refused).
    await Promise.all(inflight);
    await claiming;
    for (const m of buffer.splice(0)) outcomes.push({ id: m.messageId, status: cancelled ? 'cancelled' : 'queued' });
    await flush();
    // The run failed (a claim, a send or an outcome write): what could be recorded now is, and the
    // job runs again. Rows whose outcome could not be written stay leased until their lease runs
    // out; a later run then takes them over.
    if (failure) throw failure;
    // Quiet hours: the job comes back when sending is allowed again; nothing is dropped.
    if (deferredTo && !signal.aborted && !cancelled && !lost) return { retryAt: deferredTo };
  };
}

async function sendOne<Run, Message>(channel: CampaignChannel<Run, Message>, run: Run, m: Claimed, lease: Lease, limiter: RateLimiter): Promise<Outcome> {
  const composed = await channel.compose(run, m);
  if ('outcome' in composed) return composed.outcome;
  await limiter.take(m.organizationId);
  // Never hand a message to the provider unless this run still holds it: a run that stalled past
  // its lease may have been replaced, and the replacement may send this row.
  if (!(await lease.confirm())) return { id: m.messageId, status: 'queued' };
  let d: Delivery;
  try {
    d = await channel.transport(run, composed.message, m);
  } catch (err) {
    d = { ok: false, error: err instanceof Error ? err.message : String(err), permanent: false };
  }
  if (d.ok) return { id: m.messageId, status: 'sent', providerMessageId: d.providerMessageId, extra: d.extra };
  const error = d.error.slice(0, 1000);
  if (d.permanent || m.attempts >= channel.maxAttempts) return { id: m.messageId, status: 'failed', error, extra: d.extra };
  const delay = channel.retryBaseMs * 2 ** (m.attempts - 1);
  return { id: m.messageId, status: 'queued', error, nextAttemptAt: new Date(Date.now() + delay), extra: d.extra };
}
