import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { AppError } from '../../http/errors.js';

interface Counter {
  n: number;
  until: number;
}

/**
 * Sign-in throttling that a stranger cannot turn into a lockout. Failures count per (account,
 * client address) pair, so an attacker exhausts only their own address's allowance. Past
 * `backoffAfter` failures on the account from every address together, each address gets one
 * attempt per `backoffMs` for that account: guessing slows down everywhere, yet an address that has
 * not just tried — the owner's — always gets its attempt. This class counts in-process; redisSignInLimits below shares the counts through Redis (REDIS_URL).
 */
export class SignInThrottle {
  private pairs = new Map<string, Counter>();
  private accounts = new Map<string, Counter>();
  private lastTry = new Map<string, number>();

  constructor(private readonly opts: { maxPerPair: number; windowMs: number; backoffAfter: number; backoffMs: number; maxEntries?: number }) {}

  /** Throws a 429 with the seconds to wait when this address may not try this account now. */
  check(account: string, ip: string, now = Date.now()) {
    const pairKey = `${account}\n${ip}`;
    const pair = this.live(this.pairs, pairKey, now);
    if (pair && pair.n >= this.opts.maxPerPair) throw limited(pair.until - now);
    const acc = this.live(this.accounts, account, now);
    if (acc && acc.n >= this.opts.backoffAfter) {
      const last = this.lastTry.get(pairKey) ?? 0;
      if (now - last < this.opts.backoffMs) throw limited(last + this.opts.backoffMs - now);
      this.remember(this.lastTry, pairKey, now);
    }
  }

  failed(account: string, ip: string, now = Date.now()) {
    this.bump(this.pairs, `${account}\n${ip}`, now);
    this.bump(this.accounts, account, now);
  }

  succeeded(account: string, ip: string) {
    this.pairs.delete(`${account}\n${ip}`);
  }

  private live(map: Map<string, Counter>, key: string, now: number) {
    const c = map.get(key);
    if (c && c.until <= now) {
      map.delete(key);
      return undefined;
    }
    return c;
  }

  private bump(map: Map<string, Counter>, key: string, now: number) {
    const c = this.live(map, key, now);
    if (c) c.n++;
    else this.remember(map, key, { n: 1, until: now + this.opts.windowMs });
  }

  /** Bounded: the oldest entry goes first, so memory stays flat under a spray of addresses. */
  private remember<V>(map: Map<string, V>, key: string, value: V) {
    map.delete(key);
    if (map.size >= (this.opts.maxEntries ?? 100_000)) map.delete(map.keys().next().value!);
    map.set(key, value);
  }
}

function limited(ms: number) {
  return Object.assign(new AppError('rate_limited', 'Too many sign-in attempts'), { retryAfter: Math.max(1, Math.ceil(ms / 1000)) });
}

/** Sign-in throttling as the sign-in route uses it: in-process (SignInThrottle) or shared (RedisSignInThrottle). */
export interface SignInLimits {
  check(account: string, ip: string): Promise<void>;
  failed(account: string, ip: string): Promise<void>;
  succeeded(account: string, ip: string): Promise<void>;
}

export function inProcessSignInLimits(t: SignInThrottle): SignInLimits {
  return {
    check: async (account, ip) => t.check(account, ip),
    failed: async (account, ip) => t.failed(account, ip),
    succeeded: async (account, ip) => t.succeeded(account, ip),
  };
}

type ThrottleOpts = ConstructorParameters<typeof SignInThrottle>[0];

/**
 * The same rules as SignInThrottle with the counters in Redis (REDIS_URL), so every API process
 * sees every failure: a guesser spreading attempts across processes behind a load balancer meets
 * the same limits as against one. Keys hold a hash of the account, never the address itself:
 * `<prefix>sign-in:pair:<h(account, ip)>`, `…:account:<h(account)>`, `…:last:<h(account, ip)>`, each
 * expiring with its window. If Redis fails, the process's own counters answer meanwhile (never open).
 */
export function redisSignInLimits(redis: Redis, prefix: string, opts: ThrottleOpts, log?: (err: unknown) => void): SignInLimits {
  const local = new SignInThrottle(opts);
  const h = (...parts: string[]) => createHash('sha256').update(parts.join('\n')).digest('base64url').slice(0, 32);
  const pairKey = (account: string, ip: string) => `${prefix}sign-in:pair:${h(account, ip)}`;
  const accountKey = (account: string) => `${prefix}sign-in:account:${h(account)}`;
  const lastKey = (account: string, ip: string) => `${prefix}sign-in:last:${h(account, ip)}`;
  return {
    async check(account, ip) {
      try {
        const [pair, acc] = await redis.mget(pairKey(account, ip), accountKey(account));
        if (Number(pair) >= opts.maxPerPair) {
          const ttl = await redis.pttl(pairKey(account, ip));
          throw limited(ttl > 0 ? ttl : opts.windowMs);
        }
        if (Number(acc) >= opts.backoffAfter) {
          // One attempt per backoff for this address: whoever sets the marker first has it.
          if ((await redis.set(lastKey(account, ip), '1', 'PX', opts.backoffMs, 'NX')) === 'OK') return;
          const ttl = await redis.pttl(lastKey(account, ip));
          throw limited(ttl > 0 ? ttl : opts.backoffMs);
        }
      } catch (err) {
        if (err instanceof AppError) throw err;
        // Redis is away: this process's own counts (kept alongside) decide meanwhile.
        log?.(err);
        local.check(account, ip);
      }
    },
    async failed(account, ip) {
      local.failed(account, ip);
      try {
        // INCR, and the window starts with the first failure (PEXPIRE NX: only when none is set).
        await redis
          .multi()
          .incr(pairKey(account, ip))
          .pexpire(pairKey(account, ip), opts.windowMs, 'NX')
          .incr(accountKey(account))
          .pexpire(accountKey(account), opts.windowMs, 'NX')
          .exec();
      } catch (err) {
        log?.(err);
      }
    },
    async succeeded(account, ip) {
      local.succeeded(account, ip);
      try {
        await redis.del(pairKey(account, ip));
      } catch (err) {
        log?.(err);
      }
    },
  };
}
