import { generateKeyPairSync, sign } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface Received {
  from: string;
  to: string[];
  raw: string;
  header(name: string): string;
  html: string;
  text: string;
}

function decodePart(body: string, encoding: string) {
  if (/quoted-printable/i.test(encoding)) {
    const bytes = body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_, h) => String.fromCharCode(parseInt(h, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  if (/base64/i.test(encoding)) return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return body;
}

function splitHeaders(raw: string) {
  const i = raw.search(/\r?\n\r?\n/);
  const head = raw.slice(0, i).replace(/\r?\n[ \t]+/g, ' ');
  const body = raw.slice(i).replace(/^\r?\n\r?\n/, '');
  const get = (name: string) => new RegExp(`^${name}:[ \\t]*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  return { get, body };
}

/** A minimal MIME reader for what nodemailer writes (multipart/alternative of text and html). */
export function parseMessage(raw: string, from = '', to: string[] = []): Received {
  const top = splitHeaders(raw);
  let html = '';
  let text = '';
  const boundary = /boundary="?([^";]+)"?/i.exec(top.get('Content-Type'))?.[1];
  const parts = boundary ? top.body.split(`--${boundary}`).slice(1, -1) : [raw];
  for (const p of parts) {
    const part = splitHeaders(p.replace(/^\r?\n/, ''));
    const content = decodePart(part.body, part.get('Content-Transfer-Encoding'));
    if (/text\/html/i.test(part.get('Content-Type'))) html = content;
    else if (/text\/plain/i.test(part.get('Content-Type'))) text = content;
  }
  return { from, to, raw, header: top.get, html, text };
}

export interface SmtpSink {
  url: string;
  messages: Received[];
  close(): Promise<void>;
}

/**
 * A real SMTP server in the test process. `onRcpt` may answer a recipient with an SMTP error code;
 * `beforeReply` runs once a message's data has arrived and may delay the server's reply (a stalled
 * server) or answer with an error, in which case the message is not received.
 */
export async function startSmtpSink(
  opts: {
    onRcpt?: (address: string) => { code: number; message: string } | void;
    beforeReply?: (to: string[]) => Promise<{ code: number; message: string } | void>;
    parse?: boolean;
  } = {},
): Promise<SmtpSink> {
  const messages: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    maxClients: 500,
    onRcptTo(address, _session, cb) {
      const r = opts.onRcpt?.(address.address);
      if (r) {
        const err = Object.assign(new Error(r.message), { responseCode: r.code });
        return cb(err);
      }
      cb();
    },
    onData(stream, session, cb) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', async () => {
        const raw = Buffer.concat(chunks).toString('utf8');
        const to = session.envelope.rcptTo.map((r) => r.address);
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const refused = await opts.beforeReply?.(to);
        if (refused) return cb(Object.assign(new Error(refused.message), { responseCode: refused.code }));
        messages.push(opts.parse === false ? ({ from, to, raw } as Received) : parseMessage(raw, from, to));
        cb(null, `Ok: queued as q${messages.length}`);
      });
    },
  });
  // A client that vanishes mid-conversation (a killed worker) resets its connection: not the sink's error.
  server.on('error', () => {});
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = ((server as any).server.address() as AddressInfo).port;
  return { url: `smtp://127.0.0.1:${port}`, messages, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A P-256 key pair as SendGrid uses it: the public key as base64 DER (SPKI), the form its settings page shows. */
export function webhookKeys() {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return { publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'), privateKey };
}

/** Signs timestamp + raw body with ECDSA P-256 / SHA-256 (base64 DER), exactly as SendGrid does. */
export function signedHeaders(privateKey: ReturnType<typeof webhookKeys>['privateKey'], body: string, timestamp = Math.floor(Date.now() / 1000)) {
  const signature = sign('sha256', Buffer.from(String(timestamp) + body), privateKey).toString('base64');
  return {
    'content-type': 'application/json',
    'x-twilio-email-event-webhook-signature': signature,
    'x-twilio-email-event-webhook-timestamp': String(timestamp),
  };
}

export async function waitFor<T>(fn: () => Promise<T | undefined | null | false> | T | undefined | null | false, timeoutMs = 30_000, stepMs = 50): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v as T;
    if (Date.now() > end) throw new Error('waitFor: timed out');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
