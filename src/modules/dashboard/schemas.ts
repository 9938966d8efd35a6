import { z } from 'zod';

export const CAMPAIGN_STATUSES = ['draft', 'scheduled', 'sending', 'sent', 'cancelled', 'failed'] as const;
/** The CHECK constraints of email_messages and sms_messages (src/db/migrations/0001_schema.sql). */
export const EMAIL_MESSAGE_STATUSES = ['queued', 'sent', 'delivered', 'deferred', 'bounced', 'dropped', 'failed'] as const;
export const SMS_MESSAGE_STATUSES = ['queued', 'sent', 'delivered', 'undelivered', 'failed'] as const;
/** Twilio's call statuses; calls.status has no CHECK, so a status outside this list is reported too. */
export const CALL_STATUSES = ['queued', 'ringing', 'in-progress', 'completed', 'busy', 'failed', 'no-answer', 'canceled'] as const;

const counts = <const S extends readonly [string, ...string[]]>(statuses: S) =>
  z.object({ total: z.number(), byStatus: z.record(z.enum(statuses), z.number()) });

export const DashboardStats = z.object({
  customers: z.object({ total: z.number(), emailOptIn: z.number(), smsOptIn: z.number() }),
  emailCampaigns: counts(CAMPAIGN_STATUSES),
  smsCampaigns: counts(CAMPAIGN_STATUSES),
  messages: z.object({ email: counts(EMAIL_MESSAGE_STATUSES), sms: counts(SMS_MESSAGE_STATUSES) }),
  calls: z.object({
    total: z.number(),
    byStatus: z.record(z.string(), z.number()).describe(`Every status of ${CALL_STATUSES.join(', ')}, plus any other status present in the data`),
  }),
});
export type DashboardStats = z.infer<typeof DashboardStats>;
