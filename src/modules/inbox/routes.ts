import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../../config.js';
import type { Database, Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import type { Bus } from '../../lib/bus.js';
import { resolveApiKey, resolveSession } from '../auth/service.js';
import { sessionCookieName } from '../auth/principal.js';
import { deliverMessages } from './delivery.js';
import { agentChannel, LiveBatch, type LiveHub } from './live.js';
import {
  AgentList, AgentOut, AssignBody, AvailabilityBody, CannedCreate, CannedList, CannedOut, CannedPatch, ConversationListQuery, ConversationOut, ConversationPage,
  ConversationPatch, InboxCreate, InboxList, InboxOut, InboxPatch, MessageCreate, MessageListQuery, MessageOut, MessagePage, SidebarOut, TeamCreate, TeamList,
  TeamOut, TeamPatch,
} from './schemas.js';
import * as svc from './service.js';

const tags = ['inbox'];

export interface InboxDeps {
  db: Database;
  config: Config;
  bus: Bus;
  hub: LiveHub;
}

/** Runs fn in the caller's tenant transaction with an effects collector; publishes and sends once committed. */
export async function withEffects<T>(req: FastifyRequest, deps: InboxDeps, fn: (tx: Tx, ctx: TenantContext, fx: svc.Effects) => Promise<T>): Promise<T> {
  const fx: svc.Effects = { live: new LiveBatch(), outbound: [] };
  let org = '';
  const out = await req.tenant((tx, ctx) => {
    org = ctx.organizationId;
    return fn(tx, ctx, fx);
  });
  await afterCommit(deps, org, fx);
  if (fx.poke) req.server.jobs?.poke();
  return out;
}

export async function afterCommit(deps: Pick<InboxDeps, 'db' | 'config' | 'bus'>, org: string, fx: svc.Effects) {
  await fx.live.publish(deps.bus);
  if (fx.outbound.length) await deliverMessages(deps.db, deps.config, deps.bus, org, fx.outbound.splice(0));
}

/** Agent side of the inbox: inboxes, conversations and their messages, canned responses, teams, agents, live events. */
export function registerInboxRoutes(app: App, deps: InboxDeps) {
  const { config, db, hub } = deps;

  // Inboxes ------------------------------------------------------------------------------------------
  app.get('/api/chat/inboxes', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listChatInboxes', summary: 'Inboxes (the web widget’s site token; secrets shown to admins only)', response: { 200: InboxList, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => svc.listInboxes(tx, ctx, config)),
  });
  app.post('/api/chat/inboxes', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'createChatInbox', summary: 'Create an inbox: a new site token, identity secret and Inbound Parse secret', body: InboxCreate, response: { 201: InboxOut, ...orgErrors } },
    handler: async (req, reply) => reply.code(201).header('cache-control', 'no-store').send(await req.tenant((tx, ctx) => svc.createInbox(tx, ctx, config, req.body))),
  });
  app.get('/api/chat/inboxes/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getChatInbox', summary: 'One inbox', params: IdParams, response: { 200: InboxOut, ...orgErrors } },
    handler: async (req, reply) => reply.header('cache-control', 'no-store').send(await req.tenant((tx, ctx) => svc.getInbox(tx, ctx, config, req.params.id))),
  });
  app.patch('/api/chat/inboxes/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'updateChatInbox', summary: 'Change an inbox: name, greeting, business hours, out-of-hours reply, CSAT', params: IdParams, body: InboxPatch, response: { 200: InboxOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => svc.updateInbox(tx, ctx, config, req.params.id, req.body)),
  });
  app.delete('/api/chat/inboxes/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'deleteChatInbox', summary: 'Delete an inbox (its widget stops working; conversations stay)', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => svc.deleteInbox(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
  app.post('/api/chat/inboxes/:id/rotate-token', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'rotateChatInboxToken', summary: 'Replace the site token (the old one stops working at once)', params: IdParams, response: { 200: InboxOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => svc.rotateSiteToken(tx, ctx, config, req.params.id)),
  });

  // Conversations ------------------------------------------------------------------------------------
  app.get('/api/chat/conversations', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listChatConversations', summary: 'Conversations, most recent activity first; filter by status, assignee, team, label, channel, customer, inbox', querystring: ConversationListQuery, response: { 200: ConversationPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => svc.listConversations(tx, ctx.organizationId, req.query)),
  });
  app.get('/api/chat/conversations/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getChatConversation', summary: 'One conversation', params: IdParams, response: { 200: ConversationOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => svc.getConversation(tx, ctx.organizationId, req.params.id)),
  });
  app.patch('/api/chat/conversations/:id', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'updateChatConversation',
      summary: 'Status (snoozed needs snoozedUntil; resolved asks for CSAT), assignee, team, labels',
      params: IdParams,
      body: ConversationPatch,
      response: { 200: ConversationOut, ...orgErrors },
    },
    handler: (req) => withEffects(req, deps, (tx, ctx, fx) => svc.patchConversation(tx, ctx, req.params.id, req.body, fx)),
  });
  app.post('/api/chat/conversations/:id/assign', {
    config: { access: 'org' },
    schema: { tags, operationId: 'assignChatConversation', summary: "Round robin: the available agent (of the conversation's team, if any) assigned least recently", params: IdParams, body: AssignBody, response: { 200: ConversationOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => withEffects(req, deps, (tx, ctx, fx) => svc.assignRoundRobin(tx, ctx, req.params.id, fx)),
  });
  app.get('/api/chat/conversations/:id/messages', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listChatMessages', summary: 'Messages and private notes, oldest first', params: IdParams, querystring: MessageListQuery, response: { 200: MessagePage, ...orgErrors } },
    handler: (req) =>
      req.tenant(async (tx, ctx) => {
        await svc.getConversation(tx, ctx.organizationId, req.params.id);
        return svc.listMessages(tx, ctx.organizationId, req.params.id, req.query, { includePrivate: true });
      }),
  });
  app.post('/api/chat/conversations/:id/messages', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'createChatMessage',
      summary: "A reply, out on the conversation's channel (widget live, SMS through Twilio, email with threading headers; the outcome on the message), or a private note",
      params: IdParams,
      body: MessageCreate,
      response: { 201: MessageOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      let org = '';
      const msg = await withEffects(req, deps, (tx, ctx, fx) => {
        org = ctx.organizationId;
        return svc.postAgentMessage(tx, ctx, req.params.id, req.body, fx);
      });
      // The outcome of an SMS or email reply has been written back: answer with it.
      const final = msg.deliveryStatus === 'pending' ? await db.withTenant(org, (tx) => svc.loadMessage(tx, org, msg.id)) : msg;
      return reply.code(201).send(final ?? msg);
    },
  });
  app.get('/api/chat/conversations/:id/sidebar', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getChatSidebar', summary: "The customer beside a conversation: consent, tags, attributes, orders, past conversations, campaigns received", params: IdParams, response: { 200: SidebarOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => svc.sidebar(tx, ctx.organizationId, req.params.id)),
  });

  // Canned responses ---------------------------------------------------------------------------------
  app.get('/api/chat/canned-responses', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listCannedResponses', summary: 'Canned responses, by shortcut (typed as /shortcut in the composer)', response: { 200: CannedList, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => svc.listCanned(tx, ctx.organizationId)),
  });
  app.post('/api/chat/canned-responses', {
    config: { access: 'org' },
    schema: { tags, operationId: 'createCannedResponse', summary: 'Create a canned response (409 when the shortcut exists)', body: CannedCreate, response: { 201: CannedOut, 409: ErrorOut, ...orgErrors } },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => svc.createCanned(tx, ctx, req.body))),
  });
  app.patch('/api/chat/canned-responses/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'updateCannedResponse', summary: 'Change a canned response', params: IdParams, body: CannedPatch, response: { 200: CannedOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => svc.updateCanned(tx, ctx, req.params.id, req.body)),
  });
  app.delete('/api/chat/canned-responses/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'deleteCannedResponse', summary: 'Delete a canned response', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => svc.deleteCanned(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });

  // Teams and agents ---------------------------------------------------------------------------------
  app.get('/api/chat/teams', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listChatTeams', summary: 'Teams and their members', response: { 200: TeamList, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => svc.listTeams(tx, ctx.organizationId)),
  });
  app.post('/api/chat/teams', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'createChatTeam', summary: 'Create a team of members', body: TeamCreate, response: { 201: TeamOut, ...orgErrors } },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => svc.createTeam(tx, ctx, req.body))),
  });
  app.patch('/api/chat/teams/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'updateChatTeam', summary: "Rename a team or replace its members", params: IdParams, body: TeamPatch, response: { 200: TeamOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => svc.updateTeam(tx, ctx, req.params.id, req.body)),
  });
  app.delete('/api/chat/teams/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'deleteChatTeam', summary: 'Delete a team (its conversations keep their assignee)', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => svc.deleteTeam(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
  app.get('/api/chat/agents', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listChatAgents', summary: 'Members as agents, with their availability for round robin', response: { 200: AgentList, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => svc.listAgents(tx, ctx.organizationId)),
  });
  app.put('/api/chat/agents/me', {
    config: { access: 'org', sessionOnly: true },
    schema: { tags, operationId: 'setChatAvailability', summary: 'Set whether I am available for round-robin assignment', body: AvailabilityBody, response: { 200: AgentOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => svc.setAvailability(tx, ctx, req.body.available)),
  });

  // Live ---------------------------------------------------------------------------------------------
  const cookieName = sessionCookieName(config);
  app.get('/api/chat/live', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'chatLive',
      summary: "Server-sent events of the signed-in agent's active organization: conversation.created|updated, message.created; a ping every 15 s. Ends (event: reset) when the session switches organization",
      response: { 200: z.string().describe('text/event-stream'), ...orgErrors },
    },
    handler: async (req, reply) => {
      const p = req.principal!;
      const org = p.organizationId!;
      const auth = req.headers.authorization;
      const cookie = req.cookies?.[cookieName];
      // Re-resolved before each batch of events: the stream belongs to this organization only while the credential does.
      const stillAllowed = async () => {
        const now = auth !== undefined ? await resolveApiKey(db, /^Bearer (\S+)$/.exec(auth)?.[1] ?? '') : cookie ? await resolveSession(db, cookie) : null;
        return now?.organizationId === org && now.userId === p.userId;
      };
      hub.stream(req, reply, agentChannel(org), { stillAllowed });
    },
  });
}
