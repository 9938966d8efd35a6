import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config.js';
import type { Tx } from '../../db/index.js';
import { twilioAccountOf } from './account.js';
import { toTwilioError, twilioClientFor, type TwilioClient } from './client.js';

export { TwilioError } from './client.js';

export interface OutgoingSms {
  from: string;
  to: string;
  body: string;
  statusCallback?: string;
}

export interface OutgoingCall {
  from: string;
  to: string;
  /** TwiML to run when the call is answered (or `url` to fetch it from). */
  twiml?: string;
  url?: string;
  statusCallback?: string;
  statusCallbackEvent?: string[];
  record?: boolean;
}

export interface Sent {
  sid: string;
  status: string;
}

/**
 * How an organization's messages and calls leave: its own Twilio account when connected, else the
 * development outbox. Failures throw a TwilioError (code, status, permanent).
 */
export interface TwilioTransport {
  kind: 'twilio' | 'outbox';
  accountSid: string | null;
  sendSms(sms: OutgoingSms): Promise<Sent>;
  createCall(call: OutgoingCall): Promise<Sent>;
}

/** Through the real SDK, with the organization's own credentials. */
export function twilioTransport(client: TwilioClient, accountSid: string): TwilioTransport {
  return {
    kind: 'twilio',
    accountSid,
    async sendSms({ from, to, body, statusCallback }) {
      try {
        const m = await client.messages.create({ from, to, body, ...(statusCallback && { statusCallback }) });
        return { sid: m.sid, status: m.status };
      } catch (err) {
        throw toTwilioError(err);
      }
    },
    async createCall({ from, to, twiml, url, statusCallback, statusCallbackEvent, record }) {
      try {
        const c = await client.calls.create({
          from,
          to,
          ...(twiml !== undefined ? { twiml } : { url: url! }),
          ...(statusCallback && { statusCallback, statusCallbackMethod: 'POST' }),
          ...(statusCallbackEvent && { statusCallbackEvent }),
          ...(record !== undefined && { record }),
        });
        return { sid: c.sid, status: c.status };
      } catch (err) {
        throw toTwilioError(err);
      }
    },
  };
}

export const twilioOutboxDir = (config: Pick<Config, 'dataDir'>, organizationId: string) =>
  path.join(config.dataDir, 'outbox', organizationId, 'twilio');

/** Outbox file names: `<epoch ms>-<sid>.json`, so a directory listing sorts by time. */
export const OUTBOX_FILE = /^(\d{13})-((?:SM|CA)[0-9a-f]{32})\.json$/;

/** A sid shaped like Twilio's: two letters and 32 hex digits. */
export const fakeSid = (prefix: 'SM' | 'CA') => prefix + randomBytes(16).toString('hex');

export type OutboxRecord =
  | ({ kind: 'sms'; sid: string; accountSid: null; status: 'queued'; createdAt: string } & OutgoingSms)
  | ({ kind: 'call'; sid: string; accountSid: null; status: 'queued'; createdAt: string } & OutgoingCall);

/**
 * Development transport (no Twilio account connected): one JSON file per message or call in
 * DATA_DIR/outbox/<organization>/twilio, listed by GET /api/twilio/outbox.
 */
export function outboxTransport(config: Pick<Config, 'dataDir'>, organizationId: string): TwilioTransport {
  const dir = twilioOutboxDir(config, organizationId);
  let made: Promise<unknown> | null = null;
  const write = async (record: OutboxRecord) => {
    made ??= mkdir(dir, { recursive: true }).catch((err) => {
      made = null; // try again next time
      throw err;
    });
    await made;
    await writeFile(path.join(dir, `${Date.now()}-${record.sid}.json`), JSON.stringify(record, null, 2));
    return { sid: record.sid, status: record.status };
  };
  const base = () => ({ accountSid: null, status: 'queued' as const, createdAt: new Date().toISOString() });
  return {
    kind: 'outbox',
    accountSid: null,
    sendSms: (sms) => write({ kind: 'sms', sid: fakeSid('SM'), ...base(), from: sms.from, to: sms.to, body: sms.body, statusCallback: sms.statusCallback }),
    createCall: (call) => write({ kind: 'call', sid: fakeSid('CA'), ...base(), ...call }),
  };
}

/** The organization's transport: its Twilio account when one is connected, else the development outbox. */
export async function transportFor(tx: Tx, organizationId: string, config: Pick<Config, 'dataDir' | 'secrets' | 'twilio'>): Promise<TwilioTransport> {
  const account = await twilioAccountOf(tx, organizationId, config);
  if (!account) return outboxTransport(config, organizationId);
  return twilioTransport(twilioClientFor(config, account.accountSid, account.authToken), account.accountSid);
}
