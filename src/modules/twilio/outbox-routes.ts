import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { requireOrg } from '../../http/access.js';
import { orgErrors, type App } from '../../http/types.js';
import { listPage, pageQuery } from '../../lib/pagination.js';
import { OutboxPage } from './schemas.js';
import { OUTBOX_FILE, twilioOutboxDir } from './transport.js';

const OutboxQuery = z.strictObject(pageQuery);

/**
 * Messages and calls of the development transport (no Twilio account connected), newest first. Each
 * organization reads only its own folder, named by the organization id of the verified principal.
 * Paged like the email outbox (listPage; names sort by time).
 */
export async function listTwilioOutbox(config: Pick<Config, 'dataDir'>, organizationId: string, q: z.infer<typeof OutboxQuery>) {
  const dir = twilioOutboxDir(config, organizationId);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((f) => OUTBOX_FILE.test(f));
  } catch {
    return { data: [], nextCursor: null };
  }
  names.sort((x, y) => (x < y ? 1 : x > y ? -1 : 0));
  const { rows: page, nextCursor } = listPage(names, q, (name) => name);
  const data = await Promise.all(
    page.map(async (id) => {
      const r = JSON.parse(await readFile(path.join(dir, id), 'utf8'));
      return {
        id,
        kind: r.kind,
        sid: r.sid,
        from: r.from,
        to: r.to,
        body: r.body ?? null,
        statusCallback: r.statusCallback ?? null,
        twiml: r.twiml ?? null,
        url: r.url ?? null,
        createdAt: r.createdAt,
      };
    }),
  );
  return { data, nextCursor };
}

export function registerTwilioOutboxRoutes(app: App, config: Config) {
  app.get('/api/twilio/outbox', {
    config: { access: 'org' },
    schema: {
      tags: ['twilio'],
      operationId: 'listTwilioOutbox',
      summary: 'SMS and calls recorded by the development transport (no Twilio account connected), newest first',
      querystring: OutboxQuery,
      response: { 200: OutboxPage, ...orgErrors },
    },
    handler: (req) => listTwilioOutbox(config, requireOrg(req).organizationId, req.query),
  });
}
