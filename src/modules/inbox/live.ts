import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Bus } from '../../lib/bus.js';

/**
 * Live channels, named from verified ids only: the organization of the agent's principal, the visitor
 * of the signed cookie (within the organization its site token named). Never from client input.
 */
export const agentChannel = (organizationId: string) => `org:${organizationId}:inbox`;
export const visitorChannel = (organizationId: string, visitorId: string) => `org:${organizationId}:visitor:${visitorId}`;

export type LiveEventName = 'conversation.created' | 'conversation.updated' | 'message.created';
export interface LiveEvent {
  channel: string;
  event: LiveEventName;
  data: Record<string, unknown>;
}

/** Events gathered inside a transaction, published once it has committed. */
export class LiveBatch {
  readonly events: LiveEvent[] = [];
  add(channel: string, event: LiveEventName, data: Record<string, unknown>) {
    this.events.push({ channel, event, data });
  }
  async publish(bus: Bus) {
    for (const e of this.events.splice(0)) await bus.publish(e.channel, { event: e.event, data: e.data });
  }
}

export const PING_MS = 15_000;

/**
 * This process's live connections: streams one bus channel per connection to the client as server-sent
 * events (`event: <name>` and a JSON `data:` line per message, a `: ping` comment every 15 s),
 * unsubscribed when the client goes away, and all ended when the server closes.
 */
export class LiveHub {
  private readonly closers = new Set<() => void>();
  constructor(private readonly bus: Bus, app: { addHook(name: 'preClose', fn: () => Promise<void>): unknown }) {
    app.addHook('preClose', async () => {
      for (const c of [...this.closers]) c();
    });
  }

  /** Connections held now. */
  get size() {
    return this.closers.size;
  }

  /**
   * `stillAllowed` (agents): checked before every batch of events is written, and covering only the events
   * that arrived before the check began — so once the session has switched organization (or been signed
   * out, or the key revoked), not one more event of the old organization goes out: the stream ends with
   * `event: reset` and the client reconnects into its new organization.
   */
  stream(req: FastifyRequest, reply: FastifyReply, channel: string, opts: { headers?: Record<string, string>; stillAllowed?: () => Promise<boolean> } = {}) {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      ...opts.headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
      'x-request-id': req.id,
    });
    res.write(': connected\nretry: 3000\n\n');
    const queue: string[] = [];
    let checking = false;
    const flush = async () => {
      if (checking || !queue.length) return;
      checking = true;
      const batch = queue.length;
      let ok = true;
      if (opts.stillAllowed) ok = await opts.stillAllowed().catch(() => false);
      checking = false;
      if (!ok) {
        if (!res.writableEnded) res.end('event: reset\ndata: {"reason":"credentials changed"}\n\n');
        close();
        return;
      }
      if (!res.writableEnded) res.write(queue.splice(0, batch).join(''));
      void flush();
    };
    const unsubscribe = this.bus.subscribe(channel, (payload) => {
      const p = payload as { event?: string; data?: unknown };
      if (typeof p?.event !== 'string' || !/^[a-z.]+$/.test(p.event) || res.writableEnded) return;
      queue.push(`event: ${p.event}\ndata: ${JSON.stringify(p.data ?? {})}\n\n`);
      void flush();
    });
    const ping = setInterval(() => res.write(': ping\n\n'), PING_MS);
    ping.unref();
    const close = () => {
      if (!this.closers.delete(close)) return;
      clearInterval(ping);
      unsubscribe();
      queue.length = 0;
      if (!res.writableEnded) res.end();
    };
    this.closers.add(close);
    res.on('close', close);
    req.raw.on('close', close);
  }
}
