/**
 * A local HTTP server speaking Twilio's REST shape (2010-04-01 API: Accounts, Messages, Calls,
 * IncomingPhoneNumbers), for the real `twilio` SDK pointed at it with TWILIO_API_BASE_URL; and helpers
 * that post webhook requests signed the way Twilio signs them. Used by tests and by bench/ scripts
 * (no vitest import here), so it is kept fast: no per-request allocation beyond the parsed form.
 */
import { randomBytes } from 'node:crypto';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pathToFileURL } from 'node:url';
import twilio from 'twilio';

export interface FakeAccount {
  authToken: string;
  friendlyName?: string;
  status?: 'active' | 'suspended' | 'closed';
}

export interface FakeTwilioRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: Record<string, string>;
  /** The form body, parsed (repeated keys become arrays, as the SDK sends StatusCallbackEvent). */
  form: Record<string, string | string[]>;
  /** The account whose credentials authenticated the request (Basic auth user), or null. */
  authAccount: string | null;
  status: number;
}

export interface TwilioFailure {
  code: number;
  status?: number;
  message?: string;
}

export interface FakeNumber {
  sid: string;
  account_sid: string;
  phone_number: string;
  friendly_name: string;
  sms_url: string;
  sms_method: string;
  voice_url: string;
  voice_method: string;
  status_callback: string;
  status_callback_method: string;
  [key: string]: unknown;
}

export interface FakeTwilio {
  /** Base URL for TWILIO_API_BASE_URL. */
  url: string;
  /** Every request, in order (unless started with record: false). */
  requests: FakeTwilioRequest[];
  /** Messages and calls created, per kind (counted even when not recording). */
  counts: { messages: number; calls: number };
  /** Adds an incoming phone number to an account; returns its PN sid. */
  addNumber(accountSid: string, phoneNumber: string, friendlyName?: string): string;
  /** The account's incoming phone numbers as Twilio holds them (webhook URLs included). */
  numbers(accountSid: string): FakeNumber[];
  /** Messages and calls to this number fail with Twilio's error (21211 invalid number, 21610 unsubscribed...). */
  failTo(phoneNumber: string, failure: TwilioFailure): void;
  /** The next `count` requests (any path) fail with this HTTP status and code (429 / 500 / 503...). */
  failNext(count: number, failure: TwilioFailure): void;
  /** Requests whose path ends with the suffix ('/Messages.json', '/Calls.json'...). */
  requestsTo(suffix: string, method?: string): FakeTwilioRequest[];
  close(): Promise<void>;
}

const API = '/2010-04-01';
const ACCOUNT_PATH = /^\/2010-04-01\/Accounts\/(AC[0-9a-fA-F]{32})(?:\/(Messages|Calls|IncomingPhoneNumbers)(?:\/((?:SM|CA|PN)[0-9a-fA-F]{32}))?)?\.json$/;
const E164 = /^\+[1-9][0-9]{6,14}$/;

const rfc2822 = (d = new Date()) => d.toUTCString().replace('GMT', '+0000');

/** GSM 03.38 basic set (one septet) and extension set (two septets). */
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
const GSM_EXT = new Set('^{}\\[~]|€\f');

/** Segments as Twilio counts them: GSM-7 160/153 septets, else UCS-2 70/67 code units. */
export function segmentsOf(body: string): number {
  let septets = 0;
  let gsm = true;
  for (const ch of body) {
    if (GSM_BASIC.has(ch)) septets += 1;
    else if (GSM_EXT.has(ch)) septets += 2;
    else {
      gsm = false;
      break;
    }
  }
  if (gsm) return septets <= 160 ? 1 : Math.ceil(septets / 153);
  return body.length <= 70 ? 1 : Math.ceil(body.length / 67);
}

/** What the fake answers: an HTTP status and a JSON body. */
type Reply = [status: number, body: unknown];
const reply = (status: number, body: unknown): Reply => [status, body];
/** Twilio's error body. */
const twilioError = (status: number, code: number, message: string): Reply => [status, { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status }];

