import { z } from 'zod';
import { Audience, AudienceOut, CampaignStatus } from '../../lib/campaigns.js';
import { pageOf, pageQuery } from '../../lib/pagination.js';
import { EmailAddress as Email } from '../../lib/schemas.js';

/** The CHECK constraint of email_messages.status (0003_email.sql). */
export const EMAIL_MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'delivered', 'deferred', 'bounced', 'dropped', 'failed', 'cancelled'] as const;

/**
 * A Liquid template. Its syntax and cost are checked by the route in the render pool
 * (template-check.ts), off the event loop: parsing is not cheap enough for a validator.
 */
const liquid = (max: number) => z.string().max(max);

const fields = {
  name: z.string().trim().min(1).max(200),
  subject: liquid(998).optional(),
  preheader: liquid(500).nullable().optional(),
  fromName: z.string().trim().max(200).regex(/^[^\r\n]*$/, 'No line breaks').nullable().optional(),
  fromEmail: Email.nullable().optional(),
  replyTo: Email.nullable().optional(),
  html: liquid(512 * 1024).optional(),
  text: liquid(256 * 1024).nullable().optional(),
  audience: Audience.optional(),
  scheduledAt: z.iso.datetime({ offset: true }).nullable().optional(),
};

const example = {
  name: 'Spring sale',
  subject: 'Hello {{ customer.firstName | default: "there" }}',
  preheader: 'Twenty percent off this week',
  fromName: 'Acme',
  fromEmail: 'news@acme.example',
  replyTo: 'support@acme.example',
  html: '<p>Hi {{ customer.firstName | default: "there" }},</p><p><a href="https://acme.example/sale">Shop the sale</a></p>',
  audience: { tags: ['newsletter'] },
};

export const CampaignCreate = z.strictObject(fields).meta({ example });
/** PUT replaces the campaign: omitted fields go back to their defaults. */
export const CampaignReplace = CampaignCreate;
export const CampaignPatch = z.strictObject({ ...fields, name: fields.name.optional() }).meta({ example: { subject: 'Last day: {{ customer.firstName }}' } });
export type CampaignInput = z.infer<typeof CampaignPatch>;

export const CampaignListQuery = z.strictObject({
  ...pageQuery,
  status: CampaignStatus.optional(),
});
export type CampaignListQuery = z.infer<typeof CampaignListQuery>;

export const CampaignStats = z.object({
  recipients: z.number(),
  sent: z.number(),
  delivered: z.number(),
  opened: z.number(),
  clicked: z.number(),
  bounced: z.number(),
  complained: z.number(),
  unsubscribed: z.number(),
  failed: z.number(),
});
export type CampaignStats = z.infer<typeof CampaignStats>;

export const CampaignOut = z.object({
  id: z.uuid(),
  name: z.string(),
  subject: z.string(),
  preheader: z.string().nullable(),
  fromName: z.string().nullable(),
  fromEmail: z.string().nullable(),
  replyTo: z.string().nullable(),
  html: z.string(),
  text: z.string().nullable(),
  audience: AudienceOut,
  status: CampaignStatus,
  scheduledAt: z.string().nullable(),
  startedAt: z.string().nullable(),
  sentAt: z.string().nullable(),
  cancelledAt: z.string().nullable(),
  failedAt: z.string().nullable(),
  error: z.string().nullable(),
  stats: CampaignStats,
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const CampaignPage = pageOf(CampaignOut);
