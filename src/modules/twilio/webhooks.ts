import { z } from 'zod';
import { sql, type SQL } from 'drizzle-orm';
import twilio from 'twilio';
import type { Config } from '../../config.js';
import type { SystemLookup } from '../../channels/webhook.js';
import type { Database } from '../../db/index.js';
import { query } from '../../db/sql.js';
import { openAuthToken } from './account.js';

// What the SMS and voice webhooks share: the URL Twilio signed, the signature check, and the one
// system lookup that finds the organization (and its auth token) a Twilio request belongs to.

/**
 * The URL Twilio called, as Twilio saw it: PUBLIC_URL (the address behind any proxy) + the path and
 * query string exactly as received (`req.url`). Twilio signs this URL, so it must not be rebuilt from Host.
 */
export const webhookUrl = (config: Pick<Config, 'publicUrl'>, pathAndQuery: string) => `${config.publicUrl}${pathAndQuery}`;

/** X-Twilio-Signature checked with the SDK (HMAC-SHA1 of the URL and the sorted form parameters, with the auth token). */
export function verifyTwilioSignature(authToken: string, signatureHeader: string | string[] | undefined, url: string, params: Record<string, unknown>): boolean {
  if (typeof signatureHeader !== 'string' || !signatureHeader || !authToken) return false;
  return twilio.validateRequest(authToken, signatureHeader, url, params as Record<string, any>);
}

/**
 * The one allow-listed cross-organization read of Twilio webhooks (reason 'resolve-twilio-webhook'), as
 * the `lookup` of a provider webhook (src/channels/webhook.ts): `lookup: twilioWebhookLookup(db)`.
 */
export const twilioWebhookLookup = (db: Database): SystemLookup => (fn) => db.withSystem('resolve-twilio-webhook', fn);

/** A few columns by an exact key, through the webhook's lookup (or the database's, built here). */
function resolve<T>(via: Database | SystemLookup, statement: SQL): Promise<T[]> {
  const lookup = typeof via === 'function' ? via : twilioWebhookLookup(via);
  return lookup((tx) => query<T>(tx, statement));
}

const openToken = (config: Pick<Config, 'secrets'>, organizationId: string, accountSid: string | null, sealed: string | null) => {
  if (!accountSid || !sealed) return null;
  try {
    return openAuthToken(config, organizationId, accountSid, sealed);
  } catch {
    return null; // a token that does not open (key rotated, row tampered with) validates nothing
  }
};

/** The organization that connected this Twilio account, and its auth token; null when none did. */
export async function findTwilioAccount(db: Database | SystemLookup, accountSid: string, config: Pick<Config, 'secrets'>) {
  if (!/^AC[0-9a-fA-F]{32}$/.test(accountSid)) return null;
  const [row] = await resolve<{ organization_id: string; sealed: string }>(
    db,
    sql`select organization_id, credentials_encrypted as sealed from integrations
      where provider = 'twilio' and external_id = ${accountSid} and status = 'connected' and credentials_encrypted is not null`,
  );
  if (!row) return null;
  const authToken = openToken(config, row.organization_id, accountSid, row.sealed);
  return authToken ? { organizationId: row.organization_id, authToken } : null;
}

/**
 * The organization holding this number (E.164), the number's id and bound IVR flow, and the
 * organization's Twilio account and auth token (null without a connected account: nothing to verify
 * a signature with, so such a number accepts no webhook).
 */
export async function findNumberOwner(db: Database | SystemLookup, e164: string, config: Pick<Config, 'secrets'>) {
  if (!/^\+[1-9][0-9]{6,14}$/.test(e164)) return null;
  const [row] = await resolve<{ organization_id: string; id: string; ivr_flow_id: string | null; account_sid: string | null; sealed: string | null }>(
    db,
    sql`select p.organization_id, p.id, p.ivr_flow_id, i.external_id as account_sid, i.credentials_encrypted as sealed
      from phone_numbers p
      left join integrations i on i.organization_id = p.organization_id and i.provider = 'twilio' and i.status = 'connected'
      where p.number = ${e164}`,
  );
  if (!row) return null;
  return {
    organizationId: row.organization_id,
    phoneNumberId: row.id,
    ivrFlowId: row.ivr_flow_id,
    accountSid: row.account_sid,
    authToken: openToken(config, row.organization_id, row.account_sid, row.sealed),
  };
}

/** A TwiML answer in the OpenAPI document (text/xml, not JSON). */
export const twimlResponse = (description: string) => ({ description, content: { 'text/xml': { schema: z.string() } } });

/** A TwiML document as the webhook pipeline sends it. */
export const twimlReply = (body: string) => ({ contentType: 'text/xml; charset=utf-8', body });
