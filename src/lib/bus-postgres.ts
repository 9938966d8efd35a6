import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import { deliverText, type Bus, type BusHandlers } from './bus.js';

/** PostgreSQL refuses a NOTIFY payload of 8000 bytes or more; a part stays well under it. */
export const NOTIFY_PART_BYTES = 7000;
/** A message is at most this many parts (about 448 KB); a bigger payload is refused at publish. */
export const NOTIFY_MAX_PARTS = 64;
/** Parts of a message not completed within this long are dropped (they arrive together at commit). */
const PARTS_TIMEOUT_MS = 10_000;

/**
 * The PostgreSQL channel for a bus channel: `sb_` and a hash, since a LISTEN name is an identifier
 * of at most 63 bytes and bus channels are free text. The bus channel travels in the message too,
 * and is checked on receipt, so even a hash collision delivers nothing to the wrong subscriber.
 */
export const pgChannel = (channel: string) => `sb_${createHash('sha256').update(channel).digest('hex').slice(0, 40)}`;

/**
 * Splits text into pieces of at most maxBytes UTF-8 bytes, never inside a character.
 * Exported for the tests.
 */
export function splitUtf8(text: string, maxBytes: number): string[] {
  const parts: string[] = [];
  let cur = '';
  let bytes = 0;
  for (const ch of text) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) {
      parts.push(cur);
      cur = '';
      bytes = 0;
    }
    cur += ch;
    bytes += n;
  }
  parts.push(cur);
  return parts;
}

/**
 * The bus over PostgreSQL LISTEN/NOTIFY, for deployments without Redis. One dedicated client
 * (a session: LISTEN does not survive a transaction pooler, so this URL must reach PostgreSQL or a
 * session-mode pool) listens on one PostgreSQL channel per bus channel subscribed here, so a process
 * receives only its channels. It reconnects with backoff after any error and LISTENs again;
 * messages sent while it was away are lost (at most once) and reconnect listeners are told.
 *
 * Publishing uses a small separate pool: `pg_notify` in one transaction per message. A payload
 * over NOTIFY_PART_BYTES is sent as numbered parts in that one transaction — PostgreSQL delivers a
 * transaction's notifications together and in order, at commit — and reassembled on receipt.
 * Wire format of one notification: `<message id> <part> <parts> <channel length>:<channel><text>`.
 */
