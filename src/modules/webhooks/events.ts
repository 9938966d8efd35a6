import { z } from 'zod';
import { CustomerOut } from '../customers/schemas.js';

/**
 * The event catalogue (docs/webhooks.md): each type's `data`, version 1. A change that is not
 * backwards compatible gets a new version, never a silent change of these shapes.
 */
const CampaignRef = z.object({ id: z.uuid(), name: z.string(), status: z.string() });
const EmailMessageRef = z.object({
  id: z.uuid(),
  campaignId: z.uuid().nullable(),
  customerId: z.uuid().nullable(),
  to: z.string().nullable(),
});
const SmsMessageRef = z.object({
  id: z.uuid(),
  campaignId: z.uuid().nullable(),
  customerId: z.uuid().nullable(),
  to: z.string().nullable(),
  status: z.string(),
  errorCode: z.number().int().nullable(),
});

const SocialPostRef = z.object({
  id: z.uuid(),
  accountId: z.uuid(),
  platform: z.string(),
  status: z.string(),
  scheduledAt: z.string().nullable(),
  publishedAt: z.string().nullable(),
  /** The platform's id of the post and its public link (published only). */
  platformPostId: z.string().nullable(),
  permalink: z.string().nullable(),
  attempts: z.number().int(),
});

export const EVENT_DATA = {
  'customer.created': z.object({ customer: CustomerOut }),
  'customer.updated': z.object({ customer: CustomerOut }),
  'customer.deleted': z.object({ customer: z.object({ id: z.uuid(), email: z.string().nullable() }) }),
  /** A customer (or an address with no customer) stopped receiving a channel: unsubscribe link, STOP reply, provider unsubscribe. */
  'customer.unsubscribed': z.object({
    channel: z.enum(['email', 'sms']),
    address: z.string(),
    customerId: z.uuid().nullable(),
    source: z.string(),
  }),
  'email_campaign.sending': z.object({ campaign: CampaignRef }),
  /** The send finished: status `sent`, or `failed` when no message was accepted. */
  'email_campaign.sent': z.object({ campaign: CampaignRef }),
  'sms_campaign.sending': z.object({ campaign: CampaignRef }),
  'sms_campaign.sent': z.object({ campaign: CampaignRef }),
  'email_message.delivered': z.object({ message: EmailMessageRef }),
  'email_message.bounced': z.object({ message: EmailMessageRef, reason: z.string().nullable() }),
  'sms_message.delivered': z.object({ message: SmsMessageRef }),
  /** Twilio reported the message failed or undelivered (status and error code say which). */
  'sms_message.failed': z.object({ message: SmsMessageRef }),
  'call.completed': z.object({
    call: z.object({
      id: z.uuid(),
      direction: z.string(),
      status: z.string(),
      from: z.string().nullable(),
      to: z.string().nullable(),
      customerId: z.uuid().nullable(),
      durationSeconds: z.number().int().nullable(),
      recordingUrl: z.string().nullable(),
    }),
  }),
  /** A scheduled post went out on its platform. */
  'social_post.published': z.object({ post: SocialPostRef }),
  /** A scheduled post could not be published: a permanent refusal, retries exhausted, or its account needs reconnection. */
  'social_post.failed': z.object({ post: SocialPostRef, error: z.string() }),
} as const;

export type EventType = keyof typeof EVENT_DATA;
export const EVENT_TYPES = Object.keys(EVENT_DATA) as EventType[];
export type EventData<T extends EventType> = z.input<(typeof EVENT_DATA)[T]>;

export const EVENT_VERSION = 1;

/** The body of every delivery. */
export const EventEnvelope = z.object({
  type: z.enum(EVENT_TYPES as [EventType, ...EventType[]]),
  version: z.literal(EVENT_VERSION),
  organizationId: z.uuid(),
  occurredAt: z.string(),
  data: z.record(z.string(), z.unknown()),
});
export type EventEnvelope = z.infer<typeof EventEnvelope>;
