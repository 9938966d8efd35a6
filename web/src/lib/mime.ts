// Just enough MIME to show what the mailer wrote to the outbox (nodemailer's output): headers,
// multipart/alternative and mixed, quoted-printable and base64 bodies, UTF-8 and Latin-1 text.

export interface ParsedMail {
  headers: Record<string, string>;
  html: string | null;
  text: string | null;
}

function splitHead(raw: string): [string, string] {
  const m = /\r?\n\r?\n/.exec(raw);
  return m ? [raw.slice(0, m.index), raw.slice(m.index + m[0].length)] : [raw, ''];
}

function parseHeaders(head: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim().toLowerCase()] = decodeWords(line.slice(i + 1).trim());
  }
  return out;
}

const bytesToText = (bytes: Uint8Array, charset: string) => {
  try {
    return new TextDecoder(charset || 'utf-8').decode(bytes);
  } catch {
    return new TextDecoder('utf-8').decode(bytes);
  }
};

function decodeQp(s: string): Uint8Array {
  const soft = s.replace(/=\r?\n/g, '');
  const out: number[] = [];
  for (let i = 0; i < soft.length; i++) {
    const ch = soft[i];
    if (ch === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      out.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else out.push(...new TextEncoder().encode(ch));
  }
  return new Uint8Array(out);
}

const decodeB64 = (s: string) => Uint8Array.from(atob(s.replace(/\s+/g, '')), (c) => c.charCodeAt(0));

/** RFC 2047 encoded words in headers (=?utf-8?Q?…?= / =?utf-8?B?…?=). */
function decodeWords(v: string) {
  return v.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=\s*(?==\?)?/g, (_m, cs: string, enc: string, data: string) =>
    bytesToText(enc.toUpperCase() === 'B' ? decodeB64(data) : decodeQp(data.replace(/_/g, ' ')), cs),
  );
}

const param = (header: string, name: string) => new RegExp(`${name}="?([^";]+)"?`, 'i').exec(header)?.[1] ?? '';

function walk(headers: Record<string, string>, body: string, found: { html: string | null; text: string | null }) {
  const type = headers['content-type'] ?? 'text/plain';
  if (/^multipart\//i.test(type)) {
    const boundary = param(type, 'boundary');
    if (!boundary) return;
    const parts = body.split(`--${boundary}`).slice(1);
    for (const part of parts) {
      if (part.startsWith('--')) break;
      const [h, b] = splitHead(part.replace(/^\r?\n/, ''));
      walk(parseHeaders(h), b, found);
    }
    return;
  }
  const enc = (headers['content-transfer-encoding'] ?? '').toLowerCase();
  const bytes = enc === 'base64' ? decodeB64(body) : enc === 'quoted-printable' ? decodeQp(body) : new TextEncoder().encode(body);
  const text = bytesToText(bytes, param(type, 'charset'));
  if (/^text\/html/i.test(type) && found.html === null) found.html = text;
  else if (/^text\/plain/i.test(type) && found.text === null) found.text = text;
}

export function parseMail(raw: string): ParsedMail {
  const [head, body] = splitHead(raw);
  const headers = parseHeaders(head);
  const found = { html: null as string | null, text: null as string | null };
  walk(headers, body, found);
  return { headers, ...found };
}
