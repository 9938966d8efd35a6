import type { Config } from '../../config.js';
import type { Tx } from '../../db/index.js';
import { connectedSecret, openIntegrationSecret, type IntegrationKind } from '../integrations/store.js';

/** The organization's Twilio connection: the AccountSid as external id, the auth token as its sealed secret. */
export const TWILIO: IntegrationKind = { provider: 'twilio', secretLabel: 'twilio-auth-token' };

export const openAuthToken = (config: Pick<Config, 'secrets'>, organizationId: string, accountSid: string, sealed: string) =>
  openIntegrationSecret(TWILIO, config.secrets.encryptionKey, organizationId, accountSid, sealed);

export interface TwilioAccount {
  accountSid: string;
  authToken: string;
}

/** The organization's connected Twilio account with its auth token opened, or null (development: the outbox). */
export async function twilioAccountOf(tx: Tx, organizationId: string, config: Pick<Config, 'secrets'>): Promise<TwilioAccount | null> {
  const c = await connectedSecret(tx, organizationId, TWILIO, config.secrets.encryptionKey);
  return c && { accountSid: c.externalId, authToken: c.secret };
}
