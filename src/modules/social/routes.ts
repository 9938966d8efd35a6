import { z } from 'zod';
import type { Config } from '../../config.js';
import type { Database } from '../../db/index.js';
import { AppError } from '../../http/errors.js';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import { completeConnection, disconnectAccount, listAccounts, listPlatforms, refreshAccount, scheduleRefresh, startConnection } from './accounts.js';
import { PlatformError } from './platform-api.js';
import { createPost, deletePost, getPost, listPosts, updatePost } from './posts.js';
import { AccountListQuery, AccountOut, AccountPage, CallbackQuery, ConnectBody, ConnectOut, PlatformList, PostCreate, PostListQuery, PostOut, PostPage, PostPatch } from './schemas.js';

const tags = ['social'];

/** Social accounts (admins connect, refresh and disconnect) and posts (members write them). */
export function registerSocialRoutes(app: App, { db, config }: { db: Database; config: Config }) {
  app.get('/api/social/platforms', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listSocialPlatforms', summary: 'The platforms this server can connect (configured or not) and what each accepts in a post', response: { 200: PlatformList, ...orgErrors } },
    handler: async () => listPlatforms(config),
  });

  app.get('/api/social/accounts', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listSocialAccounts', summary: 'Connected social accounts, newest first (never a token)', querystring: AccountListQuery, response: { 200: AccountPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listAccounts(tx, ctx, req.query)),
  });

  app.post('/api/social/accounts', {
    config: { access: 'org', role: 'admin', sessionOnly: true },
    schema: {
      tags,
      operationId: 'connectSocialAccount',
      summary: "Start connecting an account: the platform's authorize URL (OAuth 2 code flow with PKCE), with a single-use state bound to this organization and person for ten minutes",
      body: ConnectBody,
      response: { 201: ConnectOut, 503: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => reply.code(201).header('cache-control', 'no-store').send(await req.tenant((tx, ctx) => startConnection(tx, ctx, config, req.body.platform))),
  });

  app.get('/api/social/oauth/callback', {
    config: { access: 'public' },
    schema: {
      tags,
      operationId: 'socialOAuthCallback',
      summary: "The platform's redirect back: the state (single use, unexpired) names the organization; the code is exchanged with the PKCE verifier; 302 to the dashboard's accounts page",
      querystring: CallbackQuery,
      response: { 302: z.null().describe('Redirect to /social/accounts with ?connected= or ?error='), 400: ErrorOut, 503: ErrorOut },
    },
    handler: async (req, reply) => {
      const current = new URL(`${config.publicUrl}/api/social/oauth/callback`);
      current.search = new URLSearchParams(req.query as Record<string, string>).toString();
      const back = new URL(`${config.publicUrl}/social/accounts`);
      try {
        const { accountIds } = await completeConnection((org, fn) => db.withTenant(org, fn), config, req.query, current, req.id);
        back.searchParams.set('connected', String(accountIds.length));
      } catch (err) {
        if (!(err instanceof PlatformError)) throw err;
        req.log.warn({ kind: err.kind, status: err.status }, 'social connection not completed');
        back.searchParams.set('error', err.message.slice(0, 300));
      }
      return reply.header('cache-control', 'no-store').redirect(back.toString(), 302);
    },
  });

  app.post('/api/social/accounts/:id', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      operationId: 'refreshSocialAccount',
      summary: "Refresh the account's token now (refresh-token grant; Facebook: a new long-lived token). 409 when the platform refused it: the account then needs reconnection",
      params: IdParams,
      response: { 200: AccountOut, 409: ErrorOut, 503: ErrorOut, ...orgErrors },
    },
    handler: async (req) => {
      const ctx = await req.tenant(async (_tx, c) => c);
      let outcome;
      try {
        outcome = await refreshAccount((fn) => req.tenant((tx) => fn(tx)), ctx, config, req.params.id);
      } catch (err) {
        if (err instanceof PlatformError) throw new AppError('unavailable', `The platform could not refresh the token now: ${err.message}`);
        throw err;
      }
      if (outcome.error) {
        throw new AppError('conflict', `The platform refused the token (${outcome.error.message}): the account needs reconnection`, { account: outcome.account });
      }
      await req.tenant((tx, c) => scheduleRefresh(tx, c.organizationId, req.params.id, outcome.account.tokenExpiresAt ? new Date(outcome.account.tokenExpiresAt) : null, config));
      req.server.jobs?.poke();
      return outcome.account;
    },
  });

  app.delete('/api/social/accounts/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'disconnectSocialAccount', summary: 'Disconnect the account: its tokens and posts are deleted', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => disconnectAccount(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });

  app.get('/api/social/posts', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'listSocialPosts',
      summary: 'Posts, newest first; filter by account, status and a from/to window on the day they go out (the calendar)',
      querystring: PostListQuery,
      response: { 200: PostPage, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => listPosts(tx, ctx, req.query)),
  });

  app.post('/api/social/posts', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'createSocialPost',
      summary: "Create a post as a draft or scheduled (published by a job at scheduledAt), checked against the platform's limits (X: 280 weighted characters)",
      body: PostCreate,
      response: { 201: PostOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      const post = await req.tenant((tx, ctx) => createPost(tx, ctx, req.body));
      req.server.jobs?.poke();
      return reply.code(201).send(post);
    },
  });

  app.get('/api/social/posts/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getSocialPost', summary: 'One post, with its platform id, permalink or failure', params: IdParams, response: { 200: PostOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getPost(tx, ctx, req.params.id)),
  });

  app.patch('/api/social/posts/:id', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'updateSocialPost',
      summary: 'Change a post while it is not published (409 once it is being published or published)',
      params: IdParams,
      body: PostPatch,
      response: { 200: PostOut, 409: ErrorOut, ...orgErrors },
    },
    handler: async (req) => {
      const post = await req.tenant((tx, ctx) => updatePost(tx, ctx, req.params.id, req.body));
      req.server.jobs?.poke();
      return post;
    },
  });

  app.delete('/api/social/posts/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'deleteSocialPost', summary: 'Delete a post while it is not published (409 otherwise)', params: IdParams, response: { 204: z.null(), 409: ErrorOut, ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deletePost(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
}
