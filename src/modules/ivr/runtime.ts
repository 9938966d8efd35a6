import twilio from 'twilio';
import type VoiceResponse from 'twilio/lib/twiml/VoiceResponse.js';
import { MAX_NODES, type FlowDefinition, type FlowNode, type MenuNode } from './flow.js';

// The IVR runtime, pure: given a flow version, where the caller is and what Twilio just told us,
// the TwiML to answer with, where the caller is next, and the steps to record on the call.

/** Where a call is in its flow between two webhooks: a node that waits on Twilio (menu, dial, voicemail). */
export interface CallState {
  node: string;
  /** Menus: how many times it has been played again after no input or a wrong key. */
  retries: number;
}

export type StepInput =
  | { event: 'start' }
  /** The caller's key (null or '' when the menu timed out with no input). */
  | { event: 'gather'; digits: string | null }
  /** How the <Dial> ended (Twilio's DialCallStatus). */
  | { event: 'dial'; status: string }
  /** The voicemail <Record> ended. */
  | { event: 'record'; recordingUrl?: string | null; durationSeconds?: number | null }
  /** Say again where the call is (a repeated or stale request): nothing is counted. */
  | { event: 'resume' };

export interface StepContext {
  /** Where Twilio posts when a waiting node is done (digits, dial result, recording). */
  actionUrl(node: string): string;
  /** Where Twilio posts a voicemail's transcription; without it voicemails are not transcribed. */
  transcribeCallbackUrl?(node: string): string;
  /** Phone numbers of the agents dial nodes name (absent: the agent has no phone, the dial is skipped). */
  agentPhones: Record<string, string>;
  /** The number shown to whoever a dial node rings (the organization's number the caller called). */
  callerId?: string;
}

export interface RecordedStep {
  nodeId: string | null;
  kind: string;
  digits?: string | null;
  detail?: Record<string, unknown>;
}

export interface StepResult {
  twiml: string;
  /** Null once the TwiML ends the call. */
  state: CallState | null;
  steps: RecordedStep[];
}

export const GOODBYE = 'Thank you for calling. Goodbye.';
export const INVALID_CHOICE = 'Sorry, that is not one of the choices.';
export const NOT_IN_SERVICE = 'Sorry, the number you have called is not in service. Goodbye.';
const ANSWERED = new Set(['completed', 'answered']);

/** What an unknown number, or a call that lost its flow, hears: a polite sentence and a hang-up. */
export function politeHangup(text = NOT_IN_SERVICE): string {
  const r = new twilio.twiml.VoiceResponse();
  r.say(text);
  r.hangup();
  return r.toString();
}

type SayAttrs = { voice?: string; language?: string };
const sayAttrs = (a: SayAttrs) => ({ ...(a.voice && { voice: a.voice }), ...(a.language && { language: a.language }) }) as VoiceResponse.SayAttributes;

function renderMenu(r: VoiceResponse, id: string, node: MenuNode, ctx: StepContext) {
  const gather = r.gather({ input: ['dtmf'], numDigits: 1, timeout: node.timeoutSeconds, action: ctx.actionUrl(id), method: 'POST', actionOnEmptyResult: true });
  if ('say' in node.prompt) gather.say(sayAttrs(node.prompt), node.prompt.say);
  else gather.play(node.prompt.play);
}

/**
 * Renders from `start` until the call waits on Twilio (menu, dial, voicemail) or ends.
 * Validated flows have no loop without input; the bound guards a definition saved before that rule.
 */
