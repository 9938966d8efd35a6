import type { Config } from '../../config.js';
import type { Database } from '../../db/index.js';
import type { JobHandler } from '../../jobs/queue.js';
import { composeMessage, prepareCampaign, type PreparedCampaign } from './compose.js';
import { classifySendError, type Mailer } from './mailer.js';
import { senderIdentity, withIdentity, type SendingIdentity } from '../senders/identity.js';
import { beginSend, claimMessages, failSend, finishSend, recordOutcomes, remaining, type Claimed, type Outcome } from './send-store.js';
import type { TokenSigner } from './tokens.js';

export const CAMPAIGN_QUEUE = 'email.campaign';
export const campaignJobKey = (campaignId: string) => `email-campaign:${campaignId}`;

/** Spaces one organization's sends to its messages/second budget (per worker process); 0 = unlimited. */
export class RateLimiter {
  private next = new Map<string, number>();
  constructor(private readonly perSecond: number) {}
  async take(key: string) {
    if (!this.perSecond) return;
    const now = Date.now();
    const slot = Math.max(now, this.next.get(key) ?? 0);
    this.next.set(key, slot + 1000 / this.perSecond);
    if (slot > now) await new Promise((r) => setTimeout(r, slot - now));
  }
}

export interface SenderDeps {
  db: Database;
  config: Config;
  mailer: Mailer;
  signer: TokenSigner;
  limiter: RateLimiter;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

/**
 * The campaign send job. Message rows drive it, so a stopped, crashed or duplicated run
 * resumes where the rows say: a recorded outcome is never sent again, a queued row is never
 * skipped. Claims run ahead of the SMTP sends (up to `concurrency` in flight) and outcomes are
 * recorded in batches.
 */
export function campaignSendHandler(deps: SenderDeps): JobHandler {
  const { db, config } = deps;
  return async (job, { signal }) => {
    const org = job.organizationId;
    const campaignId = String(job.payload.campaignId);
    const begun = await db.withTenant(org, (tx) => beginSend(tx, org, campaignId));
    if (begun.kind === 'done') return;
    if (begun.kind === 'later') return { retryAt: begun.at };
    // Checked when the send was asked for; checked again here, since a sender can be removed meanwhile.
    const identity = await db.withTenant(org, (tx) => senderIdentity(tx, org, begun.content.fromEmail, config));
    if (!identity) {
      await db.withTenant(org, (tx) => failSend(tx, org, campaignId, 'The sender address is not verified'));
      return;
    }
    const prepared = prepareCampaign(begun.content);

    const concurrency = config.email.concurrency;
    const batch = Math.max(500, concurrency * 50);
    const lowWater = batch / 2;
    const buffer: Claimed[] = [];
    const inflight = new Set<Promise<void>>();
    const outcomes: Outcome[] = [];
    let lastFlush = Date.now();
    let drained = false;
    let cancelled = false;
    // Claims and outcome writes run beside the SMTP sends, never in their way; each is one at a time.
    let claiming: Promise<void> | null = null;
    let after: string | null = null;
    let flushing: Promise<void> = Promise.resolve();

    const flush = () => {
      if (!outcomes.length) return flushing;
      const chunk = outcomes.splice(0);
      lastFlush = Date.now();
      flushing = flushing.then(() => db.withTenant(org, (tx) => recordOutcomes(tx, org, chunk)));
      return flushing;
    };
    const claim = () => {
      claiming ??= db
        .withTenant(org, (tx) => claimMessages(tx, org, campaignId, batch, after))
        .then((got) => {
          if (got === null) cancelled = true;
          // The end of the id range: one more pass from the start picks up retries that came due.
          else if (got.length === 0) after === null ? (drained = true) : (after = null);
          else {
            buffer.push(...got);
            after = got.reduce((max, m) => (m.messageId > max ? m.messageId : max), got[0].messageId);
          }
        })
        .finally(() => (claiming = null));
      return claiming;
    };
    const start = (m: Claimed) => {
      const p = sendOne(deps, prepared, m, identity).then((o) => void outcomes.push(o));
      inflight.add(p);
      void p.finally(() => inflight.delete(p));
    };

    for (;;) {
      if (!signal.aborted && !drained && !cancelled && buffer.length < lowWater) void claim();
      while (!signal.aborted && !cancelled && inflight.size < concurrency && buffer.length) start(buffer.shift()!);
      if (outcomes.length >= batch || (outcomes.length && Date.now() - lastFlush > 250)) void flush();
      if (inflight.size) {
        await Promise.race(inflight);
        continue;
      }
      if (claiming) {
        await claiming;
        continue;
      }
      if (signal.aborted || cancelled) break;
      if (buffer.length) continue;
      if (drained) {
        await flush();
        const left = await db.withTenant(org, (tx) => remaining(tx, org, campaignId));
        if (left.queued === 0) {
          await db.withTenant(org, (tx) => finishSend(tx, org, campaignId));
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
    // Stopped or cancelled: what was sent is recorded; what was claimed but not started goes back.
    await Promise.all(inflight);
    await claiming;
    for (const m of buffer.splice(0)) outcomes.push({ id: m.messageId, status: cancelled ? 'cancelled' : 'queued' });
    await flush();
  };
}

async function sendOne(deps: SenderDeps, prepared: PreparedCampaign, m: Claimed, identity: SendingIdentity): Promise<Outcome> {
  const { config } = deps;
  let mail;
  try {
    mail = withIdentity(composeMessage(prepared, m, deps.signer, config), identity);
  } catch (err) {
    // A template that cannot render for this recipient will not render on a retry either.
    return { id: m.messageId, status: 'failed', error: `Template error: ${(err as Error).message}`.slice(0, 1000) };
  }
  try {
    await deps.limiter.take(m.organizationId);
    const res = await deps.mailer.send(mail);
    return { id: m.messageId, status: 'sent', providerMessageId: res.providerMessageId };
  } catch (err) {
    const { permanent, reply } = classifySendError(err);
    if (permanent || m.attempts >= config.email.maxAttempts) return { id: m.messageId, status: 'failed', error: reply };
    const delay = config.email.retryBaseMs * 2 ** (m.attempts - 1);
    return { id: m.messageId, status: 'queued', error: reply, nextAttemptAt: new Date(Date.now() + delay) };
  }
}
