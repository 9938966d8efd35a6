import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from './errors.js';
import type { App } from './types.js';

/**
 * A preHandler that allows `max` requests per organization (or, unauthenticated, per address) and
 * window, then answers 429 with Retry-After. In-process counters, like sign-in throttling.
 * createRateLimit, not the plugin's route option: the check runs after the principal is known.
 */
export function perOrganization(app: App, opts: { name: string; max: number; windowMs: number; message: string }) {
  const check = app.createRateLimit({
    max: opts.max,
    timeWindow: opts.windowMs,
    keyGenerator: (req) => `${opts.name}:${req.principal?.organizationId ?? req.ip}`,
  });
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const r = await check(req);
    if (!r.isAllowed && r.isExceeded) {
      reply.header('retry-after', String(r.ttlInSeconds ?? Math.ceil(opts.windowMs / 1000)));
      throw new AppError('rate_limited', opts.message);
    }
  };
}
