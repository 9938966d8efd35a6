import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './errors.js';

export interface FailureLimit {
  /** onRequest hook: refuses an address that used up its failures (429 with Retry-After) before any work. */
  refuse(req: FastifyRequest, reply: FastifyReply): Promise<void>;
  /** onResponse hook: counts a refused (unauthenticated) answer against the client's address. */
  count(req: FastifyRequest, reply: FastifyReply): Promise<void>;
}

/**
 * Rate limit on unauthenticated failures per client address, for routes anyone can reach but only a
 * signer may use (provider webhooks). Successes cost nothing, so a provider's volume never trips it;
 * a client that keeps failing is refused before its body is read or its signature checked. The counts
 * live in @fastify/rate-limit's store (registered in server.ts).
 */
export function failureLimit(
  app: FastifyInstance,
  opts: { name: string; max: number; windowSeconds: number; failures: (status: number) => boolean },
): FailureLimit {
  const check = app.createRateLimit({ max: opts.max, timeWindow: opts.windowSeconds * 1000, keyGenerator: (req) => `${opts.name}:failures:${req.ip}` });
  return {
    async refuse(req, reply) {
      const r = await check(req, { increment: false });
      if (r.isAllowed || (r.remaining ?? 1) > 0) return;
      reply.header('retry-after', String(Math.max(1, r.ttlInSeconds ?? opts.windowSeconds)));
      // The client may be sending a large body: close rather than drain it.
      reply.header('connection', 'close');
      throw new AppError('rate_limited', 'Too many failed requests from this address');
    },
    async count(req, reply) {
      if (opts.failures(reply.statusCode)) await check(req);
    },
  };
}
