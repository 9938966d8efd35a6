import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './errors.js';
import type { App } from './types.js';

/**
 * A preHandler that allows `max` requests per key (default: the client's address) and window, then
 * answers 429 with Retry-After. Counters in @fastify/rate-limit's store: Redis with REDIS_URL (shared by
 * every API process), else in-process.
 * createRateLimit, not the plugin's route option: the plugin's rateLimit() handlers mark the request
 * once one has run, so a second one on the same route would silently never count, and a key may
 * need the principal, known only after the onRequest hook.
 */
export function limiter(app: App, opts: { max: number; windowMs: number; message: string; name?: string; key?: (req: FastifyRequest) => string }) {
  // Every limiter's keys are its own: with REDIS_URL all limiters share one key space in Redis.
  const key = opts.key ?? ((req: FastifyRequest) => `${opts.name ?? opts.message}:${req.ip}`);
  const check = app.createRateLimit({ max: opts.max, timeWindow: opts.windowMs, keyGenerator: key });
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const r = await check(req);
    if (!r.isAllowed && r.isExceeded) {
      reply.header('retry-after', String(r.ttlInSeconds ?? Math.ceil(opts.windowMs / 1000)));
      throw new AppError('rate_limited', opts.message);
    }
  };
}

/** `limiter` per organization (or, unauthenticated, per address). */
export function perOrganization(app: App, opts: { name: string; max: number; windowMs: number; message: string }) {
  return limiter(app, { ...opts, key: (req) => `${opts.name}:${req.principal?.organizationId ?? req.ip}` });
}
