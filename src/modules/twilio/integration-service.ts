import type { Config } from '../../config.js';
import type { Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, notFound } from '../../http/errors.js';
import { recordAudit } from '../audit/service.js';
import { deleteIntegration, readIntegration, saveIntegration, type IntegrationRow } from '../integrations/store.js';
import { TWILIO } from './account.js';
import { newTwilioClient, toTwilioError } from './client.js';
import type { TwilioConnect } from './schemas.js';

const toStatus = (row: IntegrationRow | undefined) =>
  row
    ? { connected: true, accountSid: row.externalId, friendlyName: (row.config.friendlyName as string | null) ?? null, connectedAt: row.connectedAt }
    : { connected: false, accountSid: null, friendlyName: null, connectedAt: null };

export async function getTwilioStatus(tx: Tx, ctx: TenantContext) {
  return toStatus(await readIntegration(tx, ctx.organizationId, TWILIO));
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
  const row = await saveIntegration(tx, ctx.organizationId, TWILIO, {
    externalId: account.accountSid,
    config: { friendlyName: account.friendlyName },
    secret: account.authToken,
    encryptionKey: config.secrets.encryptionKey,
    conflictMessage: 'This Twilio account is connected to another organization',
  });
  await recordAudit(tx, ctx, {
    action: before.connected ? 'twilio.reconnected' : 'twilio.connected',
    resourceType: 'integration',
    resourceId: row.id,
    changes: { accountSid: account.accountSid, friendlyName: account.friendlyName, ...(before.connected && { previousAccountSid: before.accountSid }) },
  });
  return toStatus(row);
}

/** Forgets the account and its token: the organization's messages and calls go to the development outbox again. */
export async function disconnectTwilio(tx: Tx, ctx: TenantContext) {
  const row = await deleteIntegration(tx, ctx.organizationId, TWILIO);
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'twilio.disconnected', resourceType: 'integration', resourceId: row.id, changes: { accountSid: row.externalId } });
}
