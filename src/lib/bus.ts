/**
 * Publish/subscribe between the processes of one deployment: live inbox events to agents' and
 * visitors' open connections, revoked API keys to every API process's key cache.
 *
 * A channel name is built by the publisher from what it verified (an organization id from the
 * principal or the transaction's scope), never taken from a client. Payloads are JSON values.
 * Delivery is at most once and only to subscribers connected at the time: a live connection that
 * reconnects re-reads its state over the API.
 *
 * Publish after the change has committed, so a subscriber that re-reads sees it.
 */
export interface Bus {
  readonly kind: 'in-process' | 'postgres' | 'redis';
  publish(channel: string, payload: unknown): Promise<void>;
  /** Calls handler for every message on channel until the returned function is called. */
  subscribe(channel: string, handler: (payload: unknown) => void): () => void;
  /**
   * Called after the connection to the broker was lost and is back: messages published meanwhile
   * were not delivered, so a subscriber holding state derived from them (a cache) drops it.
   * The in-process bus never loses messages and never calls it.
   */
  onReconnect(fn: () => void): () => void;
  /** Resolves once every subscription made so far is active at the broker (start-up, tests). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** One process: subscribers are called on the next tick, with a copy of the payload. */
export function inProcessBus(): Bus {
  const subscribers = new Map<string, Set<(payload: unknown) => void>>();
  return {
    kind: 'in-process',
    async publish(channel, payload) {
      const set = subscribers.get(channel);
      if (!set?.size) return;
      const text = JSON.stringify(payload);
      for (const handler of [...set]) queueMicrotask(() => handler(JSON.parse(text)));
    },
    subscribe(channel, handler) {
      let set = subscribers.get(channel);
      if (!set) subscribers.set(channel, (set = new Set()));
      set.add(handler);
      return () => {
        set.delete(handler);
        if (!set.size && subscribers.get(channel) === set) subscribers.delete(channel);
      };
    },
    onReconnect() {
      return () => {};
    },
    async ready() {},
    async close() {
      subscribers.clear();
    },
  };
}

export type BusHandlers = Map<string, Set<(payload: unknown) => void>>;

/**
 * Hands a message received from another process to the channel's subscribers: parsed once, a copy
 * each, a malformed message dropped, a subscriber that throws logged without stopping the others.
 */
export function deliverText(handlers: BusHandlers, channel: string, text: string, log: (msg: string, err?: unknown) => void) {
  const set = handlers.get(channel);
  if (!set?.size) return;
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return;
  }
  for (const h of [...set]) {
    try {
      h(structuredClone(payload));
    } catch (err) {
      log('bus: subscriber threw', err);
    }
  }
}
