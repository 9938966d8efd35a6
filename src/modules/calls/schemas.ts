import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';
import { E164 } from '../ivr/flow.js';

/** Twilio's call statuses, in the order a call moves through them (the last five end it). */
export const CALL_STATUSES = ['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'failed', 'canceled'] as const;
export type CallStatus = (typeof CALL_STATUSES)[number];
export const FINAL_STATUSES: readonly CallStatus[] = ['completed', 'busy', 'no-answer', 'failed', 'canceled'];
export const Direction = z.enum(['inbound', 'outbound']);

const Notes = z.string().trim().max(10_000);
const Disposition = z.string().trim().min(1).max(64).describe('How the call ended for the business: "resolved", "callback", "voicemail"…');
const Instant = z.iso.datetime({ offset: true });

const LogCall = z.strictObject({
  mode: z.literal('log'),
  direction: Direction,
  from: E164,
  to: E164,
  status: z.enum(CALL_STATUSES).default('completed'),
  durationSeconds: z.number().int().min(0).max(86_400).optional(),
  notes: Notes.optional(),
  disposition: Disposition.optional(),
  startedAt: Instant.optional(),
  agentUserId: z.uuid().optional().describe('Who took the call (default: the signed-in user)'),
  customerId: z.uuid().optional().describe('Default: the customer whose phone number is the other party'),
});
const OutboundCall = z
  .strictObject({
    mode: z.literal('outbound'),
    to: E164.optional(),
    customerId: z.uuid().optional(),
    agentUserId: z.uuid().optional().describe('The agent whose phone rings first (default: the signed-in user)'),
    agentNumber: E164.optional().describe("The phone to ring first; default: the agent's phone (PUT /api/call-center/agents/:id)"),
    from: E164.optional().describe("The organization's number the customer sees; default: its first number"),
  })
  .refine((c) => Boolean(c.to) !== Boolean(c.customerId), { message: 'Give either to or customerId', path: ['to'] });

export const CallCreate = z.discriminatedUnion('mode', [LogCall, OutboundCall]).meta({
  example: {
    mode: 'log',
    direction: 'inbound',
    from: '+14155550123',
    to: '+14155550100',
    status: 'completed',
    durationSeconds: 240,
    notes: 'Asked about the spring sale; sent the link by SMS.',
    disposition: 'resolved',
    startedAt: '2026-03-02T10:15:00Z',
  },
});
export type CallCreate = z.infer<typeof CallCreate>;
export type LogCall = z.infer<typeof LogCall>;
export type OutboundCall = z.infer<typeof OutboundCall>;

export const CallPatch = z
  .strictObject({
    notes: Notes.nullable().optional(),
    disposition: Disposition.nullable().optional(),
    agentUserId: z.uuid().nullable().optional(),
    customerId: z.uuid().nullable().optional(),
  })
  .meta({ example: { notes: 'Called back, order reshipped.', disposition: 'resolved' } });
export type CallPatch = z.infer<typeof CallPatch>;

const DateOrInstant = z.union([z.iso.date(), Instant]);
export const CallListQuery = z.strictObject({
  ...pageQuery,
  direction: Direction.optional(),
  status: z.enum(CALL_STATUSES).optional(),
  agentUserId: z.uuid().optional(),
  customerId: z.uuid().optional(),
  from: DateOrInstant.optional().describe('Calls started at or after (a date is midnight UTC, or a date-time)'),
  to: DateOrInstant.optional().describe('Calls started before (a date is midnight UTC, or a date-time)'),
});
export type CallListQuery = z.infer<typeof CallListQuery>;

export const CallOut = z.object({
  id: z.uuid(),
  direction: Direction,
  from: z.string(),
  to: z.string(),
  status: z.string().describe(`Twilio's call status: ${CALL_STATUSES.join(', ')} (rows from before this release may hold others)`),
  customerId: z.uuid().nullable(),
  agentUserId: z.uuid().nullable(),
  agentNumber: z.string().nullable(),
  ivrFlowId: z.uuid().nullable(),
  ivrFlowVersion: z.number().nullable(),
  providerCallId: z.string().nullable(),
  durationSeconds: z.number().nullable(),
  notes: z.string().nullable(),
  disposition: z.string().nullable(),
  recordingUrl: z.string().nullable(),
  recordingDurationSeconds: z.number().nullable(),
  transcription: z.string().nullable(),
  errorCode: z.string().nullable(),
  startedAt: z.string().nullable(),
  answeredAt: z.string().nullable(),
  endedAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const CallStep = z.object({
  seq: z.number(),
  nodeId: z.string().nullable(),
  kind: z.string().describe('say, play, menu, input, invalid, no_input, timeout, dial, dial_result, voicemail, recorded, hangup, replay'),
  digits: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
  at: z.string(),
});
export const CallDetail = CallOut.extend({ steps: z.array(CallStep).describe("The caller's path through the IVR flow, in order") });
export const CallPage = pageOf(CallOut);

export const AgentPhone = z
  .strictObject({ phoneNumber: E164 })
  .meta({ example: { phoneNumber: '+14155550142' } });
export const AgentOut = z.object({ userId: z.uuid(), phoneNumber: z.string(), updatedAt: z.string() });
export const AgentPage = pageOf(AgentOut);
export const AgentListQuery = z.strictObject(pageQuery);
