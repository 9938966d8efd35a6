import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { AppError, notFound } from '../../http/errors.js';
import { ErrorOut, type App } from '../../http/types.js';
import { listPage, pageOf, pageQuery } from '../../lib/pagination.js';
import { outboxDir } from '../email/mailer.js';
import { OutboxFileId, RawMessage, sendRawMessage } from '../email/outbox-files.js';
import { ACCOUNT_OUTBOX } from './mail.js';

// The development mailbox: without SMTP_URL, account mail (verification, password reset, invitations)
// is written to DATA_DIR/outbox/_account, which no organization's outbox lists. A signed-in person
// reads here the account mail addressed to their own address — and nobody else's — so a newcomer can
// follow the verification link without a mail server. Off (404) in production and whenever SMTP_URL
// sends the mail for real.

const DevMailItem = z.object({ id: z.string(), to: z.string(), subject: z.string(), date: z.string() });
const errors = { 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut };

export const devMailboxOn = (config: Config) => config.env !== 'production' && !config.email.smtpUrl;

/** The To and Subject of an .eml file (its header block, first 16 KiB, continuation lines unfolded). */
function headersOf(file: string) {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(16 * 1024);
    const n = readSync(fd, buf, 0, buf.length, 0);
    const head = buf.subarray(0, n).toString('utf8').split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
    const get = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
    return { to: get('To'), subject: get('Subject') };
  } finally {
    closeSync(fd);
  }
}

/** Whether a To header names exactly this address (bare, or as `Name <address>`), case-insensitively. */
export function addressedTo(toHeader: string, email: string) {
  const addr = (/<([^>]+)>\s*$/.exec(toHeader)?.[1] ?? toHeader).trim().toLowerCase();
  return addr === email.trim().toLowerCase();
}

function mailboxOf(config: Config, email: string) {
  const dir = outboxDir(config, ACCOUNT_OUTBOX);
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((f) => OutboxFileId.safeParse(f).success);
  } catch {
    // No account mail yet.
  }
  files.sort((x, y) => Number(y.split('-')[0]) - Number(x.split('-')[0]) || (x < y ? 1 : -1));
  return files.flatMap((id) => {
    const h = headersOf(path.join(dir, id));
    return addressedTo(h.to, email) ? [{ id, ...h, date: new Date(Number(id.split('-')[0])).toISOString() }] : [];
  });
}

function requireMailbox(config: Config, email: string | null | undefined) {
  if (!devMailboxOn(config)) throw new AppError('not_found', 'The development mailbox is off: account mail is sent by SMTP');
  if (!email) throw new AppError('forbidden');
  return email;
}

export function registerDevMailRoutes(app: App, config: Config) {
  app.get('/api/auth/dev-mail', {
    config: { access: 'user' },
    schema: {
      tags: ['auth'],
      operationId: 'listDevMail',
      summary: 'Development only (no SMTP_URL, not production): account mail addressed to the signed-in user, newest first; 404 when off',
      querystring: z.strictObject(pageQuery),
      response: { 200: pageOf(DevMailItem), ...errors },
    },
    handler: async (req) => {
      const email = requireMailbox(config, req.principal?.userEmail);
      const { rows, nextCursor } = listPage(mailboxOf(config, email), req.query, (m) => m.id);
      return { data: rows, nextCursor };
    },
  });

  app.get('/api/auth/dev-mail/:id', {
    config: { access: 'user' },
    schema: {
      tags: ['auth'],
      operationId: 'getDevMail',
      summary: "Development only: one account mail as raw RFC 5322 (message/rfc822), if it is addressed to the signed-in user; anyone else's is a 404",
      params: z.object({ id: OutboxFileId }),
      response: { 200: RawMessage, ...errors },
    },
    handler: async (req, reply) => {
      const email = requireMailbox(config, req.principal?.userEmail);
      const file = path.join(outboxDir(config, ACCOUNT_OUTBOX), req.params.id);
      let body: Buffer;
      try {
        if (!addressedTo(headersOf(file).to, email)) throw notFound();
        body = readFileSync(file);
      } catch {
        throw notFound();
      }
      return sendRawMessage(reply, req.params.id, body);
    },
  });
}
