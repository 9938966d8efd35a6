import { registerProviderWebhook } from '../../channels/webhook.js';
import type { App, ModuleDeps } from '../../http/types.js';
import { recordAudit } from '../audit/service.js';
import { twilioWebhookLookup } from '../twilio/index.js';
import { applyCallStatus, type CallStatusUpdate } from './status.js';
import { checkTwilioSignatureHeader, FORM, formOf, placeVoiceRequest, VOICE_BODY_LIMIT } from './twilio-voice.js';

const intOrNull = (v: string | undefined) => (v && /^\d{1,7}$/.test(v) ? Number(v) : null);

/**
 * Twilio's call status callbacks (initiated, ringing, in-progress, completed, busy, no-answer, failed,
 * canceled): the organization from the account that placed the call (or the number called), verified
 * with its auth token; deduplicated per (call, status); applied forward-only.
 */
export function registerCallStatusWebhook(app: App, { db, config }: ModuleDeps) {
  registerProviderWebhook<CallStatusUpdate, number>(app, { db, config }, {
    path: '/api/webhooks/voice/status',
    provider: 'twilio-voice-status',
    operationId: 'receiveTwilioCallStatus',
    summary: 'Twilio call status callback: status, duration and recording of a call, forward-only',
    description:
      "Signed (X-Twilio-Signature) with the auth token of the organization whose account placed the call or whose number was called. Callbacks arrive out of order and repeat: a status at or behind the stored one changes nothing. A bad signature is a 401 and writes nothing.",
    contentTypes: FORM,
    bodyLimit: VOICE_BODY_LIMIT,
    lookup: twilioWebhookLookup(db),
    checkHeaders: checkTwilioSignatureHeader,
    async receive(delivery, lookup) {
      const params = formOf(delivery);
      const owner = await placeVoiceRequest(lookup, config, delivery, params, ['account', 'number']);
      if (!owner || !params.CallSid || !params.CallStatus) return { placed: [], unknown: 1 };
      const update: CallStatusUpdate = {
        callSid: params.CallSid,
        status: params.CallStatus,
        durationSeconds: intOrNull(params.CallDuration),
        recordingUrl: params.RecordingUrl || null,
        recordingDurationSeconds: intOrNull(params.RecordingDuration),
        errorCode: params.ErrorCode || null,
      };
      return { placed: [{ organizationId: owner.organizationId, eventId: `${params.CallSid}:${params.CallStatus}`, event: update }], unknown: 0 };
    },
    async apply(tx, ctx, events) {
      let changed = 0;
      for (const e of events) {
        const { applied, callId } = await applyCallStatus(tx, ctx.organizationId, e);
        if (!applied) continue;
        changed++;
        await recordAudit(tx, ctx, { action: 'call.status_changed', resourceType: 'call', resourceId: callId, changes: { status: e.status, durationSeconds: e.durationSeconds } });
      }
      return changed;
    },
    // `applied` counts calls that changed: a status behind the stored one is received but not applied.
    respond: (s) => ({ json: { received: s.received, applied: s.results.reduce((n, r) => n + r, 0), duplicates: s.duplicates, unknown: s.unknown } }),
  });
}
