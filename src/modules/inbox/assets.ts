import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { AppError } from '../../http/errors.js';
import { embeddableHeaders, widgetDemoHeaders } from '../../http/security-headers.js';
import { ErrorOut, type App } from '../../http/types.js';
import { escapeHtml } from '../../lib/html.js';
import { htmlResponse } from '../../lib/html-page.js';
import { organizationOfToken } from './service.js';

/** Where the widget's Vite library build puts the bundle (dist/widget/widget.js), from src/modules/inbox and dist/modules/inbox alike. */
export const defaultWidgetFile = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'dist', 'widget', 'widget.js');

/** The bundle, re-read when the file changes (a rebuild while the server runs). */
function bundleLoader(file: string) {
  let cached: { mtimeMs: number; body: Buffer; etag: string } | null = null;
  return () => {
    let st;
    try {
      st = statSync(file);
    } catch {
      return null;
    }
    if (!cached || cached.mtimeMs !== st.mtimeMs) {
      const body = readFileSync(file);
      cached = { mtimeMs: st.mtimeMs, body, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"` };
    }
    return cached;
  };
}

/** GET /widget.js (the embeddable bundle, any site may load it) and GET /widget/demo (a page embedding it). */
export function registerWidgetAssets(app: App, file = defaultWidgetFile) {
  const bundle = bundleLoader(file);
  app.get('/widget.js', {
    config: { access: 'public' },
    helmet: embeddableHeaders,
    schema: {
      tags: ['widget'],
      operationId: 'getWidgetScript',
      summary: 'The chat widget bundle for <script src=".../widget.js" data-site-token="…" async>; 404 until it is built (npm run build)',
      response: { 200: { description: 'JavaScript', content: { 'text/javascript': { schema: z.string() } } }, 304: z.null(), 404: ErrorOut },
    },
    handler: async (req, reply) => {
      const b = bundle();
      if (!b) throw new AppError('not_found', 'The widget is not built: npm run build');
      reply
        .header('cache-control', 'public, max-age=86400, stale-while-revalidate=604800')
        .header('etag', b.etag)
        .header('access-control-allow-origin', '*');
      if (req.headers['if-none-match'] === b.etag) return reply.code(304).send(null);
      return reply.type('text/javascript; charset=utf-8').send(b.body as unknown as string);
    },
  });

  app.get('/widget/demo', {
    config: { access: 'public' },
    helmet: widgetDemoHeaders(),
    schema: {
      tags: ['widget'],
      operationId: 'getWidgetDemo',
      summary: "A page embedding the widget with an inbox's site token (?token=), for trying it out",
      querystring: z.object({ token: z.string().max(200).optional() }),
      response: { 200: htmlResponse('The demo page'), 400: ErrorOut },
    },
    handler: async (req, reply) => {
      const token = req.query.token ?? '';
      const valid = Boolean(organizationOfToken(token));
      const body = valid
        ? `<h1>Widget demo</h1><p>This page embeds the chat widget of the inbox whose site token is in the address. Open the widget in the corner and write a message; it arrives in the inbox.</p>` +
          `<script src="/widget.js" data-site-token="${escapeHtml(token)}" async></script>`
        : `<h1>Widget demo</h1><p>Open this page from an inbox's settings (it adds <code>?token=&lt;site token&gt;</code>).</p>`;
      return reply
        .header('cache-control', 'no-store')
        .type('text/html; charset=utf-8')
        .send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>Widget demo</title></head><body>${body}</body></html>`);
    },
  });
}
