import type { lookup as dnsLookup } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { AddressPolicy } from './ssrf.js';

/** What one HTTP attempt came to: a status (any, 3xx included: redirects are not followed) or an error. */
export interface AttemptResult {
  statusCode: number | null;
  latencyMs: number;
  /** At most 1 KB of the response body. */
  excerpt: string | null;
  error: string | null;
  /** Seconds the endpoint asked us to wait (Retry-After), when it did. */
  retryAfterSeconds: number | null;
}

export const EXCERPT_BYTES = 1024;

function retryAfterOf(value: string | undefined): number | null {
  if (!value) return null;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, Math.ceil((at - Date.now()) / 1000));
}

/**
 * Posts a signed body to an endpoint over agents whose `lookup` checks and pins the address (see
 * AddressPolicy). Literal IP hosts skip `lookup` in node:net, so they are checked here first.
 * Keep-alive agents per sender: repeated deliveries to one receiver reuse connections.
 */
export class WebhookSender {
  private readonly httpAgent: http.Agent;
  private readonly httpsAgent: https.Agent;

  constructor(
    private readonly policy: AddressPolicy,
    private readonly timeoutMs: number,
    resolve?: typeof dnsLookup,
  ) {
    const lookup = policy.lookup(resolve);
    this.httpAgent = new http.Agent({ keepAlive: true, maxSockets: 64, lookup });
    this.httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 64, lookup });
  }

  async post(url: string, headers: Record<string, string>, body: string): Promise<AttemptResult> {
    const started = performance.now();
    const done = (r: Omit<AttemptResult, 'latencyMs'>): AttemptResult => ({ ...r, latencyMs: Math.round(performance.now() - started) });
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      return done({ statusCode: null, excerpt: null, error: 'invalid URL', retryAfterSeconds: null });
    }
    const host = u.hostname.replace(/^\[|\]$/g, '');
    if (isIP(host)) {
      const why = this.policy.refusal(host);
      if (why) return done({ statusCode: null, excerpt: null, error: `refused: ${why}`, retryAfterSeconds: null });
    }
    const secure = u.protocol === 'https:';
    if (!secure && !(u.protocol === 'http:' && this.policy.allowsPrivate)) {
      return done({ statusCode: null, excerpt: null, error: 'refused: the URL must use https', retryAfterSeconds: null });
    }
    return new Promise<AttemptResult>((resolve) => {
      let settled = false;
      const finish = (r: Omit<AttemptResult, 'latencyMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve(done(r));
      };
      const req = (secure ? https : http).request(
        u,
        {
          method: 'POST',
          agent: secure ? this.httpsAgent : this.httpAgent,
          headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'Switchboard-Webhooks/1', ...headers },
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (c: Buffer) => {
            if (size < EXCERPT_BYTES) chunks.push(c);
            size += c.length;
          });
          res.on('end', () => {
            const excerpt = Buffer.concat(chunks).subarray(0, EXCERPT_BYTES).toString('utf8');
            const status = res.statusCode ?? 0;
            finish({
              statusCode: status,
              excerpt: excerpt || null,
              error: status >= 300 && status < 400 ? `redirect to ${String(res.headers.location ?? '(no location)').slice(0, 200)} not followed` : null,
              retryAfterSeconds: retryAfterOf(res.headers['retry-after']),
            });
          });
          res.on('error', (err) => finish({ statusCode: res.statusCode ?? null, excerpt: null, error: err.message, retryAfterSeconds: null }));
        },
      );
      const timer = setTimeout(() => {
        req.destroy(new Error(`timed out after ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      req.on('error', (err) => finish({ statusCode: null, excerpt: null, error: err.message, retryAfterSeconds: null }));
      req.end(body);
    });
  }

  close() {
    this.httpAgent.destroy();
    this.httpsAgent.destroy();
  }
}
