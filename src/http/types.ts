import type { FastifyBaseLogger, FastifyInstance, RawReplyDefaultExpression, RawRequestDefaultExpression, RawServerDefault } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import type { Bus } from '../lib/bus.js';

export type App = FastifyInstance<RawServerDefault, RawRequestDefaultExpression, RawReplyDefaultExpression, FastifyBaseLogger, ZodTypeProvider>;

/** The DNS lookups the server makes (sender domain verification): node:dns by default, injectable for tests. */
export interface DnsResolver {
  resolveTxt(hostname: string): Promise<string[][]>;
}

export interface ModuleDeps {
  db: Database;
  config: Config;
  /** This process's publish/subscribe (live events, key revocations). */
  bus: Bus;
  dns?: DnsResolver;
}

export const ErrorOut = z.object({ error: z.string(), code: z.string(), details: z.unknown().optional(), requestId: z.string().optional() });
export const IdParams = z.object({ id: z.uuid() });

/** Error responses every authenticated route can give, for the OpenAPI document. */
export const orgErrors = { 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut } as const;
