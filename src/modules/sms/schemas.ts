import { z } from 'zod';
import { Audience, AudienceOut, CAMPAIGN_STATUSES, EDITABLE_STATUSES } from '../../lib/campaigns.js';
import { pageOf, pageQuery } from '../../lib/pagination.js';
import { isTimeZone } from './quiet-hours.js';

/** The CHECK constraint of sms_messages.status (0011_sms.sql). */
export const SMS_MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'cancelled'] as const;

/** Concatenated SMS tops out at 10 segments (1600 characters) at most carriers, Twilio included. */
export const SMS_BODY_MAX = 1600;

const fields = {
  name: z.string().trim().min(1).max(200),
  body: z.string().max(SMS_BODY_MAX),
  audience: Audience,
  status: z.enum(EDITABLE_STATUSES),
  scheduledAt: z.iso.datetime({ offset: true }).nullable(),
};

const scheduledHasTime = (c: { status?: string; scheduledAt?: string | null }) => c.status !== 'scheduled' || Boolean(c.scheduledAt);
const scheduledIssue = { message: 'A scheduled campaign needs scheduledAt', path: ['scheduledAt'] };

const example = { name: 'Spring sale', body: 'Spring sale: 20% off everything until Sunday. Reply STOP to opt out.', audience: { tags: ['vip'] } };

export const SmsCampaignCreate = z
  .strictObject({
    name: fields.name,
    body: fields.body.optional(),
    audience: fields.audience.optional(),
    status: fields.status.optional(),
    scheduledAt: fields.scheduledAt.optional(),
  })
  .refine(scheduledHasTime, scheduledIssue)
  .meta({ example });
/** PUT replaces the campaign: omitted fields go back to their defaults. */
export const SmsCampaignReplace = SmsCampaignCreate;
export const SmsCampaignPatch = z
  .strictObject({
    name: fields.name.optional(),
    body: fields.body.optional(),
    audience: fields.audience.optional(),
    status: fields.status.optional(),
    scheduledAt: fields.scheduledAt.optional(),
  })
  .meta({ example: { body: 'Last day of the spring sale! Reply STOP to opt out.' } });
export type SmsCampaignInput = z.infer<typeof SmsCampaignPatch>;

export const SmsCampaignListQuery = z.strictObject({ ...pageQuery, status: z.enum(CAMPAIGN_STATUSES).optional() });
export type SmsCampaignListQuery = z.infer<typeof SmsCampaignListQuery>;

export const SmsCampaignStats = z
  .object({
    recipients: z.number().describe('Message rows of the campaign (one per customer)'),
    sent: z.number().describe('Messages Twilio accepted: sent, delivered or undelivered'),
    delivered: z.number().describe('Messages with a delivery receipt'),
    failed: z.number().describe('Messages that failed or came back undelivered'),
    optedOut: z.number().describe('Recipients who have since opted out of SMS (customer smsOptIn is false now)'),
  })
  .describe('Derived from the campaign\'s message rows on every read; never stored counters');

