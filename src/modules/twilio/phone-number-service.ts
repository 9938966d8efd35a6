import { and, eq, sql } from 'drizzle-orm';
import { toE164 } from '../../lib/phone.js';
import type { Config } from '../../config.js';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError, notFound, sqlStateOf } from '../../http/errors.js';
import { keysetPage } from '../../lib/pagination.js';
import { recordAudit } from '../audit/service.js';
import { assertWithinPlan } from '../billing/limits.js';
import { twilioAccountOf, type TwilioAccount } from './account.js';
import { toTwilioError, twilioClientFor } from './client.js';
import type { PhoneNumberCreate, PhoneNumberListQuery, PhoneNumberUpdate } from './schemas.js';

const { phoneNumbers, ivrFlows } = schema;
type Row = typeof phoneNumbers.$inferSelect;

export const toPhoneNumberDto = (r: Row) => ({
  id: r.id,
  number: r.number,
  friendlyName: r.friendlyName,
  smsEnabled: r.smsEnabled,
  voiceEnabled: r.voiceEnabled,
  ivrFlowId: r.ivrFlowId,
  twilioSid: r.twilioSid,
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
});

/** Where Twilio calls us for a number: inbound SMS, inbound calls, call status. */
export const numberWebhooks = (config: Pick<Config, 'publicUrl'>) => ({
  smsUrl: `${config.publicUrl}/api/webhooks/sms/inbound`,
  voiceUrl: `${config.publicUrl}/api/webhooks/voice/inbound`,
  statusCallback: `${config.publicUrl}/api/webhooks/voice/status`,
});

export function parseNumberInput(input: PhoneNumberCreate) {
  const number = toE164(input.number);
  if (!number) {
    throw new AppError('validation_failed', 'Validation failed', [
      { in: 'body', path: 'number', message: 'Not a valid phone number in international format (E.164, such as +14155552671)' },
    ]);
  }
  return number;
}

/**
 * With a connected account, the number must be one of the account's (IncomingPhoneNumbers): its SMS,
 * voice and status webhooks are pointed at this server and its PN sid returned. Runs before the row is
 * written, outside any transaction (two Twilio requests).
 */
export async function claimInTwilio(config: Pick<Config, 'twilio' | 'publicUrl'>, account: TwilioAccount, number: string): Promise<string> {
  const client = twilioClientFor(config, account.accountSid, account.authToken);
  let found;
  try {
    // Twilio matches PhoneNumber as a pattern (a number containing it matches too): keep the exact one.
    found = (await client.incomingPhoneNumbers.list({ phoneNumber: number, limit: 20 })).find((n) => n.phoneNumber === number);
  } catch (err) {
    throw twilioFailure(toTwilioError(err));
  }
  if (!found) {
    throw new AppError('validation_failed', 'This number is not in the connected Twilio account', [
      { in: 'body', path: 'number', message: `${number} is not an incoming phone number of Twilio account ${account.accountSid}` },
    ]);
  }
  const hooks = numberWebhooks(config);
  try {
    await client.incomingPhoneNumbers(found.sid).update({
      smsUrl: hooks.smsUrl,
      smsMethod: 'POST',
      voiceUrl: hooks.voiceUrl,
      voiceMethod: 'POST',
      statusCallback: hooks.statusCallback,
      statusCallbackMethod: 'POST',
    });
  } catch (err) {
    throw twilioFailure(toTwilioError(err));
  }
  return found.sid;
}

function twilioFailure(e: ReturnType<typeof toTwilioError>) {
  if (e.status === 401 || e.status === 403) {
    return new AppError('bad_request', 'Twilio refused the stored credentials of this organization: connect the account again');
  }
  return new AppError('unavailable', `Twilio could not configure the number; try again later (${e.message})`);
}

export async function createPhoneNumber(tx: Tx, ctx: TenantContext, input: PhoneNumberCreate & { number: string; twilioSid: string | null }) {
  let row: Row;
  try {
    [row] = await tx
      .insert(phoneNumbers)
      .values({
        organizationId: ctx.organizationId,
        number: input.number,
        friendlyName: input.friendlyName ?? null,
        smsEnabled: input.smsEnabled ?? true,
        voiceEnabled: input.voiceEnabled ?? true,
        twilioSid: input.twilioSid,
      })
      .returning();
  } catch (err) {
    // The number is unique across the platform: held here or by another organization, it is taken.
    if (sqlStateOf(err) === '23505') throw new AppError('conflict', 'This phone number is already registered');
    throw err;
  }
  await recordAudit(tx, ctx, {
    action: 'phone_number.created',
    resourceType: 'phone_number',
    resourceId: row.id,
    changes: { number: row.number, friendlyName: row.friendlyName, smsEnabled: row.smsEnabled, voiceEnabled: row.voiceEnabled, twilioSid: row.twilioSid },
  });
  return toPhoneNumberDto(row);
}

