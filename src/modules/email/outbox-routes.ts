import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { requireOrg } from '../../http/access.js';
import { notFound } from '../../http/errors.js';
import { orgErrors, type App } from '../../http/types.js';
import { listPage, pageOf, pageQuery } from '../../lib/pagination.js';
import { outboxDir } from './mailer.js';
import { OutboxFileId, RawMessage, sendRawMessage } from './outbox-files.js';

const tags = ['email'];
const OutboxItem = z.object({ id: z.string(), to: z.string(), subject: z.string(), date: z.string(), size: z.number() });

/** Reads the header block of an .eml file (first 16 KiB), unfolding continuation lines. */
function headersOf(file: string) {
  const fd = openSync(file, 'r');
  const buf = Buffer.alloc(16 * 1024);
  const n = readSync(fd, buf, 0, buf.length, 0);
  closeSync(fd);
  const head = buf.subarray(0, n).toString('utf8').split(/\r?\n\r?\n/)[0].replace(/\r?\n[ \t]+/g, ' ');
  const get = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1] ?? '';
  return { to: get('To'), subject: get('Subject') };
}

/**
 * The local outbox (no SMTP_URL configured): each organization reads only its own folder,
 * named by the organization id of the verified principal.
 */
/** The stored message's bytes (documented as text; sent as-is, never serialized). */

export function registerOutboxRoutes(app: App, config: Config) {
  app.get('/api/email/outbox', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'listOutboxMessages', summary: 'Messages delivered to the local outbox (development transport), newest first',
      querystring: z.strictObject(pageQuery),
      response: { 200: pageOf(OutboxItem), ...orgErrors },
    },
    handler: async (req) => {
      const dir = outboxDir(config, requireOrg(req).organizationId);
      let files: string[] = [];
      try {
        files = readdirSync(dir).filter((f) => OutboxFileId.safeParse(f).success);
      } catch {
        // No folder yet: nothing was sent, and no cursor can name a message of it.
      }
      files.sort((x, y) => Number(y.split('-')[0]) - Number(x.split('-')[0]) || (x < y ? 1 : -1));
      const { rows, nextCursor } = listPage(files, req.query, (id) => id);
      const data = rows.map((id) => {
        const file = path.join(dir, id);
        return { id, ...headersOf(file), date: new Date(Number(id.split('-')[0])).toISOString(), size: statSync(file).size };
      });
      return { data, nextCursor };
    },
  });

  app.get('/api/email/outbox/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getOutboxMessage', summary: 'One outbox message as raw RFC 5322 (message/rfc822), as an attachment', params: z.object({ id: OutboxFileId }), response: { 200: RawMessage, ...orgErrors } },
    handler: async (req, reply) => {
      const file = path.join(outboxDir(config, requireOrg(req).organizationId), req.params.id);
      let body: Buffer;
      try {
        body = readFileSync(file);
      } catch {
        throw notFound();
      }
      return sendRawMessage(reply, req.params.id, body);
    },
  });
}
