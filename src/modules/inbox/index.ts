import type { JobHandler } from '../../jobs/queue.js';
import type { Module } from '../module.js';
import { registerWidgetAssets } from './assets.js';
import { registerInboundEmail } from './inbound.js';
import { LiveBatch, LiveHub } from './live.js';
import { registerInboxRoutes } from './routes.js';
import { deliverMessages } from './delivery.js';
import { DELIVER_QUEUE, WAKE_QUEUE, wakeConversation } from './service.js';
import { registerWidgetRoutes } from './widget.js';

export { threadInboundSms } from './inbound.js';
export { afterCommit } from './routes.js';
export type { Effects } from './service.js';
/** An empty effects collector (live events, outbound messages) for a transaction that writes to the inbox. */
export const newEffects = () => ({ live: new LiveBatch(), outbound: [] as string[] });

/**
 * The conversations inbox: agents' API and live events, the web widget's public API and bundle, inbound
 * email (SendGrid Inbound Parse; inbound SMS threads in from modules/sms), and the jobs that reopen
 * snoozed conversations at their time and send replies their request left pending.
 */
export const inboxModule: Module = {
  name: 'inbox',
  routes(app, { db, config, bus }) {
    const hub = new LiveHub(bus, app);
    app.decorate('inboxLive', hub);
    const deps = { db, config, bus, hub };
    registerInboxRoutes(app, deps);
    registerWidgetRoutes(app, deps);
    registerInboundEmail(app, deps);
    registerWidgetAssets(app);
  },
  jobs({ db, config, bus }) {
    const wake: JobHandler = async (job) => {
      const fx = { live: new LiveBatch(), outbound: [] as string[] };
      const out = await db.withTenant(job.organizationId, (tx) => wakeConversation(tx, job.organizationId, String(job.payload.conversationId), fx));
      await fx.live.publish(bus);
      if (out.retryAt) return { retryAt: out.retryAt };
    };
    const deliver: JobHandler = (job) => deliverMessages(db, config, bus, job.organizationId, [String(job.payload.messageId)]);
    return { handlers: { [WAKE_QUEUE]: wake, [DELIVER_QUEUE]: deliver } };
  },
};

declare module 'fastify' {
  interface FastifyInstance {
    /** The inbox's live connections in this process (tests and benches read `.size`). */
    inboxLive?: LiveHub;
  }
}
