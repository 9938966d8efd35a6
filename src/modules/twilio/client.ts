import { createHash } from 'node:crypto';
import http from 'node:http';
import twilio from 'twilio';
import type { Config } from '../../config.js';

export type TwilioClient = ReturnType<typeof twilio>;
type RequestOptions = Parameters<InstanceType<typeof twilio.RequestClient>['request']>[0];

/**
 * The SDK's own HTTP client, with every request's origin replaced by TWILIO_API_BASE_URL when set
 * (a local stand-in speaking Twilio's REST shape: tests, benches, development). Plain-HTTP bases get a
 * keep-alive agent too: the SDK only pools its HTTPS connections.
 */
export class RebasedRequestClient extends twilio.RequestClient {
  private readonly base: URL | null;

  constructor(baseUrl?: string) {
    super({ timeout: 15_000, keepAlive: true, maxSockets: 128 });
    this.base = baseUrl ? new URL(baseUrl) : null;
    if (this.base?.protocol === 'http:') this.axios.defaults.httpAgent = new http.Agent({ keepAlive: true, maxSockets: 128 });
  }

  request<TData>(opts: RequestOptions & { data?: TData }) {
    if (this.base) {
      const u = new URL(opts.uri);
      opts = { ...opts, uri: `${this.base.origin}${this.base.pathname.replace(/\/$/, '')}${u.pathname}${u.search}` };
    }
    return super.request<TData>(opts as any);
  }
}

/** One HTTP client (and so one connection pool) per base URL, shared by every account's SDK client. */
const httpClients = new Map<string, RebasedRequestClient>();
function httpClientFor(config: Pick<Config, 'twilio'>) {
  const key = config.twilio.apiBaseUrl ?? '';
  let c = httpClients.get(key);
  if (!c) {
    c = new RebasedRequestClient(config.twilio.apiBaseUrl);
    httpClients.set(key, c);
  }
  return c;
}

/** An SDK client for these credentials, not cached (credential checks: the token may be wrong). */
export function newTwilioClient(config: Pick<Config, 'twilio'>, accountSid: string, authToken: string): TwilioClient {
  return twilio(accountSid, authToken, { httpClient: httpClientFor(config) });
}

const MAX_CACHED = 1000;
const clients = new Map<string, TwilioClient>();

/**
 * The SDK client of a connected account, cached per (account, token): a new token after a reconnect
 * gets a new client, and the old one ages out. Insertion order makes the Map a small LRU.
 */
export function twilioClientFor(config: Pick<Config, 'twilio'>, accountSid: string, authToken: string): TwilioClient {
  const key = `${config.twilio.apiBaseUrl ?? ''}|${accountSid}|${createHash('sha256').update(authToken).digest('base64url')}`;
  let c = clients.get(key);
  if (c) {
    clients.delete(key);
  } else {
    c = newTwilioClient(config, accountSid, authToken);
    if (clients.size >= MAX_CACHED) clients.delete(clients.keys().next().value!);
  }
  clients.set(key, c);
  return c;
}

/**
 * A failed Twilio request: Twilio's error `code` (21211 invalid To, 21610 unsubscribed recipient, 20003
 * authentication...) and HTTP `status` when Twilio answered, and whether retrying can help.
 */
export class TwilioError extends Error {
  constructor(
    message: string,
    readonly code: number | null,
    readonly status: number | null,
    /** True when the same request will fail again (4xx other than 408/429); false for 429, 5xx, timeouts and network errors. */
    readonly permanent: boolean,
    readonly moreInfo: string | null = null,
  ) {
    super(message);
    this.name = 'TwilioError';
  }
}

/** Maps what the SDK threw (RestException, an axios/network error, anything) to a TwilioError. */
export function toTwilioError(err: unknown): TwilioError {
  if (err instanceof TwilioError) return err;
  const e = err as { status?: unknown; code?: unknown; message?: unknown; moreInfo?: unknown };
  if (err instanceof twilio.RestException || (typeof e?.status === 'number' && e.status >= 400)) {
    const status = Number(e.status);
    const code = typeof e.code === 'number' ? e.code : null;
    const permanent = status >= 400 && status < 500 && status !== 408 && status !== 429;
    const message = typeof e.message === 'string' && e.message ? e.message : `Twilio answered HTTP ${status}`;
    return new TwilioError(message, code, status, permanent, typeof e.moreInfo === 'string' ? e.moreInfo : null);
  }
  // No answer from Twilio (refused, reset, timed out): worth retrying.
  const reason = typeof e?.code === 'string' ? e.code : typeof e?.message === 'string' ? e.message : String(err);
  return new TwilioError(`Twilio could not be reached: ${reason}`, null, null, false);
}
