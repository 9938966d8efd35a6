import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { createMailer, outboxDir } from '../src/modules/email/mailer.js';
import { parseMail } from '../web/src/lib/mime.js';
import { testConfig } from './helpers.js';

// The outbox viewer parses what the mailer really writes: non-ASCII subjects, quoted-printable HTML,
// multipart/alternative. Built by the same mailer the server uses, read back by the dashboard's parser.
it("the dashboard's MIME parser reads the mailer's outbox files", async () => {
  const config = testConfig();
  const mailer = createMailer(config);
  const html = `<p style="color:#333">Grüße, Zoë — ${'long line '.repeat(20)}</p><a href="https://x.example/?a=1&b=2">link</a>`;
  await mailer.send({
    organizationId: 'org', id: '00000000-0000-4000-8000-000000000001', from: 'Acme <no-reply@acme.example>', to: 'lin@example.com',
    subject: 'Hej Lin — ünïcode ✓', html, text: 'Grüße, Zoë', headers: {}, messageIdHeader: '<1@acme.example>',
  });
  mailer.close();
  const dir = outboxDir(config, 'org');
  const raw = readFileSync(path.join(dir, readdirSync(dir)[0]), 'utf8');
  const mail = parseMail(raw);
  expect(mail.headers.subject).toBe('Hej Lin — ünïcode ✓');
  expect(mail.headers.to).toBe('lin@example.com');
  expect(mail.html).toContain(html);
  expect(mail.text?.trim()).toBe('Grüße, Zoë');
});
