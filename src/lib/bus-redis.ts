import { Redis } from 'ioredis';
import { deliverText, type Bus, type BusHandlers } from './bus.js';

/**
 * The bus over Redis pub/sub (REDIS_URL): one connection publishes, one is in subscriber mode and
 * holds a Redis SUBSCRIBE for each channel this process listens on, so a process receives only its
 * channels. ioredis reconnects and re-subscribes by itself; what was published meanwhile is lost
 * (at most once, as the Bus contract says), and reconnect listeners are told so they can resync.
 * Channels are namespaced with the key prefix, so deployments may share one Redis.
 */
export function redisBus(opts: { url: string; prefix?: string; log?: (msg: string, err?: unknown) => void; name?: string }): Bus {
  const prefix = `${opts.prefix ?? 'switchboard:'}bus:`;
  const log = opts.log ?? (() => {});
  const common = { lazyConnect: true, connectionName: opts.name ?? 'switchboard-bus', maxRetriesPerRequest: 3, retryStrategy: (n: number) => Math.min(50 * 2 ** n, 2000) };
  let pub: Redis | null = null;
  let sub: Redis | null = null;
  const handlers: BusHandlers = new Map();
  const reconnectListeners = new Set<() => void>();
  let closed = false;

  const publisher = () => {
    if (!pub) {
      pub = new Redis(opts.url, common);
      pub.on('error', (err) => log('bus: redis publisher error', err));
    }
    return pub;
  };
  const subscriber = () => {
    if (!sub) {
      const s = new Redis(opts.url, { ...common, autoResubscribe: true });
      s.on('error', (err) => log('bus: redis subscriber error', err));
      let connectedOnce = false;
      s.on('ready', () => {
        if (connectedOnce) for (const fn of reconnectListeners) fn();
        connectedOnce = true;
      });
      s.on('message', (ch: string, text: string) => {
        if (!ch.startsWith(prefix)) return;
        deliverText(handlers, ch.slice(prefix.length), text, log);
      });
      sub = s;
    }
    return sub;
  };

  return {
    kind: 'redis',
    async publish(channel, payload) {
      if (closed) return;
      await publisher().publish(prefix + channel, JSON.stringify(payload));
    },
    subscribe(channel, handler) {
      let set = handlers.get(channel);
      if (!set) {
        handlers.set(channel, (set = new Set()));
        subscriber().subscribe(prefix + channel).catch((err) => log(`bus: subscribe ${channel} failed`, err));
      }
      set.add(handler);
      return () => {
        set.delete(handler);
        if (!set.size && handlers.get(channel) === set) {
          handlers.delete(channel);
          if (!closed) sub?.unsubscribe(prefix + channel).catch(() => {});
        }
      };
    },
    onReconnect(fn) {
      reconnectListeners.add(fn);
      return () => void reconnectListeners.delete(fn);
    },
    /** Resolves once the subscriptions made so far are active on the server (tests, start-up). */
    async ready() {
      if (handlers.size) await subscriber().subscribe(...[...handlers.keys()].map((c) => prefix + c));
    },
    async close() {
      closed = true;
      handlers.clear();
      reconnectListeners.clear();
      await Promise.all([pub, sub].map((c) => c?.quit().catch(() => c.disconnect())));
    },
  };
}
