// An independent DKIM verifier (RFC 6376, rsa-sha256, relaxed/relaxed) for the tests: it checks a
// received message against the public key published in DNS, with node:crypto only.
import { createHash, verify } from 'node:crypto';

interface Field {
  name: string;
  value: string;
}

function splitMessage(raw: string) {
  const i = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, i + 2);
  const body = raw.slice(i + 4);
  const fields: Field[] = [];
  for (const line of head.split(/\r\n(?![ \t])/)) {
    if (!line) continue;
    const c = line.indexOf(':');
    fields.push({ name: line.slice(0, c), value: line.slice(c + 1).replace(/\r\n$/, '') });
  }
  return { fields, body };
}

const relaxedHeader = (f: Field) => `${f.name.trim().toLowerCase()}:${f.value.replace(/\r\n(?=[ \t])/g, '').replace(/[ \t]+/g, ' ').trim()}`;

function relaxedBody(body: string) {
  const lines = body.split('\r\n').map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines.length ? `${lines.join('\r\n')}\r\n` : '';
}

export function verifyDkim(raw: string, publicKeyRecord: (name: string) => string | undefined) {
  const { fields, body } = splitMessage(raw.replace(/\r?\n/g, '\r\n'));
  const sig = fields.find((f) => f.name.toLowerCase() === 'dkim-signature');
  if (!sig) return { ok: false, reason: 'no DKIM-Signature' };
  const tags = Object.fromEntries(
    sig.value
      .replace(/\r\n/g, '')
      .split(';')
      .map((t) => t.trim())
      .filter(Boolean)
      .map((t) => [t.slice(0, t.indexOf('=')).trim(), t.slice(t.indexOf('=') + 1).replace(/\s+/g, '')]),
  ) as Record<string, string>;
  if (tags.a !== 'rsa-sha256' || (tags.c ?? 'simple/simple') !== 'relaxed/relaxed') return { ok: false, reason: `unsupported a=${tags.a} c=${tags.c}`, tags };
  const bodyHash = createHash('sha256').update(relaxedBody(body)).digest('base64');
  if (bodyHash !== tags.bh) return { ok: false, reason: 'body hash mismatch', tags };

  // Signed header fields, each taken from the bottom up; then the signature field with b= emptied.
  const used = new Set<Field>();
  let data = '';
  for (const name of tags.h.split(':').map((n) => n.trim().toLowerCase())) {
    const f = [...fields].reverse().find((x) => x.name.trim().toLowerCase() === name && !used.has(x));
    if (!f) continue;
    used.add(f);
    data += `${relaxedHeader(f)}\r\n`;
  }
  data += relaxedHeader({ name: sig.name, value: sig.value.replace(/(^|;)(\s*b\s*=)[^;]*/, '$1$2') });

  const record = publicKeyRecord(`${tags.s}._domainkey.${tags.d}`);
  const p = record && /(?:^|;)\s*p=([^;]+)/.exec(record)?.[1].replace(/\s+/g, '');
  if (!p) return { ok: false, reason: 'no public key published', tags };
  const ok = verify('sha256', Buffer.from(data), { key: Buffer.from(p, 'base64'), format: 'der', type: 'spki' }, Buffer.from(tags.b, 'base64'));
  return { ok, reason: ok ? undefined : 'signature mismatch', tags };
}
