// Helpers of the inbox tests and bench: an SSE client over a real socket, an inbox, a widget visitor.
import { createHmac } from 'node:crypto';
import http from 'node:http';

export interface SseEvent {
  event: string;
  data: any;
  at: number;
}

export interface SseClient {
  status: number;
  headers: http.IncomingHttpHeaders;
  events: SseEvent[];
  /** Raw text received (pings and comments included). */
  raw(): string;
  /** Resolves with the first event (already received or arriving) that matches. */
  next(pred: (e: SseEvent) => boolean, timeoutMs?: number): Promise<SseEvent>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  close(): void;
}

/** Opens `url` as an event stream (GET, text/event-stream) and parses events as they arrive. */
export function openSse(url: string, headers: Record<string, string> = {}, opts: { agent?: http.Agent } = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { accept: 'text/event-stream', ...headers }, agent: opts.agent }, (res) => {
      const events: SseEvent[] = [];
      const waiters: { pred: (e: SseEvent) => boolean; resolve: (e: SseEvent) => void }[] = [];
      let text = '';
      let buf = '';
      res.setEncoding('utf8');
      let endResolve!: () => void;
      const ended = new Promise<void>((r) => (endResolve = r));
      res.on('data', (chunk: string) => {
        text += chunk;
        buf += chunk;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          let event = 'message';
          const data: string[] = [];
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) event = line.slice(7);
            else if (line.startsWith('data: ')) data.push(line.slice(6));
          }
          if (!data.length) continue;
          const e = { event, data: JSON.parse(data.join('\n')), at: performance.now() };
          events.push(e);
          for (const w of [...waiters]) {
            if (w.pred(e)) {
              waiters.splice(waiters.indexOf(w), 1);
              w.resolve(e);
            }
          }
        }
      });
      res.on('end', endResolve);
      res.on('close', endResolve);
      res.on('error', endResolve);
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        events,
        raw: () => text,
        ended,
        next(pred, timeoutMs = 10_000) {
          const hit = events.find(pred);
          if (hit) return Promise.resolve(hit);
          return new Promise((res2, rej) => {
            const w = { pred, resolve: (e: SseEvent) => (clearTimeout(timer), res2(e)) };
            const timer = setTimeout(() => {
              waiters.splice(waiters.indexOf(w), 1);
              rej(new Error(`SSE: no matching event within ${timeoutMs} ms (got ${events.map((e) => e.event).join(', ') || 'none'})`));
            }, timeoutMs);
            waiters.push(w);
          });
        },
        close() {
          req.destroy();
          res.destroy();
        },
      });
    });
    req.on('error', reject);
  });
}

export const identityHash = (secret: string, subject: string) => createHmac('sha256', secret).update(subject).digest('hex');

interface Injector {
  inject(opts: any): Promise<{ statusCode: number; body: string; headers: Record<string, any>; json(): any }>;
}

/** Creates an inbox as an admin; returns it with its secrets. */
export async function createInbox(app: Injector, headers: Record<string, string>, body: Record<string, unknown> = { name: 'Website' }) {
  const res = await app.inject({ method: 'POST', url: '/api/chat/inboxes', headers, payload: body });
  if (res.statusCode !== 201) throw new Error(`create inbox: ${res.statusCode} ${res.body}`);
  return res.json() as { id: string; siteToken: string; identitySecret: string; emailInboundUrl: string; [k: string]: any };
}

/** The signed visitor cookie from a widget session answer (name=value). */
export function visitorCookie(res: { headers: Record<string, any> }) {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  const c = list.find((x: string) => x.startsWith('sbv_'));
  if (!c) throw new Error('no visitor cookie');
  return c.split(';')[0];
}

/** Starts a widget session (anonymous, or with identity fields) and returns the headers of this visitor. */
export async function widgetVisitor(app: Injector, siteToken: string, identity: Record<string, string> = {}) {
  const res = await app.inject({ method: 'POST', url: '/api/widget/session', headers: { 'x-site-token': siteToken }, payload: { siteToken, ...identity } });
  if (res.statusCode !== 200) throw new Error(`widget session: ${res.statusCode} ${res.body}`);
  const cookie = visitorCookie(res);
  return { session: res.json(), cookie, setCookie: res.headers['set-cookie'], headers: { 'x-site-token': siteToken, cookie } };
}
