import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';
import { EVENT_TYPES, type EventType } from './events.js';

/** Event types an endpoint subscribes to: names from the catalogue (docs/webhooks.md), or ['*'] for all. */
const EventTypes = z
  .array(z.enum(['*', ...EVENT_TYPES] as ['*', ...EventType[]]))
  .min(1)
  .max(EVENT_TYPES.length + 1)
  .transform((types) => (types.includes('*') ? ['*'] : [...new Set(types)]));

const Url = z.string().trim().min(1).max(2048);
const Description = z.string().trim().max(500);

export const EndpointCreate = z
  .strictObject({ url: Url, eventTypes: EventTypes, description: Description.optional() })
  .meta({ example: { url: 'https://hooks.example.com/switchboard', eventTypes: ['customer.created', 'customer.updated'], description: 'CRM sync' } });
export type EndpointCreate = z.infer<typeof EndpointCreate>;

export const EndpointPatch = z
  .strictObject({ url: Url.optional(), eventTypes: EventTypes.optional(), description: Description.nullable().optional(), enabled: z.boolean().optional() })
  .meta({ example: { description: 'CRM sync (production)', enabled: true } });
export type EndpointPatch = z.infer<typeof EndpointPatch>;

export const EndpointOut = z.object({
  id: z.uuid(),
  url: z.string(),
  eventTypes: z.array(z.string()),
  description: z.string().nullable(),
  enabled: z.boolean(),
  /** Set when the platform disabled the endpoint after persistent failures (PATCH enabled: true turns it back on). */
  disabledAt: z.string().nullable(),
  disabledReason: z.string().nullable(),
  /** Until when deliveries also carry a signature made with the secret before the last rotation. */
  previousSecretExpiresAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
/** Creation and rotation answer with the signing secret, once: it is stored sealed and never returned again. */
export const EndpointWithSecret = EndpointOut.extend({ secret: z.string() });
export const EndpointPage = pageOf(EndpointOut);
export const EndpointListQuery = z.strictObject({ ...pageQuery });

export const DeliveryParams = z.object({ id: z.uuid(), deliveryId: z.uuid() });

export const AttemptOut = z.object({
  id: z.uuid(),
  deliveryId: z.uuid(),
  eventId: z.uuid(),
  eventType: z.string(),
  attempt: z.number().int(),
  statusCode: z.number().int().nullable(),
  latencyMs: z.number().int(),
  /** At most 1 KB of the response body. */
  responseExcerpt: z.string().nullable(),
  error: z.string().nullable(),
  createdAt: z.string(),
});
export const AttemptPage = pageOf(AttemptOut);

export const ReplayOut = z.object({ deliveryId: z.uuid(), eventId: z.uuid(), status: z.literal('pending') });
