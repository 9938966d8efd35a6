import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';

export const Channel = z.enum(['email', 'sms']);
export const Reason = z.enum(['unsubscribed', 'complained', 'bounced', 'manual']);

export const SuppressionCreate = z
  .strictObject({
    channel: Channel.default('email'),
    address: z.string().trim().min(1).max(254),
    reason: Reason.default('manual'),
  })
  .meta({ example: { channel: 'email', address: 'no-more-mail@example.com', reason: 'manual' } });
export type SuppressionCreate = z.infer<typeof SuppressionCreate>;

export const SuppressionListQuery = z.strictObject({
  ...pageQuery,
  channel: Channel.optional(),
  /** An exact address (normalized like stored ones). */
  address: z.string().trim().min(1).max(254).optional(),
});
export type SuppressionListQuery = z.infer<typeof SuppressionListQuery>;

export const SuppressionOut = z.object({
  id: z.uuid(),
  channel: Channel,
  address: z.string(),
  reason: Reason,
  source: z.string(),
  createdAt: z.string(),
});
export const SuppressionPage = pageOf(SuppressionOut);