function walk(flow: FlowDefinition, start: string, r: VoiceResponse, ctx: StepContext, steps: RecordedStep[]): CallState | null {
  let id: string | undefined = start;
  for (let guard = 0; id && guard <= MAX_NODES; guard++) {
    const node: FlowNode | undefined = flow.nodes[id];
    if (!node) break;
    switch (node.kind) {
      case 'say':
        steps.push({ nodeId: id, kind: 'say' });
        r.say(sayAttrs(node), node.text);
        id = node.next;
        continue;
      case 'play':
        steps.push({ nodeId: id, kind: 'play', detail: { url: node.url } });
        r.play(node.url);
        id = node.next;
        continue;
      case 'menu':
        steps.push({ nodeId: id, kind: 'menu', detail: { attempt: 1 } });
        renderMenu(r, id, node, ctx);
        return { node: id, retries: 0 };
      case 'dial': {
        const to = node.number ?? (node.agentUserId ? ctx.agentPhones[node.agentUserId] : undefined);
        if (!to) {
          steps.push({ nodeId: id, kind: 'dial', detail: { skipped: 'the agent has no phone number', agentUserId: node.agentUserId } });
          id = node.next;
          continue;
        }
        steps.push({ nodeId: id, kind: 'dial', detail: { to, ...(node.agentUserId && { agentUserId: node.agentUserId }) } });
        r.dial({ action: ctx.actionUrl(id), method: 'POST', timeout: node.timeoutSeconds, ...(ctx.callerId && { callerId: ctx.callerId }) }, to);
        return { node: id, retries: 0 };
      }
      case 'voicemail': {
        const transcribe = node.transcribe && Boolean(ctx.transcribeCallbackUrl);
        steps.push({ nodeId: id, kind: 'voicemail', detail: { maxLengthSeconds: node.maxLengthSeconds, transcribe } });
        if (node.prompt) r.say(node.prompt);
        r.record({
          action: ctx.actionUrl(id),
          method: 'POST',
          maxLength: node.maxLengthSeconds,
          playBeep: true,
          ...(transcribe && { transcribe: true, transcribeCallback: ctx.transcribeCallbackUrl!(id) }),
        });
        return { node: id, retries: 0 };
      }
      case 'hangup':
        steps.push({ nodeId: id, kind: 'hangup' });
        if (node.text) r.say(node.text);
        r.hangup();
        return null;
    }
  }
  steps.push({ nodeId: id ?? null, kind: 'hangup', detail: { reason: id ? 'step limit' : 'end of flow' } });
  r.hangup();
  return null;
}

function goodbye(r: VoiceResponse, steps: RecordedStep[], nodeId: string | null, reason: string): null {
  steps.push({ nodeId, kind: 'hangup', detail: { reason } });
  r.say(GOODBYE);
  r.hangup();
  return null;
}

/** One step of a call through a flow version: see the module comment. */
export function step(flow: FlowDefinition, state: CallState | null, input: StepInput, ctx: StepContext): StepResult {
  const r = new twilio.twiml.VoiceResponse();
  const steps: RecordedStep[] = [];
  const done = (next: CallState | null): StepResult => ({ twiml: r.toString(), state: next, steps });
  if (input.event === 'start') return done(walk(flow, flow.start, r, ctx, steps));

  const node = state ? flow.nodes[state.node] : undefined;
  if (!state || !node) return done(goodbye(r, steps, state?.node ?? null, 'the call is not waiting for input'));

  if (input.event === 'gather' && node.kind === 'menu') {
    const digits = input.digits?.trim() || null;
    const target = digits ? node.options[digits] : undefined;
    if (target) {
      steps.push({ nodeId: state.node, kind: 'input', digits, detail: { to: target } });
      return done(walk(flow, target, r, ctx, steps));
    }
    const retries = state.retries + 1;
    steps.push({ nodeId: state.node, kind: digits ? 'invalid' : 'no_input', digits, detail: { attempt: retries } });
    if (retries > node.retries) {
      if (!node.timeout) return done(goodbye(r, steps, state.node, 'retries exhausted'));
      steps.push({ nodeId: state.node, kind: 'timeout', detail: { to: node.timeout } });
      return done(walk(flow, node.timeout, r, ctx, steps));
    }
    if (digits) r.say(sayAttrs('say' in node.prompt ? node.prompt : {}), node.invalidText ?? INVALID_CHOICE);
    steps.push({ nodeId: state.node, kind: 'menu', detail: { attempt: retries + 1 } });
    renderMenu(r, state.node, node, ctx);
    return done({ node: state.node, retries });
  }

  if (input.event === 'dial' && node.kind === 'dial') {
    const answered = ANSWERED.has(input.status);
    steps.push({ nodeId: state.node, kind: 'dial_result', detail: { status: input.status } });
    if (answered || !node.next) {
      r.hangup();
      return done(null);
    }
    return done(walk(flow, node.next, r, ctx, steps));
  }

  if (input.event === 'record' && node.kind === 'voicemail') {
    steps.push({ nodeId: state.node, kind: 'recorded', detail: { recordingUrl: input.recordingUrl ?? null, durationSeconds: input.durationSeconds ?? null } });
    if (!node.next) return done(goodbye(r, steps, state.node, 'after voicemail'));
    return done(walk(flow, node.next, r, ctx, steps));
  }

  // A callback that does not fit the node the call waits on (a late or repeated request): say where we are again.
  steps.push({ nodeId: state.node, kind: 'replay', detail: { event: input.event } });
  const replay = walk(flow, state.node, r, ctx, steps);
  return done(replay && { ...replay, retries: state.retries });
}
