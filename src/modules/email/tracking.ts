import { trackEmailEvents } from '../analytics/track.js';
import { sql } from 'drizzle-orm';
import { z } from 'zod';
import type { Config } from '../../config.js';
import type { Database, Tx } from '../../db/index.js';
import { embeddableHeaders } from '../../http/security-headers.js';
import { ErrorOut, type App } from '../../http/types.js';
import { htmlResponse, page, pageHeaders } from '../../lib/html-page.js';
import { suppressMessageRecipients } from '../suppressions/service.js';
import { emitEmailUnsubscribed } from '../webhooks/sources.js';
import type { TokenClaims, TokenSigner, VerifiedClaims } from './tokens.js';
import { rowsOf } from '../../db/sql.js';

// Tracking pixel, click redirect and unsubscribe: public routes reached only with a token that
// names (encrypted and signed) the organization and message. Each effect runs inside that
// organization; a bad token changes nothing.

const GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');
const TokenParams = z.object({ token: z.string().max(200) });

/** Records an open (first open time kept) for a message of this organization. */
async function recordOpen(tx: Tx, c: TokenClaims) {
  await tx.execute(sql`
    with m as (
      update email_messages set opened_at = coalesce(opened_at, now()), updated_at = now()
      where organization_id = ${c.organizationId} and id = ${c.messageId} returning organization_id, id)
    insert into email_events (organization_id, message_id, type, payload)
    select organization_id, id, 'open', '{"source":"pixel"}'::jsonb from m`);
  await trackEmailEvents(tx, c.organizationId, [{ messageId: c.messageId, type: 'open' }]);
}

