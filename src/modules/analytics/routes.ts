import { ErrorOut, IdParams, orgErrors, type App, type ModuleDeps } from '../../http/types.js';
import { ingestEvents } from './ingest.js';
import { countEvents, customerTimeline, funnel, listEvents } from './query.js';
import { CountsOut, CountsQuery, EventBatch, EventListQuery, EventPage, FunnelIn, FunnelOut, IngestOut, TimelineQuery } from './schemas.js';

const tags = ['analytics'];

export function registerAnalyticsRoutes(app: App, { config }: ModuleDeps) {
  app.post('/api/analytics/events', {
    config: { access: 'org' },
    // 500 events of up to 16 KiB of properties each would pass 8 MB; batches are far smaller in practice.
    bodyLimit: 4 * 1024 * 1024,
    schema: {
      tags,
      summary: 'Track a batch of up to 500 events (Segment track/identify); bad events are reported by index, the rest stored',
      description:
        'Each event is validated on its own. The answer is 200 whenever the batch itself is well-formed: `accepted` events were stored, ' +
        '`duplicates` carried a messageId already stored (a replay: accepted, not stored twice), and `rejected` lists each refused event by its index with the reason (`validation_failed`, `timestamp_in_future`, ' +
        '`plan_limit` when it names someone who is not a customer yet and the plan has no room for another, `customer_conflict`).',
      operationId: 'trackEvents',
      body: EventBatch,
      response: { 200: IngestOut, 413: ErrorOut, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => ingestEvents(tx, ctx, req.body, config.billing.plans)),
  });

  app.get('/api/analytics/events', {
    config: { access: 'org' },
    schema: {
      tags,
      summary: 'List events newest first (filter customer, event name, time range; cursor pagination)',
      operationId: 'listEvents',
      querystring: EventListQuery,
      response: { 200: EventPage, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => listEvents(tx, ctx, req.query)),
  });

  app.get('/api/analytics/events/counts', {
    config: { access: 'org' },
    schema: {
      tags,
      summary: 'Count an event per hour, day or week (UTC) over a range, optionally distinct customers and filtered on properties (where=prop:value)',
      operationId: 'countEvents',
      querystring: CountsQuery,
      response: { 200: CountsOut, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => countEvents(tx, ctx, req.query)),
  });

  app.post('/api/analytics/funnels', {
    config: { access: 'org' },
    schema: {
      tags,
      summary: 'Customers reaching each step of an ordered funnel within a window of their first step',
      operationId: 'runFunnel',
      body: FunnelIn,
      response: { 200: FunnelOut, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => funnel(tx, ctx, req.body)),
  });

  app.get('/api/customers/:id/events', {
    config: { access: 'org' },
    schema: {
      tags,
      summary: "A customer's timeline: their events from the API and from our channels, newest first",
      operationId: 'listCustomerEvents',
      params: IdParams,
      querystring: TimelineQuery,
      response: { 200: EventPage, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => customerTimeline(tx, ctx, req.params.id, req.query)),
  });
}
