import { and, eq } from 'drizzle-orm';
import { z } from 'zod';
import type { Config } from '../../config.js';
import { schema } from '../../db/index.js';
import { AppError, notFound } from '../../http/errors.js';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import { keysetPage } from '../../lib/pagination.js';
import { recordAudit } from '../audit/service.js';
import { checkAccessToken, exchangeCode, requireShopify, sanitizeShopDomain } from './client.js';
import { authorizeUrl, checkCallbackQuery, checkState, newState, shopParam } from './oauth.js';
import {
  CallbackQuery,
  DataRequestDetail,
  DataRequestListQuery,
  DataRequestPage,
  InstallQuery,
  ShopifyConnect,
  ShopifyStatus,
  SubscriptionList,
  SubscriptionRegistered,
  SyncOut,
} from './schemas.js';
import { disconnectShop, getShopifyStatus, requireShopAccess, saveShop } from './store.js';
import { listSubscriptions, registerSubscriptions } from './subscriptions.js';
import { latestSync, startCustomerSync } from './sync.js';

const { shopifyDataRequests: dr } = schema;
const tags = ['shopify'];

const toDataRequest = (r: typeof dr.$inferSelect) => ({
  id: r.id,
  shop: r.shop,
  shopifyRequestId: r.shopifyRequestId,
  shopifyCustomerId: r.shopifyCustomerId,
  email: r.email,
  createdAt: r.createdAt.toISOString(),
});