function send(res: ServerResponse, [status, body]: Reply) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Twilio's RFC 2822 dates, formatted once per second. */
let dateCache = { second: -1, text: '' };
function rfc2822Now() {
  const second = Math.floor(Date.now() / 1000);
  if (second !== dateCache.second) dateCache = { second, text: rfc2822(new Date(second * 1000)) };
  return dateCache.text;
}

function parseForm(text: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  if (!text) return out;
  for (const [k, v] of new URLSearchParams(text)) {
    const prev = out[k];
    out[k] = prev === undefined ? v : Array.isArray(prev) ? [...prev, v] : [prev, v];
  }
  return out;
}

const str = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

export async function startFakeTwilio(opts: { accounts: Record<string, string | FakeAccount>; record?: boolean; port?: number; host?: string }): Promise<FakeTwilio> {
  const accounts = new Map<string, FakeAccount>(
    Object.entries(opts.accounts).map(([sid, a]) => [sid, typeof a === 'string' ? { authToken: a } : a]),
  );
  const record = opts.record !== false;
  const requests: FakeTwilioRequest[] = [];
  const counts = { messages: 0, calls: 0 };
  const numbers = new Map<string, FakeNumber[]>();
  const failuresTo = new Map<string, TwilioFailure>();
  let failNext: { count: number; failure: TwilioFailure } | null = null;
  // Sids unique per server: 16 random hex digits, then a counter.
  const sidBase = randomBytes(8).toString('hex');
  let seq = 0;
  const sid = (prefix: string) => `${prefix}${sidBase}${(++seq).toString(16).padStart(16, '0')}`;
  const authCache = new Map<string, string | null>();

  /** The account sid the Basic credentials prove, or null. */
  function authenticate(header: string | undefined): string | null {
    if (!header) return null;
    let hit = authCache.get(header);
    if (hit !== undefined) return hit;
    hit = null;
    const m = /^Basic\s+(.+)$/i.exec(header);
    if (m) {
      const decoded = Buffer.from(m[1], 'base64').toString('utf8');
      const i = decoded.indexOf(':');
      const user = decoded.slice(0, i);
      const account = accounts.get(user);
      if (i > 0 && account && account.authToken === decoded.slice(i + 1)) hit = user;
    }
    if (authCache.size < 10_000) authCache.set(header, hit);
    return hit;
  }

  function handle(req: IncomingMessage, raw: string): Reply {
    const entry = parse(req, raw);
    let r: Reply;
    try {
      r = route(req, entry);
    } catch (err) {
      r = twilioError(500, 20500, `fake Twilio failed: ${(err as Error).message}`);
    }
    entry.status = r[0];
    if (record) requests.push(entry);
    return r;
  }

  function parse(req: IncomingMessage, raw: string): FakeTwilioRequest {
    const q = req.url!.indexOf('?');
    const path = q < 0 ? req.url! : req.url!.slice(0, q);
    const query = q < 0 ? {} : (Object.fromEntries(new URLSearchParams(req.url!.slice(q + 1))) as Record<string, string>);
    const form = req.method === 'POST' ? parseForm(raw) : {};
    const authAccount = authenticate(req.headers.authorization);
    return { method: req.method!, path, query, form, authAccount, status: 0 };
  }

  function route(req: IncomingMessage, { path, query, form, authAccount }: FakeTwilioRequest): Reply {
    const m = ACCOUNT_PATH.exec(path);
    // An outage answers before authentication does.
    if (failNext && failNext.count > 0) {
      failNext.count--;
      const f = failNext.failure;
      return twilioError(f.status ?? 500, f.code, f.message ?? 'Service unavailable');
    }
    if (!authAccount) return twilioError(401, 20003, 'Authenticate');
    if (!m) return twilioError(404, 20404, `The requested resource ${path} was not found`);
    const [, accountSid, collection, itemSid] = m;
    // Credentials of one account do not open another's resources.
    if (accountSid !== authAccount) return twilioError(401, 20003, 'Authenticate');
    const account = accounts.get(accountSid)!;
    const base = `${API}/Accounts/${accountSid}`;
    const now = rfc2822Now();

    if (!collection) {
      if (req.method !== 'GET') return twilioError(405, 20004, 'Method not allowed');
      return reply(200, {
        auth_token: account.authToken, // Twilio does return it to its owner: we must never pass it on
        date_created: now,
        date_updated: now,
        friendly_name: account.friendlyName ?? `${accountSid.slice(0, 8)}'s account`,
        owner_account_sid: accountSid,
        sid: accountSid,
        status: account.status ?? 'active',
        subresource_uris: { messages: `${base}/Messages.json`, calls: `${base}/Calls.json`, incoming_phone_numbers: `${base}/IncomingPhoneNumbers.json` },
        type: 'Full',
        uri: `${base}.json`,
      });
    }

    if (collection === 'Messages' && !itemSid && req.method === 'POST') {
      const to = str(form.To);
      const from = str(form.From);
      const body = str(form.Body);
      if (!to) return twilioError(400, 21604, "A 'To' phone number is required.");
      if (!from && !form.MessagingServiceSid) return twilioError(400, 21603, "A 'From' phone number is required.");
      if (!body && !form.MediaUrl) return twilioError(400, 21602, 'Message body is required.');
      const failure = failuresTo.get(to);
      if (failure) return twilioError(failure.status ?? 400, failure.code, failure.message ?? `Twilio error ${failure.code} for ${to}`);
      if (!E164.test(to)) return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
      counts.messages++;
      const id = sid('SM');
      return reply(201, {
        account_sid: accountSid,
        api_version: '2010-04-01',
        body: body ?? '',
        date_created: now,
        date_sent: null,
        date_updated: now,
        direction: 'outbound-api',
        error_code: null,
        error_message: null,
        from: from ?? null,
        messaging_service_sid: str(form.MessagingServiceSid) ?? null,
        num_media: '0',
        num_segments: String(segmentsOf(body ?? '')),
        price: null,
        price_unit: 'USD',
        sid: id,
        status: 'queued',
        subresource_uris: { media: `${base}/Messages/${id}/Media.json` },
        to,
        uri: `${base}/Messages/${id}.json`,
      });
    }

    if (collection === 'Calls' && !itemSid && req.method === 'POST') {
      const to = str(form.To);
      const from = str(form.From);
      if (!to) return twilioError(400, 21201, "No 'To' number is specified");
      if (!from) return twilioError(400, 21213, "No 'From' number is specified");
      if (!form.Url && !form.Twiml && !form.ApplicationSid) return twilioError(400, 21205, 'Url, Twiml or ApplicationSid is required');
      const failure = failuresTo.get(to);
      if (failure) return twilioError(failure.status ?? 400, failure.code, failure.message ?? `Twilio error ${failure.code} for ${to}`);
      if (!E164.test(to) && !to.startsWith('client:') && !to.startsWith('sip:')) return twilioError(400, 21211, `The 'To' number ${to} is not a valid phone number.`);
      counts.calls++;
      const id = sid('CA');
      return reply(201, {
        account_sid: accountSid,
        annotation: null,
        answered_by: null,
        api_version: '2010-04-01',
        caller_name: null,
        date_created: now,
        date_updated: now,
        direction: 'outbound-api',
        duration: null,
        end_time: null,
        forwarded_from: null,
        from,
        from_formatted: from,
        group_sid: null,
        parent_call_sid: null,
        phone_number_sid: numbers.get(accountSid)?.find((n) => n.phone_number === from)?.sid ?? null,
        price: null,
        price_unit: 'USD',
        sid: id,
        start_time: null,
        status: 'queued',
        subresource_uris: { recordings: `${base}/Calls/${id}/Recordings.json` },
        to,
        to_formatted: to,
        trunk_sid: null,
        uri: `${base}/Calls/${id}.json`,
        queue_time: '0',
      });
    }

    if (collection === 'IncomingPhoneNumbers') {
      const mine = numbers.get(accountSid) ?? [];
      if (!itemSid && req.method === 'GET') {
        const wanted = query.PhoneNumber;
        // As Twilio: the filter is a pattern, a number containing it matches.
        const found = wanted ? mine.filter((n) => n.phone_number.includes(wanted)) : mine;
        const pageSize = Number(query.PageSize ?? 50);
        const page = found.slice(0, pageSize);
        return reply(200, {
          end: Math.max(0, page.length - 1),
          first_page_uri: `${base}/IncomingPhoneNumbers.json?PageSize=${pageSize}&Page=0`,
          incoming_phone_numbers: page,
          next_page_uri: null,
          page: 0,
          page_size: pageSize,
          previous_page_uri: null,
          start: 0,
          uri: `${base}/IncomingPhoneNumbers.json?PageSize=${pageSize}&Page=0`,
        });
      }
      if (!itemSid && req.method === 'POST') {
        const phone = str(form.PhoneNumber);
        if (!phone || !E164.test(phone)) return twilioError(400, 21421, 'PhoneNumber is invalid');
        const pn = addNumber(accountSid, phone);
        const created = numbers.get(accountSid)!.find((x) => x.sid === pn)!;
        applyUpdate(created, form);
        return reply(201, created);
      }
      const number = itemSid ? mine.find((n) => n.sid === itemSid) : undefined;
      if (!number) return twilioError(404, 20404, `The requested resource ${path} was not found`);
      if (req.method === 'GET') return reply(200, number);
      if (req.method === 'POST') {
        applyUpdate(number, form);
        return reply(200, number);
      }
    }
    return twilioError(405, 20004, 'Method not allowed');
  }

  const UPDATABLE: Record<string, string> = {
    FriendlyName: 'friendly_name',
    SmsUrl: 'sms_url',
    SmsMethod: 'sms_method',
    VoiceUrl: 'voice_url',
    VoiceMethod: 'voice_method',
    StatusCallback: 'status_callback',
    StatusCallbackMethod: 'status_callback_method',
  };
  function applyUpdate(n: FakeNumber, form: Record<string, string | string[]>) {
    for (const [k, field] of Object.entries(UPDATABLE)) {
      const v = str(form[k]);
      if (v !== undefined) (n as Record<string, unknown>)[field] = v;
    }
    n.date_updated = rfc2822();
  }

  function addNumber(accountSid: string, phoneNumber: string, friendlyName?: string) {
    const id = sid('PN');
    const now = rfc2822();
    const list = numbers.get(accountSid) ?? [];
    list.push({
      account_sid: accountSid,
      api_version: '2010-04-01',
      capabilities: { fax: false, mms: true, sms: true, voice: true },
      date_created: now,
      date_updated: now,
      friendly_name: friendlyName ?? phoneNumber,
      phone_number: phoneNumber,
      sid: id,
      sms_method: 'POST',
      sms_url: '',
      status: 'in-use',
      status_callback: '',
      status_callback_method: 'POST',
      uri: `${API}/Accounts/${accountSid}/IncomingPhoneNumbers/${id}.json`,
      voice_method: 'POST',
      voice_url: '',
    });
    numbers.set(accountSid, list);
    return id;
  }

  const server = http.createServer((req, res) => {
    if (req.method === 'GET' || req.method === 'DELETE') {
      req.resume();
      req.on('end', () => send(res, handle(req, '')));
      return;
    }
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => send(res, handle(req, raw)));
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${opts.host ?? '127.0.0.1'}:${port}`,
    requests,
    counts,
    addNumber,
    numbers: (accountSid) => numbers.get(accountSid) ?? [],
    failTo: (phoneNumber, failure) => void failuresTo.set(phoneNumber, failure),
    failNext: (count, failure) => void (failNext = { count, failure }),
    requestsTo: (suffix, method) => requests.filter((r) => r.path.endsWith(suffix) && (!method || r.method === method)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A random account: AC + 32 hex digits, and a 32-hex-digit auth token. */
export const newTwilioAccount = () => ({ accountSid: `AC${randomBytes(16).toString('hex')}`, authToken: randomBytes(16).toString('hex') });

/** X-Twilio-Signature for a POST of these form parameters to this URL, computed by the SDK. */
export const twilioSignature = (authToken: string, url: string, params: Record<string, string>) =>
  twilio.getExpectedTwilioSignature(authToken, url, params);

export interface SignedResponse {
  statusCode: number;
  body: string;
  headers: Record<string, unknown>;
  json(): any;
}

/** Anything with `inject` (a Fastify app) and the config's publicUrl: the test app. */
export interface InjectTarget {
  app: { inject(opts: any): Promise<any> };
  config: { publicUrl: string };
}

/**
 * POSTs form parameters to a webhook path as Twilio would: application/x-www-form-urlencoded, signed
 * with the auth token over PUBLIC_URL + path (query string included). `target` is the test app (through
 * inject) or the base URL of a listening server (through fetch; then the signed URL is that base + path,
 * unless `signedUrl` says otherwise, as behind a proxy).
 */
export async function signedTwilioRequest(
  target: InjectTarget | string,
  authToken: string,
  path: string,
  params: Record<string, string>,
  opts: { signedUrl?: string; signature?: string } = {},
): Promise<SignedResponse> {
  const publicBase = typeof target === 'string' ? target.replace(/\/$/, '') : target.config.publicUrl;
  const url = opts.signedUrl ?? `${publicBase}${path}`;
  const headers = {
    'content-type': 'application/x-www-form-urlencoded',
    'x-twilio-signature': opts.signature ?? twilioSignature(authToken, url, params),
  };
  const payload = new URLSearchParams(params).toString();
  if (typeof target !== 'string') {
    const res = await target.app.inject({ method: 'POST', url: path, headers, payload });
    return { statusCode: res.statusCode, body: res.body, headers: res.headers, json: () => JSON.parse(res.body) };
  }
  const res = await fetch(`${publicBase}${path}`, { method: 'POST', headers, body: payload });
  const body = await res.text();
  return { statusCode: res.status, body, headers: Object.fromEntries(res.headers), json: () => JSON.parse(body) };
}

/**
 * Connects an organization to its account on the fake and adds the given numbers (to the account at
 * the fake, then to the organization through the API), as an admin would. Returns the numbers' rows.
 * Throws on any refusal (usable from tests and benches alike).
 */
export async function connectTwilio(
  app: { inject(opts: any): Promise<{ statusCode: number; body: string }> },
  headers: Record<string, string>,
  fake: FakeTwilio,
  account: { accountSid: string; authToken: string },
  numbers: string[],
): Promise<{ id: string; number: string }[]> {
  const call = async (method: string, url: string, payload: unknown, status: number) => {
    const res = await app.inject({ method, url, headers, payload });
    if (res.statusCode !== status) throw new Error(`${method} ${url}: expected ${status}, got ${res.statusCode} ${res.body}`);
    return JSON.parse(res.body);
  };
  await call('PUT', '/api/integrations/twilio', account, 200);
  const rows = [];
  for (const number of numbers) {
    fake.addNumber(account.accountSid, number);
    rows.push(await call('POST', '/api/phone-numbers', { number }, 201));
  }
  return rows;
}

/**
 * `npx tsx test/twilio-support.ts [port]`: the fake as a local stand-in for development. It prints an
 * account to connect (PUT /api/integrations/twilio) and the TWILIO_API_BASE_URL to start the server with.
 */
if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const account = newTwilioAccount();
  const fake = await startFakeTwilio({ accounts: { [account.accountSid]: account.authToken }, record: false, port: Number(process.argv[2] ?? 4010) });
  fake.addNumber(account.accountSid, '+14155552671', 'Stand-in number');
  console.log(`Twilio stand-in on ${fake.url}\n  TWILIO_API_BASE_URL=${fake.url}\n  accountSid=${account.accountSid}\n  authToken=${account.authToken}\n  number +14155552671`);
}
