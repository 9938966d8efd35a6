import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import type { Bus } from '../src/lib/bus.js';
import { inProcessBus } from '../src/lib/bus.js';
import { NOTIFY_PART_BYTES, postgresBus, splitUtf8 } from '../src/lib/bus-postgres.js';
import { redisBus } from '../src/lib/bus-redis.js';
import { serverUrl, serviceUp } from './helpers.js';

/**
 * Two bus instances are two processes' view of one deployment: what one publishes, the other's
 * subscribers of that channel — and only of that channel — receive. Real Redis and real PostgreSQL.
 */
const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const PG_URL = serverUrl ?? 'postgres://postgres@127.0.0.1:5432/postgres';

const open: Bus[] = [];
// Without a local Redis or PostgreSQL (outside CI) those backends' suites are skipped, named as such.
const redisUp = await serviceUp(6379);
const postgresUp = serverUrl ? true : await serviceUp(5432);
const when = (up: boolean) => (up ? describe : describe.skip);
afterEach(async () => {
  await Promise.all(open.splice(0).map((b) => b.close()));
});

function inbox() {
  const got: unknown[] = [];
  const waiters: (() => void)[] = [];
  return {
    got,
    handler: (p: unknown) => {
      got.push(p);
      waiters.splice(0).forEach((w) => w());
    },
    async atLeast(n: number, ms = 5000) {
      const until = Date.now() + ms;
      while (got.length < n) {
        if (Date.now() > until) throw new Error(`got ${got.length} messages, wanted ${n}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
      return got;
    },
  };
}

const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

// A pair shares a deployment (one Redis key prefix); connection names let the test find B's connection.
const backends: { name: string; make: (prefix: string, name: string) => Bus }[] = [
  { name: 'redis', make: (prefix, name) => redisBus({ url: REDIS_URL, prefix, name }) },
  { name: 'postgres', make: (_prefix, name) => postgresBus({ url: PG_URL, name, reconnectMaxMs: 200 }) },
];

for (const backend of backends) {
when(backend.name === 'redis' ? redisUp : postgresUp).each([backend])('$name bus between two processes', ({ name, make }) => {
  function pair(): [Bus, Bus] {
    const prefix = `sb-test-${randomUUID()}:`;
    const a = make(prefix, `sb-test-a-${randomUUID().slice(0, 8)}`);
    const b = make(prefix, `sb-test-b-${randomUUID().slice(0, 8)}`);
    open.push(a, b);
    return [a, b];
  }

  it('delivers a message to the other process, only on the channel subscribed', async () => {
    const [a, b] = pair();
    expect(a.kind).toBe(name);
    const org = randomUUID();
    const mine = inbox();
    const other = inbox();
    const publisherOwn = inbox();
    b.subscribe(`org:${org}:inbox`, mine.handler);
    b.subscribe(`org:${randomUUID()}:inbox`, other.handler);
    a.subscribe(`org:${randomUUID()}:inbox`, publisherOwn.handler);
    await Promise.all([a.ready(), b.ready()]);

    await a.publish(`org:${org}:inbox`, { event: 'message.created', id: 1, text: 'héllo ✓' });
    await a.publish(`org:${org}:inbox`, { event: 'message.created', id: 2 });
    expect(await mine.atLeast(2)).toEqual([{ event: 'message.created', id: 1, text: 'héllo ✓' }, { event: 'message.created', id: 2 }]);
    await settle();
    expect(other.got).toEqual([]);
    expect(publisherOwn.got).toEqual([]);
  });

  it('stops delivering after unsubscribe, and fans out to every subscriber of a channel', async () => {
    const [a, b] = pair();
    const ch = `org:${randomUUID()}:inbox`;
    const one = inbox();
    const two = inbox();
    const stop = b.subscribe(ch, one.handler);
    a.subscribe(ch, two.handler);
    await Promise.all([a.ready(), b.ready()]);
    await a.publish(ch, { n: 1 });
    await one.atLeast(1);
    await two.atLeast(1);
    stop();
    await settle(200);
    await a.publish(ch, { n: 2 });
    await two.atLeast(2);
    await settle();
    expect(one.got).toEqual([{ n: 1 }]);
  });

  it('carries a payload larger than one NOTIFY allows (8000 bytes), intact', async () => {
    const [a, b] = pair();
    const ch = `org:${randomUUID()}:big`;
    const got = inbox();
    b.subscribe(ch, got.handler);
    await b.ready();
    const big = { text: 'ü€𝄞x'.repeat(6000), n: 42 }; // ≈ 66 KB of multi-byte text
    await a.publish(ch, big);
    await a.publish(ch, { small: true });
    expect(await got.atLeast(2)).toEqual([big, { small: true }]);
  });

  it('recovers after its connection is killed, and tells reconnect listeners', async () => {
    const [a, b] = pair();
    const ch = `org:${randomUUID()}:inbox`;
    const got = inbox();
    let reconnects = 0;
    b.subscribe(ch, got.handler);
    b.onReconnect(() => reconnects++);
    await b.ready();
    await a.publish(ch, { before: true });
    await got.atLeast(1);

    await killSubscriberConnection(name);
    const until = Date.now() + 10_000;
    while (reconnects === 0 && Date.now() < until) await settle(50);
    expect(reconnects).toBe(1);
    await b.ready();
    await a.publish(ch, { after: true });
    expect(await got.atLeast(2)).toEqual([{ before: true }, { after: true }]);
  });
});
}

/** Kills the listening connection of a bus from the server's side (as a failover or network cut would). */
async function killSubscriberConnection(kind: string) {
  if (kind === 'postgres') {
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    // The listener is the connection that issued LISTEN; application names are unique per test.
    const { rows } = await c.query(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name LIKE 'sb-test-b-%' AND application_name NOT LIKE '%-publish' AND pid <> pg_backend_pid()`,
    );
    await c.end();
    expect(rows.length).toBeGreaterThan(0);
  } else {
    const r = new Redis(REDIS_URL);
    const list = (await r.client('LIST')) as string;
    const ids = list.split('\n').filter((l) => /name=sb-test-b-/.test(l) && / sub=[1-9]/.test(l)).map((l) => /id=(\d+)/.exec(l)![1]);
    expect(ids.length).toBeGreaterThan(0);
    for (const id of ids) await r.client('KILL', 'ID', id);
    r.disconnect();
  }
}

when(postgresUp)('postgres NOTIFY payload limit', () => {
  it('splits on character boundaries under the part size', () => {
    const text = 'a€𝄞'.repeat(5000);
    const parts = splitUtf8(text, NOTIFY_PART_BYTES);
    expect(parts.join('')).toBe(text);
    for (const p of parts) expect(Buffer.byteLength(p)).toBeLessThanOrEqual(NOTIFY_PART_BYTES);
    expect(parts.length).toBeGreaterThan(1);
  });

  it('refuses a payload too large for any number of parts, delivering nothing', async () => {
    const bus = postgresBus({ url: PG_URL, name: `sb-test-${randomUUID().slice(0, 8)}` });
    open.push(bus);
    await expect(bus.publish('x', { text: 'x'.repeat(NOTIFY_PART_BYTES * 65) })).rejects.toThrow(/too large/);
  });
});

describe('in-process bus', () => {
  it('delivers within the process only to the channel subscribed', async () => {
    const bus = inProcessBus();
    const got = inbox();
    const other = inbox();
    bus.subscribe('a', got.handler);
    bus.subscribe('b', other.handler);
    await bus.publish('a', { x: 1 });
    await got.atLeast(1);
    expect(other.got).toEqual([]);
  });
});
