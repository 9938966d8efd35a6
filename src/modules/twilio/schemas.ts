import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';

export const ACCOUNT_SID = /^AC[0-9a-fA-F]{32}$/;

export const TwilioConnect = z
  .strictObject({
    accountSid: z.string().regex(ACCOUNT_SID, 'An Account SID: AC followed by 32 hex digits'),
    authToken: z.string().min(16).max(128),
  })
  .meta({ example: { accountSid: 'AC0123456789abcdef0123456789abcdef', authToken: '0123456789abcdef0123456789abcdef' } });
export type TwilioConnect = z.infer<typeof TwilioConnect>;

/** The connection's status. The auth token is never part of it. */
export const TwilioStatus = z.object({
  connected: z.boolean(),
  accountSid: z.string().nullable(),
  friendlyName: z.string().nullable(),
  connectedAt: z.string().nullable(),
});

export const PhoneNumberOut = z.object({
  id: z.uuid(),
  number: z.string(),
  friendlyName: z.string().nullable(),
  smsEnabled: z.boolean(),
  voiceEnabled: z.boolean(),
  ivrFlowId: z.uuid().nullable(),
  /** The IncomingPhoneNumber sid (PN...) in the organization's Twilio account; null when added without one. */
  twilioSid: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const PhoneNumberPage = pageOf(PhoneNumberOut);
export const PhoneNumberListQuery = z.strictObject(pageQuery);
export type PhoneNumberListQuery = z.infer<typeof PhoneNumberListQuery>;

export const PhoneNumberCreate = z
  .strictObject({
    number: z.string().min(1).max(32),
    friendlyName: z.string().trim().min(1).max(100).optional(),
    smsEnabled: z.boolean().optional(),
    voiceEnabled: z.boolean().optional(),
  })
  .meta({ example: { number: '+14155552671', friendlyName: 'Support line', smsEnabled: true, voiceEnabled: true } });
export type PhoneNumberCreate = z.infer<typeof PhoneNumberCreate>;

export const PhoneNumberUpdate = z
  .strictObject({
    friendlyName: z.string().trim().min(1).max(100).nullable().optional(),
    smsEnabled: z.boolean().optional(),
    voiceEnabled: z.boolean().optional(),
    /** The IVR flow (of the same organization) that answers calls to this number; null unbinds. */
    ivrFlowId: z.uuid().nullable().optional(),
  })
  .meta({ example: { friendlyName: 'Front desk', ivrFlowId: null } });
export type PhoneNumberUpdate = z.infer<typeof PhoneNumberUpdate>;

export const OutboxItem = z.object({
  id: z.string(),
  kind: z.enum(['sms', 'call']),
  sid: z.string(),
  from: z.string(),
  to: z.string(),
  body: z.string().nullable(),
  statusCallback: z.string().nullable(),
  twiml: z.string().nullable(),
  url: z.string().nullable(),
  createdAt: z.string(),
});
export const OutboxPage = pageOf(OutboxItem);
