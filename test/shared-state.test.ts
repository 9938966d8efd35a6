/**
 * Several API processes behind one load balancer: with REDIS_URL they share the counters that must
 * be shared (sign-in throttles, per-address and per-organization rate limits, provider webhook
 * failure limits) and every process drops a revoked API key as soon as the bus carries the news.
 * Two servers on one database and one Redis are two processes' view (test/multi-process.test.ts
 * runs real processes).
 */
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config.js';
import {
  addMember, createApiKey, createTestApp, createTestDatabase, onPostgres, serviceUp, signUpWithOrg, testConfig, TEST_PASSWORD,
  type TestApp, type TestDatabase,
} from './helpers.js';
import { webhookKeys } from './email-support.js';

const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
const base = testConfig();
// Without a local Redis (outside CI) the Redis suites are skipped, named as such.
const redisUp = await serviceUp(6379);
const withRedis = redisUp ? describe : describe.skip;

let database: TestDatabase;
const apps: TestApp[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});
afterAll(async () => {
  // Leave nothing behind in the shared Redis.
  const r = new Redis(REDIS_URL);
  for (const p of prefixes) {
    const keys = await r.keys(`${p}*`);
    if (keys.length) await r.del(...keys);
  }
  r.disconnect();
  await database?.close();
});

/** Two API processes of one deployment: same database, same Redis (one key prefix), or no Redis. */
async function twoProcesses(overrides: Partial<Config> = {}, opts: { redis?: boolean } = {}) {
  const prefix = `sb-test-${randomUUID().slice(0, 8)}:`;
  prefixes.push(prefix);
  const scaleOut = opts.redis === false ? { redisKeyPrefix: prefix } : { redisUrl: REDIS_URL, redisKeyPrefix: prefix };
  const one = await createTestApp({ database, config: { ...overrides, scaleOut } });
  const two = await createTestApp({ database, config: { ...overrides, scaleOut } });
  apps.push(one, two);
  return [one.app, two.app] as const;
}

const signIn = (app: TestApp['app'], email: string, password: string, remoteAddress = '203.0.113.7') =>
  app.inject({ method: 'POST', url: '/api/auth/sign-in', remoteAddress, payload: { email, password } });

withRedis('sign-in throttles with REDIS_URL', () => {
  const signInConfig = { signIn: { maxPerAccount: 3, maxPerIp: 1000, windowSeconds: 900, accountBackoffAfter: 100, backoffSeconds: 30 } };

  it('count failures from every process: the limit trips on the process that saw none of them', async () => {
    const [one, two] = await twoProcesses(signInConfig);
    const owner = await signUpWithOrg(one, 'throttled');
    expect((await signIn(one, owner.email, 'wrong password 1')).statusCode).toBe(401);
    expect((await signIn(two, owner.email, 'wrong password 2')).statusCode).toBe(401);
    expect((await signIn(one, owner.email, 'wrong password 3')).statusCode).toBe(401);
    // Even the right password waits now, on either process.
    for (const app of [two, one]) {
      const res = await signIn(app, owner.email, TEST_PASSWORD);
      expect(res.statusCode, res.body).toBe(429);
      expect(res.json().code).toBe('rate_limited');
      expect(Number(res.headers['retry-after'])).toBeGreaterThan(800);
    }
    // Another address is not locked out by this one's failures.
    expect((await signIn(two, owner.email, TEST_PASSWORD, '203.0.113.8')).statusCode).toBe(200);
  });

  it('slow the account down on every process past the account-wide threshold', async () => {
    const [one, two] = await twoProcesses({ signIn: { maxPerAccount: 100, maxPerIp: 1000, windowSeconds: 900, accountBackoffAfter: 4, backoffSeconds: 60 } });
    const owner = await signUpWithOrg(one, 'backoff');
    for (let i = 0; i < 4; i++) expect((await signIn(i % 2 ? one : two, owner.email, 'nope nope nope', `198.51.100.${i + 1}`)).statusCode).toBe(401);
    // Past the threshold: one attempt per address and backoff, counted across processes.
    expect((await signIn(one, owner.email, TEST_PASSWORD, '198.51.100.50')).statusCode).toBe(200);
    const again = await signIn(two, owner.email, TEST_PASSWORD, '198.51.100.50');
    expect(again.statusCode).toBe(429);
    expect(Number(again.headers['retry-after'])).toBeGreaterThan(50);
  });

  it('without REDIS_URL stay per process (the contrast: this is what Redis fixes)', async () => {
    const [one, two] = await twoProcesses(signInConfig, { redis: false });
    const owner = await signUpWithOrg(one, 'local');
    for (let i = 0; i < 3; i++) expect((await signIn(one, owner.email, `wrong ${i}`)).statusCode).toBe(401);
    expect((await signIn(one, owner.email, TEST_PASSWORD)).statusCode).toBe(429);
    expect((await signIn(two, owner.email, TEST_PASSWORD)).statusCode).toBe(200);
  });
});

