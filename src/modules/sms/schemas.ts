import { z } from 'zod';
import { Audience, AudienceOut, CAMPAIGN_STATUSES, EDITABLE_STATUSES } from '../../lib/campaigns.js';
import { pageOf, pageQuery } from '../../lib/pagination.js';

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
    sent: z.number().describe('Messages accepted by the carrier: sent, delivered or undelivered'),
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
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const SmsCampaignPage = pageOf(SmsCampaignOut);
