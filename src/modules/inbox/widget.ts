import { createHmac, timingSafeEqual } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { helpCenterPath, suggestArticlesIn } from '../knowledge-base/index.js';
import type { Config } from '../../config.js';
import type { Tx } from '../../db/index.js';
import { query, queryOne } from '../../db/sql.js';
import { AppError, notFound } from '../../http/errors.js';
import { embeddableHeaders } from '../../http/security-headers.js';
import { limiter } from '../../http/throttle.js';
import { ErrorOut, IdParams, type App } from '../../http/types.js';
import { z } from 'zod';
import { customerRoom } from '../billing/limits.js';
import { withinBusinessHours } from './hours.js';
import { agentChannel, LiveBatch, visitorChannel } from './live.js';
import { afterCommit, type InboxDeps } from './routes.js';
import {
  ArticleQuery, CsatBody, MessageListQuery, WidgetArticles, WidgetConversationList, WidgetMessageBody, WidgetMessageList, WidgetMessageOut, WidgetSessionBody,
  WidgetSessionOut, WidgetStarted, WidgetConversationOut,
} from './schemas.js';
import * as svc from './service.js';

// The widget's public API. A call names its inbox by the site token (header x-site-token; the session
// call also in its body); the token names its organization, and everything runs inside that
// organization's tenant transaction, so no widget call can reach another organization's rows. The
// visitor is the signed cookie of that inbox (sbv_<inbox>) or, where the browser blocks third-party cookies,
// the same signed value sent back as `x-visitor-token` (the widget keeps it in the host page's storage); every
// conversation read or written must be that visitor's. JSON bodies only: attachments are refused (415 for any other content type).

type Row = Record<string, any>;

/** Abuse limits of the widget API (the per-minute rates are config.inbox.widget: INBOX_WIDGET_*). */
export const WIDGET_LIMITS = {
  /** Request body: a message of MAX_MESSAGE characters fits well within it. */
  bodyBytes: 32 * 1024,
  /** Unresolved conversations one visitor may hold open. */
  openConversations: 20,
};