withRedis('rate limits with REDIS_URL', () => {
  it('the per-address sign-in limit counts requests to both processes', async () => {
    const [one, two] = await twoProcesses({ signIn: { maxPerAccount: 1000, maxPerIp: 4, windowSeconds: 900, accountBackoffAfter: 1000, backoffSeconds: 30 } });
    const from = '192.0.2.44';
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await signIn(i % 2 ? two : one, `nobody-${i}@example.test`, 'whatever pass', from)).statusCode);
    expect(codes).toEqual([401, 401, 401, 401, 429, 429]);
  });

  it('the provider webhook failure limit refuses an address on both processes once it failed on either', async () => {
    const [one, two] = await twoProcesses({
      email: { ...base.email, sendgridWebhookPublicKey: webhookKeys().publicKey },
      webhooks: { maxFailures: 3, failureWindowSeconds: 60 },
    });
    const from = '192.0.2.77';
    const post = (app: typeof one) =>
      app.inject({ method: 'POST', url: '/api/webhooks/email', remoteAddress: from, headers: { 'content-type': 'application/json' }, payload: '[]' });
    expect((await post(one)).statusCode).toBe(401);
    expect((await post(two)).statusCode).toBe(401);
    expect((await post(one)).statusCode).toBe(401);
    const refused = [await post(two), await post(one)];
    for (const r of refused) {
      expect(r.statusCode).toBe(429);
      expect(r.json().code).toBe('rate_limited');
    }
  });
});

/** Polls with the key on a process until it is refused; returns the milliseconds from `since`. */
async function refusedAfter(app: TestApp['app'], headers: Record<string, string>, since: number, limitMs: number) {
  for (;;) {
    const res = await app.inject({ method: 'GET', url: '/api/customers', headers });
    if (res.statusCode === 401) return Date.now() - since;
    expect(res.statusCode).toBe(200);
    if (Date.now() - since > limitMs) throw new Error(`key still accepted after ${limitMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

const revocationCases = [
  ...(redisUp ? [{ bus: 'redis', redis: true }] : []),
  ...(onPostgres ? [{ bus: 'postgres', redis: false }] : []),
];

describe.each(revocationCases)('revoked API keys over the $bus bus', ({ bus, redis }) => {
  async function processes() {
    const overrides: Partial<Config> = redis ? {} : { scaleOut: { redisKeyPrefix: 'unused:', busDatabaseUrl: database.url } };
    if (redis) return twoProcesses();
    const one = await createTestApp({ database, config: overrides });
    const two = await createTestApp({ database, config: overrides });
    apps.push(one, two);
    return [one.app, two.app] as const;
  }

  it('stop working on the other process as soon as the revocation is announced, well inside the cache TTL', async () => {
    const [one, two] = await processes();
    expect(one.bus.kind).toBe(bus);
    const owner = await signUpWithOrg(one, 'keys');
    const key = await createApiKey(one, owner);
    // Process two has the key cached (API_KEY_CACHE_MS = 10 s).
    expect((await two.inject({ method: 'GET', url: '/api/customers', headers: key.headers })).statusCode).toBe(200);
    expect((await two.inject({ method: 'GET', url: '/api/customers', headers: key.headers })).statusCode).toBe(200);

    const del = await one.inject({ method: 'DELETE', url: `/api/api-keys/${key.id}`, headers: owner.headers });
    expect(del.statusCode).toBe(204);
    const revokedAt = Date.now();
    expect((await one.inject({ method: 'GET', url: '/api/customers', headers: key.headers })).statusCode).toBe(401);
    const ms = await refusedAfter(two, key.headers, revokedAt, 2000);
    console.log(`revoked key refused on the other process ${ms} ms after the revocation answered (${bus} bus)`);
    expect(ms).toBeLessThan(1000);
  });

  it("stop working everywhere when their creator is removed from the organization", async () => {
    const [one, two] = await processes();
    const owner = await signUpWithOrg(one, 'remover');
    const admin = await addMember(one, owner, 'admin', 'leaver');
    const key = await createApiKey(one, admin, 'member');
    expect((await two.inject({ method: 'GET', url: '/api/customers', headers: key.headers })).statusCode).toBe(200);
    const members = (await one.inject({ method: 'GET', url: '/api/organizations/current/members', headers: owner.headers })).json().data;
    const membership = members.find((m: { userId: string }) => m.userId === admin.userId);
    const del = await one.inject({ method: 'DELETE', url: `/api/organizations/current/members/${membership.id}`, headers: owner.headers });
    expect(del.statusCode, del.body).toBe(204);
    expect(await refusedAfter(two, key.headers, Date.now(), 2000)).toBeLessThan(1000);
  });
});
