import { and, asc, eq, sql } from 'drizzle-orm';
import type { FastifyRequest } from 'fastify';
import twilio from 'twilio';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError } from '../../http/errors.js';
import type { ModuleDeps } from '../../http/types.js';
import { recordAudit } from '../audit/service.js';
import { transportFor, TwilioError, type TwilioTransport } from '../twilio/index.js';
import { agentPhones } from './agents.js';
import type { OutboundCall } from './schemas.js';
import { assertCustomer, assertMember, customerByPhone, toCallDto, type CallRow } from './service.js';
import { voiceUrls } from './twilio-voice.js';
import { toE164 } from '../../lib/phone.js';

const { calls, customers, phoneNumbers } = schema;
const bodyIssue = (path: string, message: string) => new AppError('validation_failed', 'Validation failed', [{ in: 'body', path, message }]);

/** Every status Twilio can report back, so the call record follows the agent's leg all the way. */
export const STATUS_EVENTS = ['initiated', 'ringing', 'answered', 'completed'];

/** The organization's number the customer sees: the one asked for (must be the organization's, voice-enabled), else its oldest voice number. */
async function callerNumber(tx: Tx, organizationId: string, asked: string | undefined) {
  const p = phoneNumbers;
  const [row] = await tx
    .select({ number: p.number })
    .from(p)
    .where(and(eq(p.organizationId, organizationId), eq(p.voiceEnabled, true), asked ? eq(p.number, asked) : undefined))
    .orderBy(asc(p.createdAt))
    .limit(1);
  if (row) return row.number;
  if (asked) throw bodyIssue('from', "Not one of the organization's voice-enabled numbers");
  throw new AppError('conflict', 'The organization has no voice-enabled phone number to call from (POST /api/phone-numbers)');
}

async function prepare(tx: Tx, ctx: TenantContext, deps: ModuleDeps, input: OutboundCall) {
  let to = input.to ?? null;
  let customerId = input.customerId ?? null;
  if (customerId) {
    await assertCustomer(tx, ctx.organizationId, customerId, 'customerId');
    const [c] = await tx.select({ phone: customers.phone }).from(customers).where(and(eq(customers.organizationId, ctx.organizationId), eq(customers.id, customerId)));
    to = toE164(c?.phone);
    if (!to) throw bodyIssue('customerId', 'The customer has no valid phone number');
  } else {
    customerId = await customerByPhone(tx, ctx.organizationId, to!);
  }
  const agentUserId = input.agentUserId ?? (ctx.actor.type === 'user' ? ctx.actor.id : null);
  if (input.agentUserId) await assertMember(tx, ctx.organizationId, input.agentUserId, 'agentUserId');
  const agentNumber = input.agentNumber ?? (agentUserId ? (await agentPhones(tx, ctx.organizationId, [agentUserId]))[agentUserId] : undefined);
  if (!agentNumber) throw bodyIssue('agentNumber', "No phone to ring first: give agentNumber, or set the agent's phone (PUT /api/call-center/agents/:id)");
  const from = await callerNumber(tx, ctx.organizationId, input.from);
  const transport = await transportFor(tx, ctx.organizationId, deps.config);
  const [row] = await tx
    .insert(calls)
    .values({ organizationId: ctx.organizationId, direction: 'outbound', fromNumber: from, toNumber: to!, status: 'queued', customerId, agentUserId, agentNumber, startedAt: new Date() })
    .returning();
  await recordAudit(tx, ctx, { action: 'call.placed', resourceType: 'call', resourceId: row.id, changes: { to, customerId, agentUserId, transport: transport.kind } });
  return { row, transport };
}

/** When answered, the agent's leg dials the customer, showing the organization's number. */
export function bridgeTwiml(from: string, to: string) {
  const r = new twilio.twiml.VoiceResponse();
  r.dial({ callerId: from }, to);
  return r.toString();
}

/**
 * Places an outbound call: the call row is written first (queued), then Twilio rings the agent's
 * phone, outside any transaction; when the agent answers, the TwiML bridges them to the customer.
 * Status callbacks follow the agent's leg. When Twilio refuses, the call is kept as failed with
 * Twilio's error code: 400 when the same request would fail again, else 503.
 */
export async function placeOutboundCall(req: FastifyRequest, deps: ModuleDeps, input: OutboundCall) {
  const { row, transport } = await req.tenant((tx, ctx) => prepare(tx, ctx, deps, input));
  let sent: { sid: string; status: string } | null = null;
  let failure: TwilioError | null = null;
  try {
    sent = await call(transport, row, deps);
  } catch (err) {
    if (!(err instanceof TwilioError)) throw err;
    failure = err;
  }
  const updated = await req.tenant(async (tx, ctx) => {
    const [u] = await tx
      .update(calls)
      .set(
        sent
          ? { providerCallId: sent.sid, status: sql`case when ${calls.status} = 'queued' then ${'initiated'} else ${calls.status} end`, updatedAt: sql`now()` }
          : { status: 'failed', errorCode: failure!.code === null ? null : String(failure!.code), endedAt: new Date(), updatedAt: sql`now()` },
      )
      .where(and(eq(calls.organizationId, ctx.organizationId), eq(calls.id, row.id)))
      .returning();
    if (failure) await recordAudit(tx, ctx, { action: 'call.failed', resourceType: 'call', resourceId: row.id, changes: { code: failure.code, message: failure.message } });
    return u;
  });
  if (failure) {
    const message = `Twilio refused the call: ${failure.message}${failure.code ? ` (code ${failure.code})` : ''}`;
    throw new AppError(failure.permanent ? 'bad_request' : 'unavailable', message, { callId: row.id, twilioCode: failure.code });
  }
  return toCallDto(updated as CallRow);
}

function call(transport: TwilioTransport, row: CallRow, deps: ModuleDeps) {
  return transport.createCall({
    from: row.fromNumber,
    to: row.agentNumber!,
    twiml: bridgeTwiml(row.fromNumber, row.toNumber),
    statusCallback: voiceUrls(deps.config).status,
    statusCallbackEvent: STATUS_EVENTS,
  });
}


