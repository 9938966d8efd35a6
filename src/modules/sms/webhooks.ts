import twilio from 'twilio';
import { formFields, registerProviderWebhook } from '../../channels/webhook.js';
import type { Config } from '../../config.js';
import type { Database } from '../../db/index.js';
import { AppError } from '../../http/errors.js';
import { findNumberOwner, findTwilioAccount, twilioWebhookLookup, twimlReply, twimlResponse, verifyTwilioSignature } from '../twilio/webhooks.js';
import type { Bus } from '../../lib/bus.js';
import { afterCommit, newEffects, threadInboundSms, type Effects } from '../inbox/index.js';
import { applyInboundSms, type InboundSms } from './inbound.js';
import { toE164 } from '../../lib/phone.js';
import { applyStatusCallback, type StatusCallback } from './status.js';

// Twilio's two SMS webhooks on the provider-webhook pipeline (src/channels/webhook.ts). Twilio signs
// each request with the auth token of the account that sent it — an organization's own token — so
// the organization is found first (by AccountSid, or by the number messaged), its token opened, and
// the signature checked against the public URL Twilio called before anything is written.

const FORM = ['application/x-www-form-urlencoded'];
/** Twilio's requests are a few KB; a bigger body is not Twilio's. */
const BODY_LIMIT = 64 * 1024;
const badSignature = () => new AppError('unauthorized', 'Invalid Twilio signature');

const signatureHeader = (headers: Record<string, unknown>) => {
  if (typeof headers['x-twilio-signature'] !== 'string' || !headers['x-twilio-signature']) throw badSignature();
};

const twiml = (reply: string | null) => {
  const r = new twilio.twiml.MessagingResponse();
  if (reply) r.message(reply);
  return twimlReply(r.toString());
};

export function registerSmsWebhooks(app: Parameters<typeof registerProviderWebhook>[0], { db, config, bus }: { db: Database; config: Config; bus: Bus }) {
  registerProviderWebhook<StatusCallback, { found: number }>(app, { db, config }, {
    path: '/api/webhooks/sms',
    provider: 'twilio-sms-status',
    operationId: 'twilioSmsStatusWebhook',
    summary: 'Twilio message status callback (X-Twilio-Signature, checked with the auth token of the account named by AccountSid)',
    tags: ['webhooks'],
    contentTypes: FORM,
    bodyLimit: BODY_LIMIT,
    lookup: twilioWebhookLookup(db),
    checkHeaders: signatureHeader,
    async receive(delivery, lookup) {
      const f = formFields(delivery.raw);
      const account = await findTwilioAccount(lookup, f.AccountSid ?? '', config);
      // No organization holds this account: there is no token to check the signature with.
      if (!account || !verifyTwilioSignature(account.authToken, delivery.headers['x-twilio-signature'], delivery.url, f)) throw badSignature();
      const sid = f.MessageSid ?? f.SmsSid;
      const status = f.MessageStatus ?? f.SmsStatus;
      if (!sid || !status) return { placed: [], unknown: 1 };
      const errorCode = f.ErrorCode && /^\d+$/.test(f.ErrorCode) ? Number(f.ErrorCode) : null;
      // Not deduplicated: applying is idempotent (status only moves forward).
      return { placed: [{ organizationId: account.organizationId, eventId: null, event: { messageSid: sid, status, errorCode } }], unknown: 0 };
    },
    async apply(tx, ctx, events) {
      let found = 0;
      for (const e of events) if ((await applyStatusCallback(tx, ctx.organizationId, e)).found) found++;
      return { found };
    },
  });

  registerProviderWebhook<InboundSms, { reply: string | null; organizationId: string; fx: Effects }>(app, { db, config }, {
    path: '/api/webhooks/sms/inbound',
    provider: 'twilio-sms-inbound',
    operationId: 'twilioSmsInboundWebhook',
    summary: "Twilio incoming message to an organization's number: STOP/START/HELP keywords, other messages stored; answers TwiML",
    tags: ['webhooks'],
    contentTypes: FORM,
    bodyLimit: BODY_LIMIT,
    lookup: twilioWebhookLookup(db),
    checkHeaders: signatureHeader,
    okResponse: twimlResponse('TwiML <Response>, with a <Message> answering HELP'),
    async receive(delivery, lookup) {
      const f = formFields(delivery.raw);
      const to = toE164(f.To);
      const owner = to ? await findNumberOwner(lookup, to, config) : null;
      // A number no organization holds: nothing to apply (and no token to check a signature with).
      if (!owner) return { placed: [], unknown: 1 };
      if (!owner.authToken || owner.accountSid !== f.AccountSid || !verifyTwilioSignature(owner.authToken, delivery.headers['x-twilio-signature'], delivery.url, f)) {
        throw badSignature();
      }
      const sid = f.MessageSid ?? f.SmsMessageSid;
      if (!sid || !f.From) return { placed: [], unknown: 1 };
      const event: InboundSms = { messageSid: sid, from: f.From, to: to!, body: f.Body ?? '', numMedia: Number(f.NumMedia) || 0, optOutType: f.OptOutType ?? null };
      // Not deduplicated here: the message sid is unique per organization, and a retried HELP is answered again.
      return { placed: [{ organizationId: owner.organizationId, eventId: null, event }], unknown: 0 };
    },
    async apply(tx, ctx, events) {
      let reply: string | null = null;
      // Messages other than STOP/START/HELP also thread into the number's conversation in the inbox.
      const fx = newEffects();
      for (const e of events) {
        const r = await applyInboundSms(tx, ctx, e);
        reply = r.reply ?? reply;
        if (r.stored && !r.keyword) await threadInboundSms(tx, ctx, { from: r.from, body: e.body, customerId: r.customerId, messageSid: e.messageSid }, fx);
      }
      return { reply, organizationId: ctx.organizationId, fx };
    },
    async respond(summary) {
      // Committed: the organization's agents see the message live (and an automatic reply goes out).
      for (const r of summary.results) await afterCommit({ db, config, bus }, r.organizationId, r.fx);
      return twiml(summary.results[0]?.reply ?? null);
    },
  });
}
