import { z } from 'zod';
import { pageOf } from '../../lib/pagination.js';
import { attributesProblem } from '../customers/schemas.js';

/** Events per request (Segment's batch endpoint takes about as many at its 500 KB limit). */
export const MAX_BATCH = 500;
/** How far ahead of the server's clock an event's timestamp may be (a client clock running fast). */
export const FUTURE_TOLERANCE_MS = 24 * 60 * 60 * 1000;

/** A JSON object at most 32 levels deep and 16 KiB as JSON: the customers' attributes rule. */
const JsonObject = z.record(z.string().max(200), z.unknown()).superRefine((a, ctx) => {
  const problem = attributesProblem(a);
  if (problem) ctx.addIssue({ code: 'custom', message: problem.replace('attributes', 'this object') });
});
const Id = z.string().trim().min(1).max(200);
const Name = z.string().trim().min(1).max(200);

/** Fields of Segment's spec that we accept and ignore, so a Segment library's payload passes as sent. */
const segmentEnvelope = {
  context: z.record(z.string(), z.unknown()).optional(),
  integrations: z.record(z.string(), z.unknown()).optional(),
  sentAt: z.string().max(64).optional(),
  originalTimestamp: z.string().max(64).optional(),
  channel: z.string().max(64).optional(),
  version: z.union([z.string().max(16), z.number()]).optional(),
};
const who = {
  /** The organization's own id for the customer (stored as the customer's externalId). */
  userId: Id.optional(),
  anonymousId: Id.optional(),
  email: z.email().max(254).optional(),
  timestamp: z.iso.datetime({ offset: true }).optional(),
  messageId: Id.optional(),
  ...segmentEnvelope,
};

export const TrackEvent = z.strictObject({ type: z.literal('track'), event: Name, properties: JsonObject.optional(), ...who });
export const IdentifyEvent = z.strictObject({ type: z.literal('identify'), traits: JsonObject.optional(), ...who });
/** One event of a batch, validated on its own so that a bad one is reported by index and the rest stored. */
export const EventIn = z
  .discriminatedUnion('type', [TrackEvent, IdentifyEvent])
  .refine((e) => Boolean(e.userId || e.anonymousId || e.email || (e.type === 'identify' && typeof e.traits?.email === 'string')), {
    message: 'An event needs userId, anonymousId or email',
    path: ['userId'],
  });
export type EventIn = z.infer<typeof EventIn>;

const batchExample = {
  batch: [
    { type: 'identify', userId: 'user-42', anonymousId: 'anon-7f3a', traits: { email: 'ada@example.com', firstName: 'Ada', plan: 'pro' }, messageId: 'msg-0001' },
    { type: 'track', userId: 'user-42', event: 'Order Completed', properties: { total: 42.5, currency: 'EUR' }, timestamp: '2026-11-02T10:00:00Z', messageId: 'msg-0002' },
  ],
};

/**
 * The batch: each item is checked on its own (see TrackEvent / IdentifyEvent), so items are typed
 * loosely here and a bad one costs only itself.
 */
export const EventBatch = z
  .strictObject({
    batch: z
      .array(z.record(z.string(), z.unknown()).meta({ description: 'A track or identify event (Segment spec): see the API guide for its fields.' }))
      .min(1)
      .max(MAX_BATCH),
  })
  .meta({ example: batchExample });
export type EventBatch = z.infer<typeof EventBatch>;

export const IngestOut = z.object({
  /** Events stored by this request. */
  accepted: z.number().int(),
  /** Events whose messageId was already stored (accepted before; not stored twice). */
  duplicates: z.number().int(),
  rejected: z.array(z.object({ index: z.number().int(), error: z.string(), details: z.unknown().optional() })),
});

export const EventOut = z.object({
  id: z.uuid(),
  type: z.enum(['track', 'identify']),
  name: z.string(),
  customerId: z.uuid().nullable(),
  properties: z.record(z.string(), z.unknown()),
  messageId: z.string(),
  source: z.enum(['api', 'internal']),
  timestamp: z.string(),
  receivedAt: z.string(),
});
export const EventPage = pageOf(EventOut);

const Time = z.iso.datetime({ offset: true });
export const EventListQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(200).default(50),
  cursor: z.string().max(300).optional(),
  customerId: z.uuid().optional(),
  event: Name.optional(),
  from: Time.optional(),
  to: Time.optional(),
});
export type EventListQuery = z.infer<typeof EventListQuery>;
export const TimelineQuery = EventListQuery.omit({ customerId: true });
export type TimelineQuery = z.infer<typeof TimelineQuery>;

export const Interval = z.enum(['hour', 'day', 'week']);
const PropertyKey = z.string().regex(/^[A-Za-z0-9_$-]{1,64}$/, 'A property name: letters, digits, _ $ -');
/** `where=plan:pro` (repeatable, at most 5): events whose property equals the value, compared as text. */
const PropertyFilter = z.string().max(270).regex(/^[A-Za-z0-9_$-]{1,64}:.{0,200}$/, 'property:value');
export const CountsQuery = z.strictObject({
  event: Name,
  interval: Interval.default('day'),
  from: Time,
  to: Time,
  unique: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  where: z
    .union([PropertyFilter, z.array(PropertyFilter).max(5)])
    .optional()
    .transform((w) => Object.fromEntries((w === undefined ? [] : Array.isArray(w) ? w : [w]).map((f) => [f.slice(0, f.indexOf(':')), f.slice(f.indexOf(':') + 1)]))),
});
export type CountsQuery = z.infer<typeof CountsQuery>;
export const CountsOut = z.object({
  event: z.string(),
  interval: Interval,
  unique: z.boolean(),
  total: z.number().int(),
  buckets: z.array(z.object({ start: z.string(), count: z.number().int() })),
});

export const FunnelIn = z
  .strictObject({
    steps: z.array(z.strictObject({ event: Name, where: z.record(PropertyKey, z.string().max(200)).optional() })).min(2).max(10),
    from: Time,
    to: Time,
    /** A customer's later steps count only within this many hours of their first step. */
    windowHours: z.number().int().min(1).max(24 * 90).default(24 * 7),
  })
  .meta({ example: { steps: [{ event: 'Product Viewed' }, { event: 'Order Completed' }], from: '2026-11-01T00:00:00Z', to: '2026-12-01T00:00:00Z', windowHours: 168 } });
export type FunnelIn = z.infer<typeof FunnelIn>;
export const FunnelOut = z.object({ steps: z.array(z.object({ event: z.string(), customers: z.number().int() })) });
