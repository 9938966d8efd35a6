import { z } from 'zod';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import { AttemptPage, DeliveryParams, EndpointCreate, EndpointListQuery, EndpointOut, EndpointPage, EndpointPatch, EndpointWithSecret, ReplayOut } from './schemas.js';
import { createEndpoint, deleteEndpoint, getEndpoint, listAttempts, listEndpoints, replayDelivery, rotateSecret, updateEndpoint, type WebhookSettings } from './service.js';

const tags = ['webhook-endpoints'];
const base = '/api/webhook-endpoints';

/** Outbound webhook endpoints: members read, admins change (every change audited). */
export function registerWebhookEndpointRoutes(app: App, settings: WebhookSettings) {
  app.get(base, {
    config: { access: 'org' },
    schema: { tags, summary: 'List webhook endpoints (cursor pagination)', operationId: 'listWebhookEndpoints', querystring: EndpointListQuery, response: { 200: EndpointPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listEndpoints(tx, ctx, req.query)),
  });

  app.post(base, {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      summary: 'Register a webhook endpoint; the answer carries its signing secret, once',
      operationId: 'createWebhookEndpoint',
      body: EndpointCreate,
      response: { 201: EndpointWithSecret, ...orgErrors },
    },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => createEndpoint(tx, ctx, req.body, settings))),
  });

  app.get(`${base}/:id`, {
    config: { access: 'org' },
    schema: { tags, summary: 'Get a webhook endpoint', operationId: 'getWebhookEndpoint', params: IdParams, response: { 200: EndpointOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getEndpoint(tx, ctx, req.params.id)),
  });

  app.patch(`${base}/:id`, {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      summary: 'Change a webhook endpoint (url, event types, description, enabled)',
      operationId: 'updateWebhookEndpoint',
      params: IdParams,
      body: EndpointPatch,
      response: { 200: EndpointOut, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => updateEndpoint(tx, ctx, req.params.id, req.body, settings)),
  });

  app.delete(`${base}/:id`, {
    config: { access: 'org', role: 'admin' },
    schema: { tags, summary: 'Delete a webhook endpoint and its delivery log', operationId: 'deleteWebhookEndpoint', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deleteEndpoint(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });

  app.post(`${base}/:id/rotate-secret`, {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      summary: 'Rotate the signing secret: the new one is returned once; the old one keeps signing during the overlap',
      operationId: 'rotateWebhookEndpointSecret',
      params: IdParams,
      response: { 200: EndpointWithSecret, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => rotateSecret(tx, ctx, req.params.id, settings)),
  });

  app.get(`${base}/:id/deliveries`, {
    config: { access: 'org' },
    schema: {
      tags,
      summary: "The endpoint's delivery log, one entry per attempt, newest first (cursor pagination)",
      operationId: 'listWebhookDeliveries',
      params: IdParams,
      querystring: EndpointListQuery,
      response: { 200: AttemptPage, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => listAttempts(tx, ctx, req.params.id, req.query)),
  });

  app.post(`${base}/:id/deliveries/:deliveryId/replay`, {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      summary: 'Send a delivery again now, with the same webhook-id (409 while the endpoint is disabled)',
      operationId: 'replayWebhookDelivery',
      params: DeliveryParams,
      response: { 202: ReplayOut, 409: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      const out = await req.tenant((tx, ctx) => replayDelivery(tx, ctx, req.params.id, req.params.deliveryId));
      req.server.jobs?.poke();
      return reply.code(202).send(out);
    },
  });
}
