import fastifyCookie from '@fastify/cookie';
import fastifyMultipart from '@fastify/multipart';
import fastifyRateLimit from '@fastify/rate-limit';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import Fastify from 'fastify';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Database } from '../db/index.js';
import { createJobRunner } from '../jobs/index.js';
import { Redis } from 'ioredis';
import { createBus } from '../lib/create-bus.js';
import type { Bus } from '../lib/bus.js';
import { modules, registerModules } from '../modules/index.js';
import { listenForRevokedKeys, registerPrincipal, sessionCookieName } from '../modules/auth/index.js';
import { enforceAccessModes, type RouteRecord } from './access.js';
import { createLogDestination } from '../lib/log-destination.js';
import { serializerCompiler } from './serializer.js';
import { sendError } from './errors.js';
import { childLoggerFactory, genReqId, serializers } from './logging.js';
import { registerMetrics } from './metrics.js';
import { docsCsp, registerSecurityHeaders } from './security-headers.js';
import type { App, DnsResolver } from './types.js';
import { registerWeb } from './web.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every registered route with its access mode; the isolation tests walk it. */
    routeTable: RouteRecord[];
    /** This process's publish/subscribe. */
    bus: Bus;
    /** Shared counters (sign-in throttles) when REDIS_URL is set; null: in-process. Keys start with config.scaleOut.redisKeyPrefix. */
    redis: Redis | null;
  }
}

export interface ServerOptions {
  config: Config;
  db: Database;
  logger?: boolean;
  /** Where log lines go (default: stdout through a bounded, non-blocking destination). */
  logStream?: { write(line: string): void };
  /** DNS lookups (sender domain verification); node:dns when not given. */
  dns?: DnsResolver;
  /** Publish/subscribe shared with the in-process worker (default: createBus, closed with the server). */
  bus?: Bus;
  /** The built dashboard (default dist/web; `false` serves none). */
  webRoot?: string | false;
}

export async function buildServer({ config, db, logger = true, logStream, dns, webRoot, bus: givenBus }: ServerOptions): Promise<App> {
  const app = Fastify({
    logger: logger
      ? { level: config.logLevel, stream: logStream ?? createLogDestination(), serializers, redact: ['req.headers.authorization', 'req.headers.cookie'] }
      : false,
    bodyLimit: config.bodyLimitBytes,
    trustProxy: config.trustProxy,
    genReqId,
    childLoggerFactory,
    return503OnClosing: true,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorate('routeTable', [] as RouteRecord[]);
  enforceAccessModes(app, app.routeTable);

  app.setErrorHandler((err, _req, reply) => sendError(reply, err));
  // Unknown /api paths are JSON 404s; other GETs load the dashboard when it is built (web.ts).
  registerWeb(app, config, webRoot);
  // JSON is the API's body format (routes that take another add their own parser); a text/plain body is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain');
  // Set when the request arrives, so every reply carries it (errors and 404s keep headers set before them).
  app.addHook('onRequest', (req, reply, done) => {
    reply.header('x-request-id', req.id);
    done();
  });

  await registerSecurityHeaders(app, config);
  await app.register(fastifyCookie, { secret: config.secrets.session });
  // With REDIS_URL every rate limit (limiter, failureLimit) counts in Redis, shared by all API
  // processes; a Redis error lets the request through (skipOnError) rather than failing it.
  // Without it: in-process, a large LRU so many accounts' counters cannot push a targeted account's counter out.
  const redisUrl = config.scaleOut?.redisUrl;
  const redis = redisUrl ? new Redis(redisUrl, { connectionName: 'switchboard-counters', maxRetriesPerRequest: 2, enableOfflineQueue: true }) : null;
  if (redis) {
    redis.on('error', (err) => app.log.warn({ err }, 'redis (shared counters) error'));
    app.addHook('onClose', async () => void (await redis.quit().catch(() => redis.disconnect())));
  }
  app.decorate('redis', redis);
  await app.register(
    fastifyRateLimit,
    redis ? { global: false, redis, nameSpace: `${config.scaleOut!.redisKeyPrefix}rate-limit:`, skipOnError: true } : { global: false, cache: 100_000 },
  );
  await app.register(fastifyMultipart, { limits: { files: 1, fields: 10, fileSize: config.importLimitBytes } });
  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'Switchboard API', version: '0.1.0', description: 'Multi-tenant customer-engagement platform. The contract: docs/api.md; changes to it: CHANGELOG.md.' },
      // Relative: the deployment that serves this document (PUBLIC_URL).
      servers: [{ url: '/', description: 'This deployment' }],
      components: {
        securitySchemes: {
          apiKey: { type: 'http', scheme: 'bearer', description: 'An API key: `Authorization: Bearer sb_…`' },
          session: { type: 'apiKey', in: 'cookie', name: sessionCookieName(config) },
        },
      },
      security: [{ apiKey: [] }, { session: [] }],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/api/docs', staticCSP: docsCsp(config) });

  const bus = givenBus ?? (await createBus(config, db, (msg, err) => app.log.warn({ err }, msg)));
  app.decorate('bus', bus);
  if (!givenBus) app.addHook('onClose', async () => bus.close());
  // Revoked API keys leave this process's key cache when any process announces them.
  const stopRevocations = listenForRevokedKeys(bus, db);
  app.addHook('onClose', async () => stopRevocations());
  // Subscriptions are live at the broker before the first request (bounded: a broker that is down is retried in the background).
  app.addHook('onReady', async () => {
    await Promise.race([bus.ready().catch((err) => app.log.warn({ err }, 'bus not ready')), new Promise((r) => setTimeout(r, 5000).unref())]);
  });

  registerPrincipal(app, { db, config });
  registerMetrics(app, config);

  app.get('/api/health', {
    config: { access: 'public' },
    schema: {
      tags: ['platform'],
      operationId: 'getHealth', summary: 'Liveness and database reachability',
      response: { 200: z.object({ status: z.literal('ok'), database: z.literal('up') }), 503: z.object({ status: z.literal('degraded'), database: z.literal('down') }) },
    },
    handler: async (_req, reply) =>
      (await db.ping()) ? { status: 'ok' as const, database: 'up' as const } : reply.code(503).send({ status: 'degraded' as const, database: 'down' as const }),
  });

  app.get('/api/openapi.json', {
    config: { access: 'public' },
    schema: { tags: ['platform'], operationId: 'getOpenApiDocument', summary: 'This OpenAPI document' },
    handler: async () => app.swagger(),
  });

  registerModules(app, { db, config, bus, dns });

  // Job workers run in the server process unless JOBS_IN_PROCESS=false (then `npm run worker`).
  const jobs = config.jobs.inProcess ? createJobRunner({ db, config, bus, modules, log: app.log }) : null;
  app.decorate('jobs', jobs);
  if (jobs) {
    app.addHook('onReady', async () => void jobs.start());
    app.addHook('onClose', async () => jobs.stop());
  }
  return app;
}
