import type { IncomingHttpHeaders } from 'node:http';
import type { Config } from '../../config.js';
import { formFields, type SystemLookup, type WebhookDelivery } from '../../channels/webhook.js';
import { AppError } from '../../http/errors.js';
import { findNumberOwner, findTwilioAccount, verifyTwilioSignature } from '../twilio/index.js';
import { toE164 } from '../../lib/phone.js';

// What the voice webhooks share: Twilio's signature header, and placing a request in the organization
// whose number was called (or, for calls we placed, whose account placed it), verified with THAT
// organization's auth token against the public URL Twilio called.

export const VOICE_BODY_LIMIT = 64 * 1024;
export const FORM = ['application/x-www-form-urlencoded'];

/** Twilio's X-Twilio-Signature: base64 of an HMAC-SHA1 (28 characters); anything else is refused before the body is read. */
export function checkTwilioSignatureHeader(headers: IncomingHttpHeaders) {
  const sig = headers['x-twilio-signature'];
  if (typeof sig !== 'string' || !/^[A-Za-z0-9+/]{20,64}={0,2}$/.test(sig)) throw new AppError('unauthorized');
}

export interface VoiceOwner {
  organizationId: string;
  /** The flow bound to the called number (inbound calls). */
  ivrFlowId: string | null;
}

/**
 * The organization a voice request belongs to, found in the given ways in order: the holder of the
 * called number (To), the organization that connected the Twilio account (AccountSid). Null when
 * none is known here (answered politely, not an error). Throws 401 when the signature does not hold under that organization's auth token — or
 * when it has no token to check one with.
 */
export async function placeVoiceRequest(
  lookup: SystemLookup,
  config: Config,
  delivery: WebhookDelivery,
  params: Record<string, string>,
  by: readonly ('number' | 'account')[],
): Promise<VoiceOwner | null> {
  const byNumber = async () => {
    const to = toE164(params.To);
    const owner = to ? await findNumberOwner(lookup, to, config) : null;
    return owner && { organizationId: owner.organizationId, ivrFlowId: owner.ivrFlowId, authToken: owner.authToken };
  };
  const byAccount = async () => {
    const account = params.AccountSid ? await findTwilioAccount(lookup, params.AccountSid, config) : null;
    return account && { organizationId: account.organizationId, ivrFlowId: null, authToken: account.authToken as string | null };
  };
  let owner = null;
  for (const way of by) if (!owner) owner = way === 'number' ? await byNumber() : await byAccount();
  if (!owner) return null;
  if (!owner.authToken || !verifyTwilioSignature(owner.authToken, delivery.headers['x-twilio-signature'], delivery.url, params)) {
    throw new AppError('unauthorized');
  }
  return { organizationId: owner.organizationId, ivrFlowId: owner.ivrFlowId };
}

export const formOf = (delivery: WebhookDelivery) => formFields(delivery.raw);

/** A query parameter of the URL Twilio called (our own callback URLs carry the call id and node). */
export const queryParam = (delivery: WebhookDelivery, name: string) => new URL(delivery.url).searchParams.get(name);

export const voiceUrls = (config: Pick<Config, 'publicUrl'>) => ({
  gather: (callId: string, node: string) => `${config.publicUrl}/api/webhooks/voice/gather?call=${callId}&node=${encodeURIComponent(node)}`,
  recording: (callId: string) => `${config.publicUrl}/api/webhooks/voice/recording?call=${callId}`,
  status: `${config.publicUrl}/api/webhooks/voice/status`,
});
