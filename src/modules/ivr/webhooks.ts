import { registerProviderWebhook, type SystemLookup, type WebhookDelivery } from '../../channels/webhook.js';
import { isUuid } from '../../lib/uuid.js';
import { twilioWebhookLookup, twimlReply, twimlResponse } from '../twilio/index.js';
import type { ModuleDeps, App } from '../../http/types.js';
import { checkTwilioSignatureHeader, FORM, formOf, placeVoiceRequest, queryParam, VOICE_BODY_LIMIT, voiceUrls } from '../calls/twilio-voice.js';
import { answerInboundCall, continueCall, saveTranscription } from './call-flow.js';
import { politeHangup, type StepInput } from './runtime.js';

// Twilio's voice webhooks for calls to the organization's numbers: answer with the bound flow,
// move on with the caller's keys (and dial and voicemail results), keep voicemail transcriptions.
// Each is verified with the called number's organization's auth token before anything else.

const TwiML = twimlResponse('TwiML for the call');
const twiml = twimlReply;

type Event = { params: Record<string, string>; ivrFlowId: string | null };

const intOrNull = (v: string | undefined) => (v && /^\d{1,7}$/.test(v) ? Number(v) : null);

/** What Twilio's callback to a waiting node says happened: a dial ended, a recording ended, or keys (none on timeout). */
function inputOf(params: Record<string, string>): StepInput {
  if (params.DialCallStatus) return { event: 'dial', status: params.DialCallStatus };
  if (params.RecordingUrl) return { event: 'record', recordingUrl: params.RecordingUrl, durationSeconds: intOrNull(params.RecordingDuration) };
  return { event: 'gather', digits: params.Digits ?? null };
}

export function registerVoiceWebhooks(app: App, { db, config }: ModuleDeps) {
  const urls = voiceUrls(config);
  // A call to one of our numbers belongs to whoever holds the number, whatever account it came through.
  const receive = async (delivery: WebhookDelivery, lookup: SystemLookup) => {
    const params = formOf(delivery);
    const owner = await placeVoiceRequest(lookup, config, delivery, params, ['number']);
    if (!owner) return { placed: [], unknown: 1 };
    return { placed: [{ organizationId: owner.organizationId, eventId: null, event: { params, ivrFlowId: owner.ivrFlowId } }], unknown: 0 };
  };
  const common = { provider: 'twilio-voice', tags: ['webhooks'], contentTypes: FORM, bodyLimit: VOICE_BODY_LIMIT, lookup: twilioWebhookLookup(db), checkHeaders: checkTwilioSignatureHeader, okResponse: TwiML };

  registerProviderWebhook<Event, string>(app, { db, config }, {
    ...common,
    path: '/api/webhooks/voice/inbound',
    operationId: 'receiveTwilioVoiceCall',
    summary: "Twilio voice webhook for a call to one of an organization's numbers: answers with the TwiML of the flow bound to the number",
    description: 'Signed (X-Twilio-Signature) with the auth token of the organization holding the called number. An unknown number hears a polite hang-up (200); a bad signature is a 401 and writes nothing.',
    receive,
    apply: (tx, ctx, events) => {
      const { params, ivrFlowId } = events[0];
      if (!params.CallSid) return Promise.resolve(politeHangup());
      // A withheld caller id arrives as "anonymous" (or Twilio's placeholder numbers): kept as sent.
      const call = { callSid: params.CallSid, from: params.From || 'anonymous', to: params.To, status: params.CallStatus, flowId: ivrFlowId, transcribe: true };
      return answerInboundCall(tx, ctx, call, urls);
    },
    respond: (s) => twiml(s.results[0] ?? politeHangup()),
  });

  registerProviderWebhook<Event, string>(app, { db, config }, {
    ...common,
    path: '/api/webhooks/voice/gather',
    operationId: 'receiveTwilioVoiceGather',
    summary: "Twilio callback of a waiting IVR node (?call=&node=): the caller's key, or how a dial or voicemail ended; answers with the next TwiML",
    description: 'Moves the call on in the flow version it started on; every step is recorded on the call.',
    receive,
    apply: (tx, ctx, events, delivery) => {
      const { params } = events[0];
      const callId = queryParam(delivery, 'call');
      if (!callId || !isUuid(callId)) return Promise.resolve(politeHangup());
      const node = queryParam(delivery, 'node') ?? undefined;
      return continueCall(tx, ctx.organizationId, { callId, callSid: params.CallSid, node }, inputOf(params), urls, true);
    },
    respond: (s) => twiml(s.results[0] ?? politeHangup()),
  });

  registerProviderWebhook<Event, boolean>(app, { db, config }, {
    ...common,
    path: '/api/webhooks/voice/recording',
    operationId: 'receiveTwilioVoicemailTranscription',
    summary: "Twilio's transcription callback of a voicemail (?call=): the text is kept on the call",
    receive,
    apply: async (tx, ctx, events, delivery) => {
      const { params } = events[0];
      const callId = queryParam(delivery, 'call');
      if (!callId || !isUuid(callId)) return false;
      return saveTranscription(tx, ctx, { callId, callSid: params.CallSid }, params.TranscriptionText ?? null, params.TranscriptionStatus ?? null);
    },
    okResponse: undefined,
  });
}
