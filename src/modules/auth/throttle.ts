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
 * not just tried — the owner's — always gets its attempt. In-process, like the per-address limiter.
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
