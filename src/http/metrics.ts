import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { AppError } from './errors.js';
import { z } from 'zod';
import { ErrorOut } from './types.js';
import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Prometheus metrics: per-organization request, error and latency figures, labelled by the
 * route pattern (never the raw URL, so ids do not explode the label set).
 */
export function registerMetrics(app: FastifyInstance, config: Config) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status', 'organization'] as const;
  const requests = new Counter({ name: 'switchboard_http_requests_total', help: 'HTTP requests', labelNames, registers: [registry] });
  const errors = new Counter({ name: 'switchboard_http_errors_total', help: 'HTTP responses with status >= 400', labelNames, registers: [registry] });
  const latency = new Histogram({
    name: 'switchboard_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'organization'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions.url ?? 'unmatched';
    if (route === '/metrics') return;
    const organization = req.principal?.organizationId ?? 'none';
    const labels = { method: req.method, route, status: String(reply.statusCode), organization };
    requests.inc(labels);
    if (reply.statusCode >= 400) errors.inc(labels);
    latency.observe({ method: req.method, route, organization }, reply.elapsedTime / 1000);
  });

  app.get('/metrics', {
    config: { access: 'public' },
    schema: { tags: ['platform'], operationId: 'getMetrics', summary: 'Prometheus metrics (text format); 404 unless METRICS_TOKEN is set, then that bearer token is required', response: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } }, 401: ErrorOut, 404: ErrorOut } },
    handler: async (req, reply) => {
      // Per-organization figures are operator data: off unless METRICS_TOKEN is set, in every environment
      // (a development server listening beyond localhost would otherwise publish every tenant's traffic).
      if (!config.metricsToken) throw new AppError('not_found');
      const given = Buffer.from(req.headers.authorization ?? '');
      const want = Buffer.from(`Bearer ${config.metricsToken}`);
      if (given.length !== want.length || !timingSafeEqual(given, want)) throw new AppError('unauthorized');
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  });
}
