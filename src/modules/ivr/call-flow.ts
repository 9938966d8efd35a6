import { and, eq, sql } from 'drizzle-orm';
import { schema, type Tx } from '../../db/index.js';
import type { AuditContext } from '../../http/access.js';
import { recordAudit } from '../audit/service.js';
import { agentPhones } from '../calls/agents.js';
import { customerByPhone } from '../calls/service.js';
import { recordSteps } from '../calls/steps.js';
import { agentsOf, FlowDefinition } from './flow.js';
import { politeHangup, step, type CallState, type StepInput } from './runtime.js';

// A call walking an IVR flow, inside the organization's tenant transaction: the inbound webhook
// starts it on the flow's current version, the gather webhook moves it on that same version.

const { calls, ivrFlows, ivrFlowVersions } = schema;

export const NO_FLOW = 'Sorry, nobody can take your call on this line right now. Please try again later. Goodbye.';

/** The public addresses Twilio is told to call back (query strings included; Twilio signs them). */
export interface VoiceUrls {
  gather(callId: string, node: string): string;
  recording(callId: string): string;
}

export interface InboundCall {
  callSid: string;
  from: string;
  to: string;
  /** Twilio's CallStatus on the first request (ringing, in-progress). */
  status?: string;
  /** The flow bound to the called number, if any. */
  flowId: string | null;
  /** Transcribe voicemails (a transcription callback URL is configured). */
  transcribe: boolean;
}

/** The version a flow definition parses to, or null when it was saved before validation (legacy rows). */
const parsed = (definition: unknown) => {
  const r = FlowDefinition.safeParse(definition);
  return r.success ? r.data : null;
};

async function run(tx: Tx, organizationId: string, callId: string, flow: FlowDefinition, state: CallState | null, input: StepInput, callerId: string, urls: VoiceUrls, transcribe: boolean) {
  const result = step(flow, state, input, {
    actionUrl: (node) => urls.gather(callId, node),
    ...(transcribe && { transcribeCallbackUrl: () => urls.recording(callId) }),
    agentPhones: await agentPhones(tx, organizationId, agentsOf(flow)),
    callerId,
  });
  await recordSteps(tx, organizationId, callId, result.steps);
  await tx
    .update(calls)
    .set({ ivrNode: result.state?.node ?? null, ivrRetries: result.state?.retries ?? 0, updatedAt: sql`now()` })
    .where(and(eq(calls.organizationId, organizationId), eq(calls.id, callId)));
  return result.twiml;
}

const STARTING = new Set(['queued', 'initiated', 'ringing', 'in-progress']);

/**
 * Answers a call to one of the organization's numbers: the call is recorded (customer by the caller's
 * number, the flow's current version pinned) and the flow's first TwiML returned. Twilio retries a
 * webhook it got no answer to: the same CallSid says again where that call already is.
 */
export async function answerInboundCall(tx: Tx, ctx: AuditContext, call: InboundCall, urls: VoiceUrls): Promise<string> {
  const { organizationId } = ctx;
  const [flow] = call.flowId
    ? await tx.select().from(ivrFlows).where(and(eq(ivrFlows.organizationId, organizationId), eq(ivrFlows.id, call.flowId), eq(ivrFlows.active, true)))
    : [];
  const definition = flow ? parsed(flow.definition) : null;
  const [row] = await tx
    .insert(calls)
    .values({
      organizationId,
      direction: 'inbound',
      fromNumber: call.from,
      toNumber: call.to,
      status: call.status && STARTING.has(call.status) ? call.status : 'ringing',
      customerId: await customerByPhone(tx, organizationId, call.from),
      providerCallId: call.callSid,
      ivrFlowId: definition ? flow.id : null,
      ivrFlowVersion: definition ? flow.currentVersion : null,
      startedAt: new Date(),
    })
    .onConflictDoNothing()
    .returning();
  if (!row) return continueCall(tx, organizationId, { callSid: call.callSid }, { event: 'resume' }, urls, call.transcribe);
  await recordAudit(tx, ctx, { action: 'call.received', resourceType: 'call', resourceId: row.id, changes: { from: row.fromNumber, to: row.toNumber, ivrFlowId: row.ivrFlowId, ivrFlowVersion: row.ivrFlowVersion } });
  if (!definition) {
    await recordSteps(tx, organizationId, row.id, [{ nodeId: null, kind: 'hangup', detail: { reason: call.flowId ? 'flow inactive' : 'no flow bound to the number' } }]);
    return politeHangup(NO_FLOW);
  }
  return run(tx, organizationId, row.id, definition, null, { event: 'start' }, call.to, urls, call.transcribe);
}

/**
 * Moves a call on from the node it waits on, on the version it started with (an edit since then
 * does not reach it). The call is found by our id when Twilio calls back the URL we gave it, and
 * must carry the CallSid it was answered for; `node` guards against a stale or repeated callback.
 */
export async function continueCall(
  tx: Tx,
  organizationId: string,
  ref: { callId?: string; callSid: string; node?: string },
  input: StepInput,
  urls: VoiceUrls,
  transcribe: boolean,
): Promise<string> {
  const [row] = await tx
    .select()
    .from(calls)
    .where(and(eq(calls.organizationId, organizationId), ref.callId ? eq(calls.id, ref.callId) : undefined, eq(calls.providerCallId, ref.callSid)))
    .for('update');
  if (!row || !row.ivrFlowId || !row.ivrFlowVersion) return politeHangup(NO_FLOW);
  const [version] = await tx
    .select({ definition: ivrFlowVersions.definition })
    .from(ivrFlowVersions)
    .where(and(eq(ivrFlowVersions.organizationId, organizationId), eq(ivrFlowVersions.flowId, row.ivrFlowId), eq(ivrFlowVersions.version, row.ivrFlowVersion)));
  const definition = version && parsed(version.definition);
  if (!definition) return politeHangup(NO_FLOW);
  const state = row.ivrNode ? { node: row.ivrNode, retries: row.ivrRetries } : null;
  const stale = ref.node !== undefined && ref.node !== row.ivrNode;
  if (input.event === 'record' && !stale && input.recordingUrl) {
    await tx
      .update(calls)
      .set({ recordingUrl: input.recordingUrl, recordingDurationSeconds: input.durationSeconds ?? null })
      .where(and(eq(calls.organizationId, organizationId), eq(calls.id, row.id)));
  }
  return run(tx, organizationId, row.id, definition, state, stale ? { event: 'resume' } : input, row.toNumber, urls, transcribe);
}

/** A voicemail's transcription, kept on the call and as a step of its path. */
export async function saveTranscription(tx: Tx, ctx: AuditContext, ref: { callId: string; callSid: string }, text: string | null, status: string | null) {
  const { organizationId } = ctx;
  const [row] = await tx
    .update(calls)
    .set({ ...(text && status === 'completed' && { transcription: text }), updatedAt: sql`now()` })
    .where(and(eq(calls.organizationId, organizationId), eq(calls.id, ref.callId), eq(calls.providerCallId, ref.callSid)))
    .returning({ id: calls.id, node: calls.ivrNode });
  if (!row) return false;
  await recordSteps(tx, organizationId, row.id, [{ nodeId: null, kind: 'transcription', detail: { status } }]);
  await recordAudit(tx, ctx, { action: 'call.transcribed', resourceType: 'call', resourceId: row.id, changes: { status } });
  return true;
}
