import { z } from 'zod';
import { CAMPAIGN_STATUSES } from '../../lib/campaigns.js';
import { CALL_STATUSES } from '../calls/schemas.js';
import { EMAIL_MESSAGE_STATUSES } from '../email/campaign-schemas.js';
import { SMS_MESSAGE_STATUSES } from '../sms/schemas.js';

// byStatus lists every known status (0 when none) plus any other status present in the data: a
// status added by a later migration shows up rather than failing the response.
const counts = (statuses: readonly string[]) =>
  z.object({
    total: z.number(),
    byStatus: z.record(z.string(), z.number()).describe(`Every status of ${statuses.join(', ')}, plus any other status present in the data`),
  });
const rate = z.number().min(0).max(1);

export const DashboardStats = z.object({
  customers: z.object({ total: z.number(), emailOptIn: z.number(), smsOptIn: z.number() }),
  emailCampaigns: counts(CAMPAIGN_STATUSES),
  smsCampaigns: counts(CAMPAIGN_STATUSES),
  messages: z.object({ email: counts(EMAIL_MESSAGE_STATUSES), sms: counts(SMS_MESSAGE_STATUSES) }),
  calls: counts(CALL_STATUSES),
  rates: z
    .object({
      emailOptIn: rate,
      smsOptIn: rate,
      emailDelivery: rate,
      emailOpen: rate,
      emailClick: rate,
      emailBounce: rate,
      emailUnsubscribe: rate,
      smsDelivery: rate,
    })
    .describe('Shares between 0 and 1: opt-ins of all customers; email delivery, bounce and unsubscribes of messages sent; opens and clicks of messages delivered (or sent when no delivery events arrived); SMS delivery of messages sent'),
});
export type DashboardStats = z.infer<typeof DashboardStats>;
