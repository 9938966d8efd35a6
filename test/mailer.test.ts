import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMailer, type Mailer, type OutgoingMail } from '../src/modules/email/mailer.js';
import { verifyDkim } from './dkim-verify.js';
import { startSmtpSink, type SmtpSink } from './email-support.js';
import { testConfig } from './helpers.js';

// The SMTP mailer builds and signs messages in worker threads, handing them over in batches when many
// wait at once; each message must still come out whole, signed, and settled on its own.
const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const record = `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`;
const dkim = { domainName: 'acme.example', keySelector: 'sb1', privateKey };

let sink: SmtpSink;
let mailer: Mailer;
beforeAll(async () => {
  sink = await startSmtpSink();
  const base = testConfig();
  mailer = createMailer({ ...base, email: { ...base.email, smtpUrl: sink.url, concurrency: 4 } });
});
afterAll(async () => {
  mailer?.close();
  await sink?.close();
});

const mail = (i: number, extra: Partial<OutgoingMail> = {}): OutgoingMail => ({
  organizationId: '00000000-0000-4000-8000-000000000001',
  id: `m${i}`,
  from: 'News <news@acme.example>',
  to: `r${i}@customers.example`,
  subject: `Subject ${i}`,
  html: `<p>Hello number ${i}</p>`,
  text: `Hello number ${i}`,
  headers: { 'X-Switchboard-Message-Id': `m${i}` },
  messageIdHeader: `<m${i}@acme.example>`,
  dkim,
  ...extra,
});

describe('SMTP mailer', () => {
  it('sends 60 messages handed over at once, each whole, to its own recipient and DKIM-signed; a message that cannot be built fails alone', async () => {
    const broken = 17;
    const results = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => mailer.send(mail(i, i === broken ? { attachments: [{ filename: 'gone.csv', path: '/nonexistent/gone.csv' } as any] } : {}))),
    );
    expect(results[broken]).toMatchObject({ status: 'rejected', reason: { message: expect.stringContaining('ENOENT') } });
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(59);
    for (const r of results) if (r.status === 'fulfilled') expect(r.value.providerMessageId).toMatch(/^q\d+$/);

    expect(sink.messages).toHaveLength(59);
    for (const m of sink.messages) {
      const i = Number(/^r(\d+)@/.exec(m.to[0])![1]);
      expect(i).not.toBe(broken);
      expect(m.header('Subject')).toBe(`Subject ${i}`);
      expect(m.header('X-Switchboard-Message-Id')).toBe(`m${i}`);
      expect(m.header('Message-ID')).toBe(`<m${i}@acme.example>`);
      expect(m.html).toContain(`Hello number ${i}<`);
      expect(m.text.trim()).toBe(`Hello number ${i}`);
      expect(verifyDkim(m.raw, (name) => (name === 'sb1._domainkey.acme.example' ? record : undefined))).toMatchObject({ ok: true });
    }
    // The envelope sender is the platform's bounce address, whatever the From header says.
    expect(new Set(sink.messages.map((m) => m.from))).toEqual(new Set([testConfig().email.bounceAddress]));
  });
});