export function registerShopifyRoutes(app: App, config: Config) {
  app.get('/api/integrations/shopify', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getShopifyIntegration', summary: 'Whether a Shopify store is connected, and which (never the access token)', response: { 200: ShopifyStatus, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getShopifyStatus(tx, ctx)),
  });

  app.post('/api/integrations/shopify/connect', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      operationId: 'connectShopify',
      summary: "Connect (or replace) the organization's store with a custom app's Admin API token: checked with Shopify first, stored encrypted; 409 when another organization holds the shop",
      body: ShopifyConnect,
      response: { 200: ShopifyStatus, 409: ErrorOut, 503: ErrorOut, ...orgErrors },
    },
    handler: async (req) => {
      requireShopify(config);
      const shop = sanitizeShopDomain(config, req.body.shop);
      if (!shop) throw new AppError('validation_failed', 'Not a Shopify store domain', [{ in: 'body', path: 'shop', message: 'Expected your-store.myshopify.com' }]);
      const { name } = await checkAccessToken(config, shop, req.body.accessToken);
      return req.tenant((tx, ctx) => saveShop(tx, ctx, config, { shop, shopName: name, accessToken: req.body.accessToken, method: 'token' }));
    },
  });

  app.delete('/api/integrations/shopify', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'disconnectShopify', summary: "Disconnect the store and forget its token (the organization's customers and orders stay)", response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => disconnectShop(tx, ctx));
      return reply.code(204).send(null);
    },
  });

  app.get('/api/integrations/shopify/install', {
    config: { access: 'org', role: 'admin', sessionOnly: true },
    schema: {
      tags,
      operationId: 'installShopify',
      summary: "Start the OAuth install: 302 to the shop's authorize page, with a state bound to this session and organization",
      querystring: InstallQuery,
      response: { 302: z.null().describe("Redirect to Shopify's authorize URL"), 503: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      requireShopify(config);
      const shop = shopParam(config, req.query.shop);
      const state = newState(config, { organizationId: req.principal!.organizationId!, sessionId: req.principal!.sessionId! }, shop);
      return reply.header('cache-control', 'no-store').redirect(authorizeUrl(config, shop, state), 302);
    },
  });

  app.get('/api/integrations/shopify/callback', {
    // Shopify redirects the browser here with a GET; it stores the shop's token.
    config: { access: 'org', role: 'admin', sessionOnly: true, writes: true },
    schema: {
      tags,
      operationId: 'shopifyOAuthCallback',
      summary: "Finish the OAuth install: state, query HMAC and timestamp checked, the code exchanged for the shop's token (stored encrypted)",
      querystring: CallbackQuery,
      response: { 200: ShopifyStatus, 409: ErrorOut, 503: ErrorOut, ...orgErrors },
    },
    handler: async (req) => {
      requireShopify(config);
      const q = req.query as Record<string, string>;
      const shop = shopParam(config, q.shop);
      checkState(config, q.state, { organizationId: req.principal!.organizationId!, sessionId: req.principal!.sessionId! }, shop);
      await checkCallbackQuery(config, q);
      const { accessToken, scope } = await exchangeCode(config, shop, q.code);
      const { name } = await checkAccessToken(config, shop, accessToken);
      return req.tenant((tx, ctx) => saveShop(tx, ctx, config, { shop, shopName: name, accessToken, method: 'oauth', scopes: scope }));
    },
  });

  app.post('/api/integrations/shopify/customers', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      operationId: 'syncShopifyCustomers',
      summary: "Sync the store's customers (202: a durable job; one at a time — asking again returns the running one)",
      response: { 202: SyncOut, 409: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      const sync = await req.tenant((tx, ctx) => startCustomerSync(tx, ctx, config));
      req.server.jobs?.poke();
      return reply.code(202).send(sync);
    },
  });

  app.get('/api/integrations/shopify/customers/sync', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getShopifyCustomerSync', summary: "The latest customer sync's progress: pages, customers seen, created and updated, status, error", response: { 200: SyncOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => latestSync(tx, ctx)),
  });

  app.get('/api/integrations/shopify/webhooks', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'listShopifyWebhooks', summary: "The store's webhook subscriptions, as Shopify lists them", response: { 200: SubscriptionList, 409: ErrorOut, 429: ErrorOut, 503: ErrorOut, ...orgErrors } },
    handler: async (req) => {
      const access = await req.tenant((tx, ctx) => requireShopAccess(tx, ctx.organizationId, config));
      return listSubscriptions(config, access);
    },
  });

  app.post('/api/integrations/shopify/webhooks', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      operationId: 'registerShopifyWebhooks',
      summary: 'Subscribe the store to customers/create, customers/update, orders/create and app/uninstalled at PUBLIC_URL/api/webhooks/shopify (the ones missing)',
      response: { 200: SubscriptionRegistered, 409: ErrorOut, 429: ErrorOut, 503: ErrorOut, ...orgErrors },
    },
    handler: async (req) => {
      const access = await req.tenant((tx, ctx) => requireShopAccess(tx, ctx.organizationId, config));
      const result = await registerSubscriptions(config, access);
      if (result.created.length) {
        await req.tenant(async (tx, ctx) => {
          await recordAudit(tx, ctx, { action: 'shopify.webhooks_registered', resourceType: 'integration', changes: { shop: access.shop, topics: result.created } });
        });
      }
      return result;
    },
  });

  app.get('/api/integrations/shopify/data-requests', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'listShopifyDataRequests', summary: "Customer data exports produced by Shopify's customers/data_request webhook, newest first", querystring: DataRequestListQuery, response: { 200: DataRequestPage, ...orgErrors } },
    handler: (req) =>
      req.tenant(async (tx, ctx) => {
        const { rows, nextCursor } = await keysetPage(tx, dr, req.query, [eq(dr.organizationId, ctx.organizationId)]);
        return { data: rows.map(toDataRequest), nextCursor };
      }),
  });

  app.get('/api/integrations/shopify/data-requests/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'getShopifyDataRequest', summary: 'One customer data export, with the data, for the shop owner', params: IdParams, response: { 200: DataRequestDetail, ...orgErrors } },
    handler: (req) =>
      req.tenant(async (tx, ctx) => {
        const [row] = await tx.select().from(dr).where(and(eq(dr.organizationId, ctx.organizationId), eq(dr.id, req.params.id)));
        if (!row) throw notFound();
        return { ...toDataRequest(row), export: row.export };
      }),
  });
}
