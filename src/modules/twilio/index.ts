import type { Module } from '../module.js';
import { registerTwilioOutboxRoutes } from './outbox-routes.js';
import { registerPhoneNumberRoutes, registerTwilioIntegrationRoutes } from './routes.js';

export { transportFor, outboxTransport, twilioTransport, TwilioError, type TwilioTransport, type OutgoingSms, type OutgoingCall } from './transport.js';
export { findNumberOwner, findTwilioAccount, twilioWebhookLookup, twimlReply, twimlResponse, verifyTwilioSignature, webhookUrl } from './webhooks.js';

/**
 * The Twilio base every SMS and voice feature uses: the organization's account (/api/integrations/twilio),
 * its phone numbers (/api/phone-numbers), the transport (its own account, or the development outbox),
 * and what webhooks need (signed URL, signature check, the system lookup of the owner).
 */
export const twilioModule: Module = {
  name: 'twilio',
  routes(app, { config }) {
    registerTwilioIntegrationRoutes(app, config);
    registerPhoneNumberRoutes(app, config);
    registerTwilioOutboxRoutes(app, config);
  },
};
