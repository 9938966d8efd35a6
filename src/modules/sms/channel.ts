import { sql } from 'drizzle-orm';
import type { CampaignChannel, CampaignRow, Claimed, Recorded } from '../../channels/campaign-engine.js';
import type { Config } from '../../config.js';
import type { Database, Tx } from '../../db/index.js';
import { arr } from '../../db/sql.js';
import { transportFor, TwilioError, type TwilioTransport } from '../twilio/transport.js';
import { campaignEvents } from '../webhooks/sources.js';
import { resolveAudience } from './audience.js';
import { quietUntil } from './quiet-hours.js';
import { renderSmsBody, TemplateRenderError, TemplateTooExpensiveError, type RenderPool } from './render.js';
import { SMS_BODY_MAX } from './schemas.js';
import { segmentInfo } from './segments.js';
import { fromNumberFor } from './send-service.js';
import { loadSmsSettings } from './settings.js';
import { applyPendingStatus } from './status.js';

// SMS on the campaign engine (src/channels/campaign-engine.ts): audience, compose, transport,
// outcome. The engine owns durability, fencing, resumption, batching and the rate.

export { SMS_CAMPAIGN_QUEUE } from './send-service.js';
/** Where Twilio posts the status of every message. */
export const statusCallbackUrl = (config: Pick<Config, 'publicUrl'>) => `${config.publicUrl}/api/webhooks/sms`;

interface SmsRun {
  org: string;
  campaign: { name: string; body: string };
  from: string;
  transport: TwilioTransport;
  statusCallback: string;
  /** Set once a recipient's render went over its budget twice: every other recipient's would too. */
  tooExpensive: string | null;
}

interface SmsMessage {
  to: string;
  body: string;
  segments: number;
  encoding: 'GSM-7' | 'UCS-2';
}

export interface SmsChannelDeps {
  db: Database;
  config: Config;
  pool: RenderPool;
}

export function smsChannel({ db, config, pool }: SmsChannelDeps): CampaignChannel<SmsRun, SmsMessage> {
  return {
    provider: 'SMS provider',
    tables: { campaigns: 'sms_campaigns', messages: 'sms_messages', address: 'to_phone' },
    statusChanged: campaignEvents('sms'),
    concurrency: config.sms.concurrency,
    ratePerSecond: config.sms.ratePerSecond,
    maxAttempts: config.sms.maxAttempts,
    retryBaseMs: config.sms.retryBaseMs,

    async audience(tx: Tx, org: string, campaign: CampaignRow) {
      const { invalid } = await resolveAudience(tx, org, campaign.id, campaign.audience ?? {});
      await tx.execute(sql`update sms_campaigns set invalid_numbers = ${invalid} where organization_id = ${org} and id = ${campaign.id}`);
    },

    async prepare(org, campaign) {
      return db.withTenant(org, async (tx) => {
        // Chosen when the send was asked for; checked again, since a number can be released meanwhile.
        const from = await fromNumberFor(tx, org, campaign.from_number);
        if (!from) return { fail: 'The organization has no SMS-enabled phone number to send from' };
        if (from !== campaign.from_number) await tx.execute(sql`update sms_campaigns set from_number = ${from} where organization_id = ${org} and id = ${campaign.id}`);
        const transport = await transportFor(tx, org, config);
        return { run: { org, campaign: { name: campaign.name, body: campaign.body }, from, transport, statusCallback: statusCallbackUrl(config), tooExpensive: null } };
      });
    },

    async compose(run, m: Claimed) {
      const failed = (error: string) => ({ outcome: { id: m.messageId, status: 'failed' as const, error } });
      let body: string | undefined;
      for (let attempt = 1; !body; attempt++) {
        if (run.tooExpensive) return failed(run.tooExpensive);
        try {
          body = (await renderSmsBody(pool, run.org, run.campaign, m.customer)).trim();
          if (!body) return failed('The message is empty for this customer');
        } catch (err) {
          // Over budget once may be a busy machine (the budget is wall-clock time): once more.
          if (err instanceof TemplateTooExpensiveError) {
            if (attempt === 2) return failed((run.tooExpensive = `Template too expensive: ${err.message}`));
            continue;
          }
          if (err instanceof TemplateRenderError) return failed(`Template error: ${err.message}`);
          // The renderer itself (shutting down): the row goes back untouched.
          return { outcome: { id: m.messageId, status: 'queued' as const } };
        }
      }
      if ([...body].length > SMS_BODY_MAX) return failed(`The message is longer than ${SMS_BODY_MAX} characters for this customer`);
      const { segments, encoding } = segmentInfo(body);
      return { message: { to: m.address, body, segments, encoding } };
    },

    async transport(run, msg) {
      const extra = { body: msg.body, segments: msg.segments, encoding: msg.encoding, from: run.from };
      try {
        const sent = await run.transport.sendSms({ from: run.from, to: msg.to, body: msg.body, statusCallback: run.statusCallback });
        return { ok: true, providerMessageId: sent.sid, extra: { ...extra, sid: sent.sid } };
      } catch (err) {
        if (err instanceof TwilioError) {
          const code = err.code !== null ? `Twilio error ${err.code}: ` : '';
          return { ok: false, error: `${code}${err.message}`, permanent: err.permanent, extra: { ...extra, errorCode: err.code } };
        }
        return { ok: false, error: err instanceof Error ? err.message : String(err), permanent: false, extra };
      }
    },

    async recorded(tx, org, rows: Recorded[]) {
      const done = rows.filter((r) => r.extra);
      if (!done.length) return;
      const x = (r: Recorded) => r.extra as { body?: string; segments?: number; encoding?: string; from?: string; errorCode?: number | null; sid?: string };
      await tx.execute(sql`
        update sms_messages m set body = coalesce(v.body, m.body), segments = coalesce(v.segments, m.segments), encoding = coalesce(v.encoding, m.encoding),
          from_number = coalesce(v.from_number, m.from_number), error_code = coalesce(v.code, m.error_code)
        from unnest(${arr(done.map((r) => r.id))}::uuid[], ${arr(done.map((r) => x(r).body ?? null))}::text[], ${arr(done.map((r) => x(r).segments ?? null))}::int[],
                    ${arr(done.map((r) => x(r).encoding ?? null))}::text[], ${arr(done.map((r) => x(r).from ?? null))}::text[], ${arr(done.map((r) => x(r).errorCode ?? null))}::int[])
          as v(id, body, segments, encoding, from_number, code)
        where m.organization_id = ${org} and m.id = v.id`);
      // Status callbacks that arrived before these sids were recorded.
      await applyPendingStatus(tx, org, done.map((r) => x(r).sid).filter((s): s is string => !!s));
    },

    async notBefore(org) {
      const settings = await db.withTenant(org, (tx) => loadSmsSettings(tx, org));
      return quietUntil(new Date(), settings.quietHours);
    },
  };
}