export async function listPhoneNumbers(tx: Tx, ctx: TenantContext, q: PhoneNumberListQuery) {
  const { rows, nextCursor } = await keysetPage(tx, phoneNumbers, q, [eq(phoneNumbers.organizationId, ctx.organizationId)]);
  return { data: rows.map(toPhoneNumberDto), nextCursor };
}

const byId = (ctx: TenantContext, id: string) => and(eq(phoneNumbers.organizationId, ctx.organizationId), eq(phoneNumbers.id, id));

export async function getPhoneNumber(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.select().from(phoneNumbers).where(byId(ctx, id));
  if (!row) throw notFound();
  return toPhoneNumberDto(row);
}

export async function updatePhoneNumber(tx: Tx, ctx: TenantContext, id: string, input: PhoneNumberUpdate) {
  if (input.ivrFlowId) {
    const [flow] = await tx
      .select({ id: ivrFlows.id })
      .from(ivrFlows)
      .where(and(eq(ivrFlows.organizationId, ctx.organizationId), eq(ivrFlows.id, input.ivrFlowId)));
    if (!flow) {
      await getPhoneNumber(tx, ctx, id); // an unknown number stays a 404 whatever the body says
      throw new AppError('validation_failed', 'Validation failed', [{ in: 'body', path: 'ivrFlowId', message: 'No IVR flow with this id in this organization' }]);
    }
  }
  const changes = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const [row] = await tx
    .update(phoneNumbers)
    .set({ ...changes, updatedAt: sql`now()` })
    .where(byId(ctx, id))
    .returning();
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'phone_number.updated', resourceType: 'phone_number', resourceId: id, changes });
  return toPhoneNumberDto(row);
}

/** The number is released for any organization; Twilio keeps calling our webhooks until the account points it elsewhere (then: unknown number). */
export async function deletePhoneNumber(tx: Tx, ctx: TenantContext, id: string) {
  const [row] = await tx.delete(phoneNumbers).where(byId(ctx, id)).returning();
  if (!row) throw notFound();
  await recordAudit(tx, ctx, { action: 'phone_number.deleted', resourceType: 'phone_number', resourceId: id, changes: { number: row.number, twilioSid: row.twilioSid } });
}

type Tenant = <T>(fn: (tx: Tx, ctx: TenantContext) => Promise<T>) => Promise<T>;

/**
 * Adds a number: E.164 checked; with a connected Twilio account, proven to be the account's and pointed
 * at our webhooks first (outside the transaction); then stored. Without an account numbers are accepted
 * as they are — outside production only, where nothing would prove the organization holds the number.
 */
export async function addPhoneNumber(tenant: Tenant, config: Pick<Config, 'env' | 'twilio' | 'publicUrl' | 'secrets' | 'billing'>, input: PhoneNumberCreate) {
  const number = parseNumberInput(input);
  const account = await tenant(async (tx, ctx) => {
    const [mine] = await tx
      .select({ id: phoneNumbers.id })
      .from(phoneNumbers)
      .where(and(eq(phoneNumbers.organizationId, ctx.organizationId), eq(phoneNumbers.number, number)));
    if (mine) throw new AppError('conflict', 'This phone number is already registered');
    // Before Twilio is asked for anything; checked again with the insert below.
    await assertWithinPlan(tx, ctx.organizationId, 'phoneNumbers', 1, config.billing.plans);
    return twilioAccountOf(tx, ctx.organizationId, config);
  });
  if (!account && config.env === 'production') {
    throw new AppError('bad_request', 'Connect a Twilio account (PUT /api/integrations/twilio) before adding its numbers');
  }
  // Pointing the number's webhooks here comes first: if the insert then finds the number taken, the
  // number (in this organization's own account) only points at this platform, which already refuses it.
  const twilioSid = account ? await claimInTwilio(config, account, number) : null;
  return tenant(async (tx, ctx) => {
    await assertWithinPlan(tx, ctx.organizationId, 'phoneNumbers', 1, config.billing.plans);
    return createPhoneNumber(tx, ctx, { ...input, number, twilioSid });
  });
}
