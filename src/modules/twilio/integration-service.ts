import { sql } from 'drizzle-orm';
import type { Config } from '../../config.js';
import type { Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, notFound, sqlStateOf } from '../../http/errors.js';
import { recordAudit } from '../audit/service.js';
import { sealAuthToken } from './account.js';
import { newTwilioClient, toTwilioError } from './client.js';
import type { TwilioConnect } from './schemas.js';

interface Row {
  id: string;
  account_sid: string;
  friendly_name: string | null;
  connected_at: string;
}

const ISO = sql`'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

const toStatus = (row: Row | undefined) =>
  row
    ? { connected: true, accountSid: row.account_sid, friendlyName: row.friendly_name, connectedAt: row.connected_at }
    : { connected: false, accountSid: null, friendlyName: null, connectedAt: null };

export async function getTwilioStatus(tx: Tx, ctx: TenantContext) {
  const row = await queryOne<Row>(
    tx,
    sql`select id, external_id as account_sid, config->>'friendlyName' as friendly_name,
        to_char(updated_at at time zone 'UTC', ${ISO}) as connected_at
      from integrations where organization_id = ${ctx.organizationId} and provider = 'twilio'`,
  );
  return toStatus(row);
}

/**
 * Asks Twilio for the account with these credentials (the real SDK, `accounts(sid).fetch()`), before
 * anything is stored. Wrong credentials are the caller's error (400); Twilio unreachable is a 503.
 */
export async function checkTwilioCredentials(config: Pick<Config, 'twilio'>, input: TwilioConnect) {
  const client = newTwilioClient(config, input.accountSid, input.authToken);
  let account;
  try {
    account = await client.api.v2010.accounts(input.accountSid).fetch();
  } catch (err) {
    const e = toTwilioError(err);
    if (e.status === 401 || e.status === 403 || e.status === 404) {
      throw new AppError('validation_failed', 'Twilio refused these credentials: check the Account SID and auth token', [
        { in: 'body', path: 'authToken', message: `Twilio answered ${e.status}${e.code ? ` (error ${e.code})` : ''}: ${e.message}` },
      ]);
    }
    throw new AppError('unavailable', 'Twilio could not be reached to check the credentials; try again later');
  }
  if (account.status !== 'active') {
    throw new AppError('validation_failed', `This Twilio account is ${account.status}`, [
      { in: 'body', path: 'accountSid', message: `The account is ${account.status}, not active` },
    ]);
  }
  return { accountSid: account.sid, friendlyName: account.friendlyName ?? null };
}

/**
 * Stores the checked account (one per organization; connecting again replaces it), the auth token
 * sealed. An account already connected by another organization is a 409: its webhooks carry only
 * the AccountSid, which must lead to one organization.
 */
export async function saveTwilioAccount(
  tx: Tx,
  ctx: TenantContext,
  config: Pick<Config, 'secrets'>,
  account: { accountSid: string; friendlyName: string | null; authToken: string },
) {
  const before = await getTwilioStatus(tx, ctx);
  let row: Row | undefined;
  try {
    row = await queryOne<Row>(
        tx,
        sql`insert into integrations (organization_id, provider, external_id, config, credentials_encrypted, status)
          values (${ctx.organizationId}, 'twilio', ${account.accountSid}, ${JSON.stringify({ friendlyName: account.friendlyName })}::jsonb,
            ${sealAuthToken(config, ctx.organizationId, account.accountSid, account.authToken)}, 'connected')
          on conflict (organization_id, provider) do update set external_id = excluded.external_id, config = excluded.config,
            credentials_encrypted = excluded.credentials_encrypted, status = 'connected', updated_at = now()
          returning id, external_id as account_sid, config->>'friendlyName' as friendly_name,
            to_char(updated_at at time zone 'UTC', ${ISO}) as connected_at`,
    );
  } catch (err) {
    if (sqlStateOf(err) === '23505') throw new AppError('conflict', 'This Twilio account is connected to another organization');
    throw err;
  }
  await recordAudit(tx, ctx, {
    action: before.connected ? 'twilio.reconnected' : 'twilio.connected',
    resourceType: 'integration',
    resourceId: row!.id,
    changes: { accountSid: account.accountSid, friendlyName: account.friendlyName, ...(before.connected && { previousAccountSid: before.accountSid }) },
  });
  return toStatus(row);
}

/** Forgets the account and its token: the organization's messages and calls go to the development outbox again. */
export async function disconnectTwilio(tx: Tx, ctx: TenantContext) {
  const row = await queryOne<{ id: string; account_sid: string }>(
    tx,
    sql`delete from integrations where organization_id = ${ctx.organizationId} and provider = 'twilio' returning id, external_id as account_sid`,
  );
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'twilio.disconnected', resourceType: 'integration', resourceId: row.id, changes: { accountSid: row.account_sid } });
}
