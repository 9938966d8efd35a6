import { z } from 'zod';
import { Tags } from './schemas.js';

// What every channel's campaigns share (email today, SMS next, later channels after them): the
// statuses, which of them freeze a campaign, and the audience. The CHECK constraints of
// email_campaigns and sms_campaigns (0001_schema.sql) hold the same list.

export const CAMPAIGN_STATUSES = ['draft', 'scheduled', 'sending', 'sent', 'cancelled', 'failed'] as const;
export type CampaignStatus = (typeof CAMPAIGN_STATUSES)[number];
export const CampaignStatus = z.enum(CAMPAIGN_STATUSES);

/** Statuses a client may set by editing; the others belong to the send pipeline. */
export const EDITABLE_STATUSES = ['draft', 'scheduled', 'cancelled'] as const satisfies readonly CampaignStatus[];
/** A campaign in one of these is being or has been delivered: no edits, no deletes. */
export const LOCKED_STATUSES = ['sending', 'sent'] as const satisfies readonly CampaignStatus[];

/**
 * Who a campaign goes to: the channel's opted-in customers carrying any of the tags (all of them without
 * tags) and, with a segmentId, who are members of that saved segment of the organization (both: AND).
 * Membership is computed in SQL when the send starts, and the recipients are frozen then.
 */
export const Audience = z.strictObject({
  tags: Tags.optional(),
  segmentId: z.uuid().optional().describe("A saved segment of the organization (/api/segments): only its members, computed when the send starts"),
});
export type Audience = { tags?: string[]; segmentId?: string };
export const AudienceOut = z.object({ tags: z.array(z.string()).optional(), segmentId: z.uuid().optional() });

/** The 409 message for a change a campaign's status refuses (see conflictOr404 in http/errors.ts). */
export const campaignRefusal = (status: CampaignStatus, verb: string) => `Campaign is ${status}; it cannot be ${verb}`;