export const SmsCampaignOut = z.object({
  id: z.uuid(),
  name: z.string(),
  body: z.string(),
  audience: AudienceOut,
  status: z.enum(CAMPAIGN_STATUSES),
  scheduledAt: z.string().nullable(),
  sentAt: z.string().nullable(),
  stats: SmsCampaignStats,
  segments: z.number().describe('Segments of the body as written (before Liquid)'),
  encoding: z.enum(['GSM-7', 'UCS-2']),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const SmsCampaignPage = pageOf(SmsCampaignOut);

// ---- Settings -------------------------------------------------------------------------------

const HhMm = z.string().regex(/^([01][0-9]|2[0-3]):[0-5][0-9]$/, 'A local time as HH:MM (24-hour)');

export const SmsSettingsPut = z
  .strictObject({
    helpText: z.string().trim().min(1).max(320).nullable().optional().describe('The reply to HELP/INFO; null = "<organization>: reply STOP to opt out."'),
    quietHours: z
      .strictObject({ start: HhMm, end: HhMm })
      .refine((q) => q.start !== q.end, { message: 'Quiet hours need different start and end times', path: ['end'] })
      .nullable()
      .optional()
      .describe('No SMS from start (inclusive) to end (exclusive), local time; may cross midnight; null = none'),
    timezone: z
      .string()
      .refine((tz) => isTimeZone(tz), 'Not an IANA timezone (e.g. "America/New_York")')
      .optional()
      .describe('IANA timezone quiet hours are read in (default UTC)'),
    defaultFromNumber: z.string().nullable().optional().describe("The organization's SMS-enabled number campaigns go out from (E.164); null = the first one"),
  })
  .meta({ example: { helpText: 'Acme: reply STOP to opt out. Help: support@acme.test', quietHours: { start: '21:00', end: '08:00' }, timezone: 'America/New_York', defaultFromNumber: null } });
export type SmsSettingsPut = z.infer<typeof SmsSettingsPut>;

export const SmsSettingsOut = z.object({
  helpText: z.string().nullable(),
  quietHours: z.object({ start: z.string(), end: z.string() }).nullable(),
  timezone: z.string(),
  defaultFromNumber: z.string().nullable(),
  updatedAt: z.string().nullable(),
});

// ---- Preview --------------------------------------------------------------------------------

const SegmentFields = {
  segments: z.number().describe('Segments Twilio bills for this body'),
  encoding: z.enum(['GSM-7', 'UCS-2']),
  characters: z.number(),
};

export const SmsCampaignPreviewIn = z
  .strictObject({ customerId: z.uuid().optional().describe('Render for this customer; omitted = a sample customer') })
  .meta({ example: {} });
export const SmsPreviewIn = z
  .strictObject({ body: z.string().max(SMS_BODY_MAX), customerId: z.uuid().optional() })
  .meta({ example: { body: 'Hi {{ customer.firstName }}, spring sale today! Reply STOP to opt out.' } });

export const SmsPreviewOut = z.object({
  body: z.string().describe('The body rendered for the customer'),
  customerId: z.string().nullable(),
  ...SegmentFields,
});

// ---- Analytics ------------------------------------------------------------------------------

export const SmsCampaignAnalytics = z.object({
  campaignId: z.string(),
  status: z.enum(CAMPAIGN_STATUSES),
  recipients: z.number().describe('Message rows (one per customer)'),
  queued: z.number().describe('Not handed to Twilio yet (waiting, deferred by quiet hours, or retrying)'),
  sent: z.number().describe('Accepted by Twilio (sent, delivered or undelivered)'),
  delivered: z.number(),
  undelivered: z.number(),
  failed: z.number().describe('Refused by Twilio or out of retries'),
  cancelled: z.number().describe('Not sent: the recipient opted out meanwhile, or the campaign stopped'),
  optedOut: z.number().describe('Recipients who have since opted out (smsOptIn false now)'),
  invalidNumbers: z.number().describe('Opted-in customers of the audience left out: their phone number is not valid E.164'),
  segments: z.number().describe('Segments of the messages handed to Twilio'),
  cost: z.object({ estimate: z.number(), perSegment: z.number(), currency: z.string() }).describe('segments × SMS_COST_PER_SEGMENT'),
  errorCodes: z.array(z.object({ code: z.number(), count: z.number() })).describe('Twilio error codes of failed and undelivered messages, most frequent first'),
});

// ---- Inbound --------------------------------------------------------------------------------

export const InboundListQuery = z.strictObject({ ...pageQuery, customerId: z.uuid().optional() });
export type InboundListQuery = z.infer<typeof InboundListQuery>;
export const InboundOut = z.object({
  id: z.uuid(),
  customerId: z.string().nullable(),
  from: z.string(),
  to: z.string(),
  body: z.string(),
  keyword: z.enum(['stop', 'start', 'help']).nullable().describe('The opt-out/opt-in/help keyword the message was, if any'),
  numMedia: z.number(),
  messageSid: z.string(),
  createdAt: z.string(),
});
export const InboundPage = pageOf(InboundOut);