export function postgresBus(opts: { url: string; log?: (msg: string, err?: unknown) => void; reconnectMaxMs?: number; name?: string }): Bus {
  const log = opts.log ?? (() => {});
  const handlers: BusHandlers = new Map();
  const reconnectListeners = new Set<() => void>();
  const partial = new Map<string, { parts: string[]; got: number; timer: NodeJS.Timeout }>();
  let pool: pg.Pool | null = null;
  let client: pg.Client | null = null;
  let connecting: Promise<pg.Client | null> | null = null;
  let closed = false;
  let connectedOnce = false;
  let retryMs = 100;
  let retryTimer: NodeJS.Timeout | null = null;
  // Queries on the listening client run one after another (pg wants no overlap on a client).
  let queue: Promise<unknown> = Promise.resolve();
  const run = (c: pg.Client, text: string) => {
    const next = queue.then(() => c.query(text));
    queue = next.catch(() => {});
    return next;
  };

  const deliver = (channel: string, text: string) => deliverText(handlers, channel, text, log);

  const onNotification = (msg: pg.Notification) => {
    const m = /^(\S+) (\d+) (\d+) (\d+):/.exec(msg.payload ?? '');
    if (!m) return;
    const [head, id, iStr, nStr, lenStr] = m;
    const rest = msg.payload!.slice(head.length);
    const channel = rest.slice(0, Number(lenStr));
    // The channel must be the one this PostgreSQL channel stands for and one we listen on.
    if (pgChannel(channel) !== msg.channel || !handlers.has(channel)) return;
    const text = rest.slice(Number(lenStr));
    const i = Number(iStr);
    const n = Number(nStr);
    if (n === 1) return deliver(channel, text);
    if (n > NOTIFY_MAX_PARTS || i >= n) return;
    const key = `${channel}\n${id}`;
    let p = partial.get(key);
    if (!p) {
      p = { parts: new Array(n), got: 0, timer: setTimeout(() => partial.delete(key), PARTS_TIMEOUT_MS) };
      p.timer.unref();
      partial.set(key, p);
    }
    if (p.parts[i] === undefined) {
      p.parts[i] = text;
      p.got++;
    }
    if (p.got === n) {
      clearTimeout(p.timer);
      partial.delete(key);
      deliver(channel, p.parts.join(''));
    }
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer) return;
    retryTimer = setTimeout(() => {
      retryTimer = null;
      void connect();
    }, retryMs);
    retryTimer.unref();
    retryMs = Math.min(retryMs * 2, opts.reconnectMaxMs ?? 5000);
  };

  const drop = (c: pg.Client, err?: unknown) => {
    if (client !== c) return;
    client = null;
    if (err) log('bus: postgres listener lost', err);
    c.removeAllListeners('notification');
    c.end().catch(() => {});
    scheduleReconnect();
  };

  /** The listening client, connected and LISTENing on every subscribed channel; null while down. */
  const connect = (): Promise<pg.Client | null> => {
    if (client) return Promise.resolve(client);
    if (connecting) return connecting;
    connecting = (async () => {
      const c = new pg.Client({ connectionString: opts.url, keepAlive: true, application_name: opts.name ?? 'switchboard-bus' });
      c.on('error', (err) => drop(c, err));
      c.on('end', () => drop(c));
      try {
        await c.connect();
        c.on('notification', onNotification);
        for (const ch of handlers.keys()) await run(c, `LISTEN ${pgChannel(ch)}`);
        if (closed) {
          await c.end();
          return null;
        }
        client = c;
        retryMs = 100;
        if (connectedOnce) for (const fn of reconnectListeners) fn();
        connectedOnce = true;
        return c;
      } catch (err) {
        log('bus: postgres listener could not connect', err);
        c.removeAllListeners('notification');
        c.end().catch(() => {});
        scheduleReconnect();
        return null;
      } finally {
        connecting = null;
      }
    })();
    return connecting;
  };

  const listen = async (channel: string, on: boolean) => {
    const c = await connect();
    // While down, the reconnect LISTENs on whatever is subscribed then.
    if (!c || closed) return;
    try {
      await run(c, `${on ? 'LISTEN' : 'UNLISTEN'} ${pgChannel(channel)}`);
    } catch (err) {
      drop(c, err);
    }
  };

  return {
    kind: 'postgres',
    async publish(channel, payload) {
      if (closed) return;
      const parts = splitUtf8(JSON.stringify(payload), NOTIFY_PART_BYTES);
      if (parts.length > NOTIFY_MAX_PARTS) throw new Error(`bus: payload for ${channel} too large for NOTIFY (${parts.length} parts of ${NOTIFY_PART_BYTES} bytes)`);
      pool ??= new pg.Pool({ connectionString: opts.url, max: 2, idleTimeoutMillis: 30_000, application_name: `${opts.name ?? 'switchboard-bus'}-publish` });
      const id = randomUUID();
      const target = pgChannel(channel);
      const head = (i: number) => `${id} ${i} ${parts.length} ${channel.length}:${channel}`;
      if (parts.length === 1) {
        await pool.query('SELECT pg_notify($1, $2)', [target, head(0) + parts[0]]);
        return;
      }
      const c = await pool.connect();
      try {
        await c.query('BEGIN');
        for (let i = 0; i < parts.length; i++) await c.query('SELECT pg_notify($1, $2)', [target, head(i) + parts[i]]);
        await c.query('COMMIT');
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    },
    subscribe(channel, handler) {
      let set = handlers.get(channel);
      if (!set) {
        handlers.set(channel, (set = new Set()));
        void listen(channel, true);
      }
      set.add(handler);
      return () => {
        set.delete(handler);
        if (!set.size && handlers.get(channel) === set) {
          handlers.delete(channel);
          if (!closed) void listen(channel, false);
        }
      };
    },
    onReconnect(fn) {
      reconnectListeners.add(fn);
      return () => void reconnectListeners.delete(fn);
    },
    async ready() {
      if (!handlers.size) return;
      const c = await connect();
      // Every LISTEN issued before this query has been answered by the server.
      if (c) await run(c, 'SELECT 1');
    },
    async close() {
      closed = true;
      if (retryTimer) clearTimeout(retryTimer);
      for (const p of partial.values()) clearTimeout(p.timer);
      partial.clear();
      handlers.clear();
      reconnectListeners.clear();
      await connecting?.catch(() => null);
      const c = client;
      client = null;
      await Promise.all([c?.end().catch(() => {}), pool?.end().catch(() => {})]);
    },
  };
}