/** A help-center snippet (escaped HTML with <mark>) as the plain text the widget shows. */
const plainSnippet = (html: string) =>
  html.replace(/<\/?mark>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

const cookieName = (inboxId: string) => `sbv_${inboxId.replace(/-/g, '')}`;
const unknownToken = () => new AppError('unauthorized', 'Unknown site token');
const noVisitor = () => new AppError('unauthorized', 'No visitor session: POST /api/widget/session first');

/** CORS for the widget routes only: the calling page's origin, with credentials (the visitor cookie). */
function corsHeaders(req: FastifyRequest): Record<string, string> {
  const origin = typeof req.headers.origin === 'string' ? req.headers.origin : null;
  const h: Record<string, string> = { vary: 'Origin', 'cross-origin-resource-policy': 'cross-origin' };
  if (origin && origin !== 'null') {
    h['access-control-allow-origin'] = origin;
    h['access-control-allow-credentials'] = 'true';
  }
  return h;
}
const setCors = async (req: FastifyRequest, reply: FastifyReply) => {
  reply.headers(corsHeaders(req));
};
/** Widget writes take JSON only: attachments (multipart) and any other body are refused before they are read. */
const jsonOnly = async (req: FastifyRequest, reply: FastifyReply) => {
  reply.headers(corsHeaders(req));
  const type = String(req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type !== 'application/json') throw new AppError('unsupported_media_type', 'The widget API takes JSON bodies only: attachments are not accepted');
};

export const siteTokenOf = (req: FastifyRequest, body?: { siteToken?: string }) => {
  const h = req.headers['x-site-token'];
  const t = typeof h === 'string' ? h : body?.siteToken;
  return typeof t === 'string' && t.length <= 200 ? t : '';
};

/** Verifies the identity hash: hex HMAC-SHA256 of the user id (else the email) with the inbox's identity secret. */
export function identityVerified(secret: string, subject: string, userHash: string) {
  const expected = createHmac('sha256', secret).update(subject, 'utf8').digest();
  const given = Buffer.from(userHash, 'hex');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface WidgetCtx {
  org: string;
  inbox: Row;
  visitor: Row | null;
}

export function registerWidgetRoutes(app: App, deps: InboxDeps) {
  const { db, config, hub } = deps;
  const https = config.publicUrl.startsWith('https:');
  const cookieOpts = { path: '/api/widget', httpOnly: true, signed: true, sameSite: https ? ('none' as const) : ('lax' as const), secure: https, maxAge: 365 * 86400 };

  const rates = config.inbox.widget;
  const perToken = limiter(app, { max: rates.requestsPerToken, windowMs: 60_000, message: 'Too many requests for this site token', key: (req) => `widget-token:${siteTokenOf(req, req.body as any) || req.ip}` });
  /** The visitor id a call carries: its inbox's signed cookie, else the signed `x-visitor-token` header; null when neither verifies. */
  const signedVisitor = (req: FastifyRequest, cookie: string | undefined) => {
    const header = req.headers['x-visitor-token'];
    for (const raw of [cookie, typeof header === 'string' && header.length <= 200 ? header : undefined]) {
      const v = raw ? req.unsignCookie(raw) : null;
      if (v?.valid && v.value && /^[0-9a-f-]{36}$/.test(v.value)) return v.value;
    }
    return null;
  };
  const visitorKey = (req: FastifyRequest) => {
    const id = signedVisitor(req, Object.entries(req.cookies ?? {}).find(([k]) => k.startsWith('sbv_'))?.[1]);
    return id ? `v:${id}` : `ip:${req.ip}`;
  };
  const perVisitor = limiter(app, { max: rates.requestsPerVisitor, windowMs: 60_000, message: 'Too many requests from this visitor', key: (req) => `widget-visitor:${visitorKey(req)}` });
  const messagesPerVisitor = limiter(app, { max: rates.messagesPerVisitor, windowMs: 60_000, message: 'Too many messages: wait a minute', key: (req) => `widget-messages:${visitorKey(req)}` });

  /** The inbox and visitor of a widget call, inside the token's organization. */
  async function resolve(tx: Tx, req: FastifyRequest, org: string, token: string, needVisitor: boolean): Promise<WidgetCtx> {
    const inbox = await svc.inboxBySiteToken(tx, org, token);
    if (!inbox) throw unknownToken();
    const origin = typeof req.headers.origin === 'string' ? req.headers.origin.toLowerCase() : null;
    if (inbox.allowed_origins?.length && origin && !inbox.allowed_origins.includes(origin)) {
      throw new AppError('forbidden', 'Forbidden - this site token is not allowed on this origin');
    }
    let visitor: Row | null = null;
    const visitorId = signedVisitor(req, req.cookies?.[cookieName(inbox.id)]);
    if (visitorId) {
      visitor = (await queryOne<Row>(tx, sql`select * from chat_visitors where organization_id = ${org} and id = ${visitorId} and inbox_id = ${inbox.id}`)) ?? null;
    }
    if (needVisitor && !visitor) throw noVisitor();
    return { org, inbox, visitor };
  }

  /** A widget call in the site token's organization. */
  function widget<T>(req: FastifyRequest, needVisitor: boolean, fn: (tx: Tx, w: WidgetCtx, fx: svc.Effects) => Promise<T>, body?: { siteToken?: string }) {
    const token = siteTokenOf(req, body);
    const org = svc.organizationOfToken(token);
    if (!org) throw unknownToken();
    const fx: svc.Effects = { live: new LiveBatch(), outbound: [] };
    return db
      .withTenant(org, async (tx) => fn(tx, await resolve(tx, req, org, token, needVisitor), fx))
      .then(async (out) => {
        await afterCommit(deps, org, fx);
        if (fx.poke) req.server.jobs?.poke();
        return out;
      });
  }

  const common = { helmet: embeddableHeaders } as const;
  const wtags = ['widget'];
  const errs = { 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 415: ErrorOut, 429: ErrorOut };
  const hooks = { onRequest: setCors, preHandler: [perToken, perVisitor] };
  const writeHooks = { onRequest: jsonOnly, preHandler: [perToken, perVisitor] };

  // Preflight: any origin may ask; the real call is then checked against the inbox's allowed origins.
  // One per widget path (not a wildcard), so that each is a documented operation.
  const preflights = {
    widgetSessionPreflight: '/api/widget/session',
    widgetConversationsPreflight: '/api/widget/conversations',
    widgetMessagesPreflight: '/api/widget/conversations/:id/messages',
    widgetCsatPreflight: '/api/widget/conversations/:id/csat',
    widgetArticlesPreflight: '/api/widget/articles',
    widgetLivePreflight: '/api/widget/live',
  };
  for (const [operationId, url] of Object.entries(preflights)) {
    app.options(url, {
      config: { access: 'public', csrf: false },
      schema: {
        tags: ['widget'],
        operationId,
        summary: `CORS preflight of ${url.replace('/api/widget', '')}: any origin may ask (credentials, x-site-token); the call itself is checked against the inbox`,
        ...(url.includes(':id') && { params: IdParams }),
        response: { 204: z.null(), 400: ErrorOut, 404: ErrorOut },
      },
      handler: async (req, reply) =>
        reply
          .headers(corsHeaders(req))
          .header('access-control-allow-methods', 'GET, POST')
          .header('access-control-allow-headers', 'content-type, x-site-token, x-visitor-token')
          .header('access-control-max-age', '600')
          .code(204)
          .send(null),
    });
  }

  app.post('/api/widget/session', {
    config: { access: 'public', csrf: false },
    bodyLimit: WIDGET_LIMITS.bodyBytes,
    ...common,
    ...writeHooks,
    schema: {
      tags: wtags,
      operationId: 'startWidgetSession',
      summary: 'Start or resume the visitor (signed cookie). With userId or email and a valid userHash (HMAC-SHA256 with the identity secret) the visitor is that customer; a wrong hash is an anonymous visitor',
      body: WidgetSessionBody,
      response: { 200: WidgetSessionOut, ...errs },
    },
    handler: async (req, reply) => {
      const b = req.body;
      const result = await widget(
        req,
        false,
        async (tx, w) => {
          const subject = b.userId ?? b.email;
          const verified = Boolean(subject && b.userHash && identityVerified(svc.identitySecretOf(config, w.inbox), subject, b.userHash));
          let customerId: string | null = null;
          if (verified) customerId = await findOrCreateCustomer(tx, w.org, b.userId ?? null, b.email ?? null, b.name ?? null, config);
          let visitor = w.visitor;
          // A visitor that was somebody stays so only with proof again; anyone else starts anonymous.
          if (visitor && (visitor.customer_id ?? null) !== customerId) visitor = null;
          if (!visitor && customerId) {
            visitor = (await queryOne<Row>(tx, sql`select * from chat_visitors where organization_id = ${w.org} and inbox_id = ${w.inbox.id} and customer_id = ${customerId} order by created_at desc limit 1`)) ?? null;
          }
          if (!visitor) {
            visitor = (await queryOne<Row>(
              tx,
              sql`insert into chat_visitors (organization_id, inbox_id, customer_id, name) values (${w.org}, ${w.inbox.id}, ${customerId}, ${b.name ?? null}) returning *`,
            ))!;
          } else {
            await tx.execute(sql`update chat_visitors set last_seen_at = now(), name = coalesce(${b.name ?? null}, name) where organization_id = ${w.org} and id = ${visitor.id}`);
          }
          const helpCenterUrl = await helpCenterPath(tx, w.org);
          return {
            cookie: { name: cookieName(w.inbox.id), value: visitor.id as string },
            out: {
              visitorId: visitor.id as string,
              visitorToken: req.signCookie(visitor.id as string),
              identified: Boolean(visitor.customer_id),
              inbox: { name: w.inbox.name, greeting: w.inbox.greeting, online: withinBusinessHours(w.inbox.business_hours), csatEnabled: w.inbox.csat_enabled },
              helpCenterUrl,
            },
          };
        },
        b,
      );
      return reply.header('cache-control', 'no-store').setCookie(result.cookie.name, result.cookie.value, cookieOpts).send(result.out);
    },
  });

  app.get('/api/widget/conversations', {
    config: { access: 'public' },
    ...common,
    ...hooks,
    schema: { tags: wtags, operationId: 'listWidgetConversations', summary: "The visitor's own conversations in this inbox, most recent first", response: { 200: WidgetConversationList, ...errs } },
    handler: (req) =>
      widget(req, true, async (tx, w) => {
        const rows = await query<Row>(
          tx,
          sql`select * from chat_conversations where organization_id = ${w.org} and visitor_id = ${w.visitor!.id} and inbox_id = ${w.inbox.id}
            order by last_message_at desc, id desc limit 50`,
        );
        return { data: rows.map(svc.toWidgetConversation) };
      }),
  });

  app.post('/api/widget/conversations', {
    config: { access: 'public', csrf: false },
    bodyLimit: WIDGET_LIMITS.bodyBytes,
    ...common,
    onRequest: jsonOnly,
    preHandler: [perToken, perVisitor, messagesPerVisitor],
    schema: { tags: wtags, operationId: 'startWidgetConversation', summary: 'Start a conversation with a first message (the inbox answers automatically outside business hours)', body: WidgetMessageBody, response: { 201: WidgetStarted, ...errs } },
    handler: async (req, reply) => {
      const out = await widget(req, true, async (tx, w, fx) => {
        const open = await queryOne<{ n: number }>(
          tx,
          sql`select count(*)::int as n from chat_conversations where organization_id = ${w.org} and visitor_id = ${w.visitor!.id} and status <> 'resolved'`,
        );
        if ((open?.n ?? 0) >= WIDGET_LIMITS.openConversations) throw new AppError('rate_limited', 'Too many open conversations for this visitor');
        const [c] = await query<Row>(
          tx,
          sql`insert into chat_conversations (organization_id, inbox_id, channel, customer_id, visitor_id, visitor_name, last_message_preview)
            values (${w.org}, ${w.inbox.id}, 'web', ${w.visitor!.customer_id ?? null}, ${w.visitor!.id}, ${w.visitor!.name ?? null}, '') returning id`,
        );
        await svc.conversationCreated(tx, w.org, { id: c.id as string, customerId: (w.visitor!.customer_id as string | null) ?? null, channel: 'web', inboxId: w.inbox.id as string });
        const message = await svc.insertMessage(tx, w.org, c.id, { direction: 'inbound', authorType: 'customer', body: req.body.body }, fx);
        const conv = (await svc.loadConversation(tx, w.org, c.id))!;
        // Agents see the conversation before its first message.
        fx.live.events.unshift({ channel: agentChannel(w.org), event: 'conversation.created', data: { conversationId: c.id, conversation: conv } });
        await svc.maybeOutOfHoursReply(tx, w.org, c.id, fx);
        return { conversation: svc.toWidgetConversation(conv), message: svc.toWidgetMessage(message) };
      });
      return reply.code(201).send(out);
    },
  });

  const ConvParams = z.object({ id: z.uuid() });
  const ownConversation = async (tx: Tx, w: WidgetCtx, id: string) => {
    const c = await queryOne<Row>(
      tx,
      sql`select * from chat_conversations where organization_id = ${w.org} and id = ${id} and visitor_id = ${w.visitor!.id} and inbox_id = ${w.inbox.id}`,
    );
    if (!c) throw notFound();
    return c;
  };

  app.get('/api/widget/conversations/:id/messages', {
    config: { access: 'public' },
    ...common,
    ...hooks,
    schema: { tags: wtags, operationId: 'listWidgetMessages', summary: "A conversation's messages for the visitor, oldest first (never private notes)", params: ConvParams, querystring: MessageListQuery, response: { 200: WidgetMessageList, ...errs } },
    handler: (req) =>
      widget(req, true, async (tx, w) => {
        await ownConversation(tx, w, req.params.id);
        const page = await svc.listMessages(tx, w.org, req.params.id, req.query, { includePrivate: false });
        return { data: page.data.map(svc.toWidgetMessage), nextCursor: page.nextCursor };
      }),
  });

  app.post('/api/widget/conversations/:id/messages', {
    config: { access: 'public', csrf: false },
    bodyLimit: WIDGET_LIMITS.bodyBytes,
    ...common,
    onRequest: jsonOnly,
    preHandler: [perToken, perVisitor, messagesPerVisitor],
    schema: { tags: wtags, operationId: 'postWidgetMessage', summary: 'The visitor writes in their conversation (a resolved or snoozed one opens again)', params: ConvParams, body: WidgetMessageBody, response: { 201: WidgetMessageOut, ...errs } },
    handler: async (req, reply) => {
      const out = await widget(req, true, async (tx, w, fx) => {
        await ownConversation(tx, w, req.params.id);
        const reopened = await svc.reopenOnCustomerMessage(tx, w.org, req.params.id);
        const m = await svc.insertMessage(tx, w.org, req.params.id, { direction: 'inbound', authorType: 'customer', body: req.body.body }, fx);
        if (reopened) await svc.announceConversation(tx, w.org, req.params.id, fx, 'conversation.updated');
        await svc.maybeOutOfHoursReply(tx, w.org, req.params.id, fx);
        return svc.toWidgetMessage(m);
      });
      return reply.code(201).send(out);
    },
  });

  app.post('/api/widget/conversations/:id/csat', {
    config: { access: 'public', csrf: false },
    bodyLimit: WIDGET_LIMITS.bodyBytes,
    ...common,
    ...writeHooks,
    schema: { tags: wtags, operationId: 'rateWidgetConversation', summary: 'The CSAT answer (1–5, optional comment) for a resolved conversation, once', params: ConvParams, body: CsatBody, response: { 200: WidgetConversationOut, 409: ErrorOut, ...errs } },
    handler: (req) =>
      widget(req, true, async (tx, w, fx) => {
        await ownConversation(tx, w, req.params.id);
        const c = await svc.recordCsat(tx, w.org, req.params.id, req.body.score, req.body.comment ?? null, fx);
        return svc.toWidgetConversation(c!);
      }),
  });

  app.get('/api/widget/articles', {
    config: { access: 'public' },
    ...common,
    ...hooks,
    schema: { tags: wtags, operationId: 'suggestWidgetArticles', summary: "Published help-center articles of the inbox's organization matching what the visitor types", querystring: ArticleQuery, response: { 200: WidgetArticles, ...errs } },
    handler: (req) =>
      widget(req, false, async (tx, w) => {
        const q = (req.query.q ?? '').trim();
        const hits = await suggestArticlesIn(tx, w.org, q, 5);
        return { data: hits.map((a) => ({ title: a.title, url: a.url, snippet: plainSnippet(a.snippet) })) };
      }),
  });

  app.get('/api/widget/live', {
    config: { access: 'public' },
    ...common,
    ...hooks,
    schema: { tags: wtags, operationId: 'widgetLive', summary: "Server-sent events for this visitor: message.created (never private notes), conversation.updated; a ping every 15 s", response: { 200: z.string().describe('text/event-stream'), ...errs } },
    handler: async (req, reply) => {
      const w = await widget(req, true, async (_tx, w) => w);
      hub.stream(req, reply, visitorChannel(w.org, w.visitor!.id), { headers: corsHeaders(req) });
    },
  });
}

/** The customer a verified identity names (by their id in the organization's system, else email); created when new and the plan has room. */
async function findOrCreateCustomer(tx: Tx, org: string, userId: string | null, email: string | null, name: string | null, config: Config) {
  const found = await queryOne<{ id: string }>(
    tx,
    userId
      ? sql`select id from customers where organization_id = ${org} and external_id = ${userId} order by created_at, id limit 1`
      : sql`select id from customers where organization_id = ${org} and lower(email) = lower(${email}) order by created_at, id limit 1`,
  );
  if (found) return found.id;
  if (!email && !userId) return null;
  const room = await customerRoom(tx, org, config.billing.plans);
  if (room !== null && room <= 0) return null;
  const [first, ...rest] = (name ?? '').trim().split(/\s+/);
  const r = await queryOne<{ id: string }>(
    tx,
    sql`insert into customers (organization_id, email, external_id, first_name, last_name) values (${org}, ${email}, ${userId}, ${first || null}, ${rest.join(' ') || null}) returning id`,
  );
  return r?.id ?? null;
}