/** The original URL of link n of this message's campaign, recording the click; null when there is none. */
async function recordClick(tx: Tx, c: TokenClaims): Promise<string | null> {
  const [row] = rowsOf<{ url: string | null }>(
    await tx.execute(sql`
      select ec.tracked_links[${c.link + 1}] as url from email_messages m
      join email_campaigns ec on ec.organization_id = m.organization_id and ec.id = m.campaign_id
      where m.organization_id = ${c.organizationId} and m.id = ${c.messageId}`),
  );
  const url = row?.url;
  if (!url || !/^https?:\/\//i.test(url)) return null;
  await tx.execute(sql`update email_messages set clicked_at = coalesce(clicked_at, now()), opened_at = coalesce(opened_at, now()), updated_at = now()
    where organization_id = ${c.organizationId} and id = ${c.messageId}`);
  await tx.execute(sql`insert into email_events (organization_id, message_id, type, url, payload)
    values (${c.organizationId}, ${c.messageId}, 'click', ${url}, '{"source":"redirect"}'::jsonb)`);
  await trackEmailEvents(tx, c.organizationId, [{ messageId: c.messageId, type: 'click', url }]);
  return url;
}

/**
 * Clears this organization's customer's email opt-in and suppresses the address the message went
 * to, so no later customer row with that address is mailed; another organization is untouched.
 */
export async function unsubscribeMessage(tx: Tx, organizationId: string, messageId: string, source: string) {
  const [m] = rowsOf<{ customer_id: string | null; first: boolean }>(
    await tx.execute(sql`
      update email_messages set unsubscribed_at = coalesce(unsubscribed_at, now()), updated_at = now()
      where organization_id = ${organizationId} and id = ${messageId}
      returning customer_id, (unsubscribed_at = now()) as first`),
  );
  if (!m) return false;
  if (m.customer_id) {
    await tx.execute(sql`update customers set email_opt_in = false, unsubscribed_at = coalesce(unsubscribed_at, now()), updated_at = now()
      where organization_id = ${organizationId} and id = ${m.customer_id}`);
  }
  await suppressMessageRecipients(tx, organizationId, [{ messageId, reason: 'unsubscribed' }], source === 'link' ? 'unsubscribe_link' : source);
  if (m.first) {
    await emitEmailUnsubscribed(tx, { organizationId }, messageId, source === 'link' ? 'unsubscribe_link' : source);
    await tx.execute(sql`insert into email_events (organization_id, message_id, type, payload)
      values (${organizationId}, ${messageId}, 'unsubscribe', ${JSON.stringify({ source })}::jsonb)`);
  }
  return true;
}

export function registerTrackingRoutes(app: App, { db, signer, config }: { db: Database; signer: TokenSigner; config: Config }) {
  // Open and click tokens live as long as real mail is read (TRACKING_TOKEN_TTL_DAYS); unsubscribe links never expire.
  const ttlSeconds = config.email.trackingTokenTtlDays * 86_400;
  const live = (c: VerifiedClaims | null) => (c && Date.now() / 1000 - c.issuedAt <= ttlSeconds ? c : null);

  app.get('/api/t/open/:token', {
    config: { access: 'public' },
    helmet: embeddableHeaders,
    schema: { tags: ['tracking'], operationId: 'trackEmailOpen', summary: 'Open pixel (1×1 GIF, always); records an open for a live signed token', params: TokenParams },
    handler: async (req, reply) => {
      // The image is served whatever the token: a broken image in an old mail helps nobody. Only a live token records.
      const c = live(signer.verify(req.params.token, 'open'));
      if (c) await db.withTenant(c.organizationId, (tx) => recordOpen(tx, c)).catch((err) => req.log.warn({ err }, 'open not recorded'));
      return reply.type('image/gif').header('cache-control', 'no-store, private').send(GIF);
    },
  });

  app.get('/api/t/click/:token', {
    config: { access: 'public' },
    helmet: pageHeaders,
    schema: { tags: ['tracking'], operationId: 'trackEmailClick', summary: "302 to the link's original URL; records a click (never redirects anywhere else; 410 once the link has expired)", params: TokenParams, response: { 302: z.null().describe("Redirect to the link's original URL"), 404: ErrorOut, 410: htmlResponse('The link has expired') } },
    handler: async (req, reply) => {
      const signed = signer.verify(req.params.token, 'click');
      if (signed && !live(signed)) {
        return reply.code(410).type('text/html').header('cache-control', 'no-store').send(page('Link expired', '<p>This link has expired.</p>'));
      }
      const url = signed ? await db.withTenant(signed.organizationId, (tx) => recordClick(tx, signed)) : null;
      if (!url) return reply.code(404).type('application/json').send({ error: 'Not found', code: 'not_found' });
      return reply.header('cache-control', 'no-store, private').redirect(url, 302);
    },
  });

  const unsubscribePage = (token: string) =>
    page('Unsubscribe', `<p>Stop receiving these emails?</p><form method="post" action="/api/unsubscribe/${encodeURIComponent(token)}"><button type="submit">Unsubscribe</button></form>`);

  app.get('/api/unsubscribe/:token', {
    config: { access: 'public' },
    helmet: pageHeaders,
    schema: { tags: ['tracking'], operationId: 'getUnsubscribePage', summary: 'Unsubscribe page (confirms with a POST)', params: TokenParams, response: { 200: htmlResponse('A page asking to confirm with a button'), 404: htmlResponse('The link is not valid') } },
    handler: async (req, reply) => {
      const c = signer.verify(req.params.token, 'unsubscribe');
      if (!c) return reply.code(404).type('text/html').send(page('Link not valid', '<p>This unsubscribe link is not valid.</p>'));
      return reply.type('text/html').header('cache-control', 'no-store').send(unsubscribePage(req.params.token));
    },
  });

  // RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" (form-encoded); the page's button posts too.
  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => done(null, body));
    scope.post('/api/unsubscribe/:token', {
      // Token-authenticated, not a cookie route: a browser mail client posts it cross-site (RFC 8058).
      config: { access: 'public', csrf: false },
      helmet: pageHeaders,
      schema: { tags: ['tracking'], operationId: 'unsubscribeOneClick', summary: 'Unsubscribe (RFC 8058 one-click POST)', params: TokenParams, response: { 200: htmlResponse('Unsubscribed'), 404: htmlResponse('The link is not valid') } },
      handler: async (req, reply) => {
        const { token } = req.params as z.infer<typeof TokenParams>;
        const c = signer.verify(token, 'unsubscribe');
        const done = c ? await db.withTenant(c.organizationId, (tx) => unsubscribeMessage(tx, c.organizationId, c.messageId, 'link')) : false;
        if (!done) return reply.code(404).type('text/html').send(page('Link not valid', '<p>This unsubscribe link is not valid.</p>'));
        return reply.type('text/html').header('cache-control', 'no-store').send(page('Unsubscribed', '<p>You will not receive these emails any more.</p>'));
      },
    });
  });
}
