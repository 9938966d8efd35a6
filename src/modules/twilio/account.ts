import { sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import { openSecret, sealSecret } from '../../lib/secret-box.js';

/** The auth token is sealed to its row: organization and AccountSid (a ciphertext copied elsewhere does not open). */
const tokenContext = (organizationId: string, accountSid: string) => `twilio-auth-token:${organizationId}:${accountSid}`;

export const sealAuthToken = (config: Pick<Config, 'secrets'>, organizationId: string, accountSid: string, authToken: string) =>
  sealSecret(authToken, config.secrets.encryptionKey, tokenContext(organizationId, accountSid));

export const openAuthToken = (config: Pick<Config, 'secrets'>, organizationId: string, accountSid: string, sealed: string) =>
  openSecret(sealed, config.secrets.encryptionKey, tokenContext(organizationId, accountSid));

export interface TwilioAccount {
  accountSid: string;
  authToken: string;
}

/** The organization's connected Twilio account with its auth token opened, or null (development: the outbox). */
export async function twilioAccountOf(tx: Tx, organizationId: string, config: Pick<Config, 'secrets'>): Promise<TwilioAccount | null> {
  const row = await queryOne<{ account_sid: string; sealed: string }>(
    tx,
    sql`select external_id as account_sid, credentials_encrypted as sealed from integrations
      where organization_id = ${organizationId} and provider = 'twilio' and status = 'connected'
        and external_id is not null and credentials_encrypted is not null`,
  );
  if (!row) return null;
  return { accountSid: row.account_sid, authToken: openAuthToken(config, organizationId, row.account_sid, row.sealed) };
}
