import { z } from 'zod';
import type { Config } from '../../config.js';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import { checkTwilioCredentials, disconnectTwilio, getTwilioStatus, saveTwilioAccount } from './integration-service.js';
import { addPhoneNumber, deletePhoneNumber, getPhoneNumber, listPhoneNumbers, updatePhoneNumber } from './phone-number-service.js';
import { PhoneNumberCreate, PhoneNumberListQuery, PhoneNumberOut, PhoneNumberPage, PhoneNumberUpdate, TwilioConnect, TwilioStatus } from './schemas.js';

export function registerTwilioIntegrationRoutes(app: App, config: Config) {
  const tags = ['twilio'];
  app.get('/api/integrations/twilio', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getTwilioIntegration', summary: 'Whether a Twilio account is connected, and which (never the auth token)', response: { 200: TwilioStatus, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getTwilioStatus(tx, ctx)),
  });

  app.put('/api/integrations/twilio', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      operationId: 'connectTwilio',
      summary: "Connect (or replace) the organization's Twilio account: the credentials are checked with Twilio first, the token stored encrypted",
      body: TwilioConnect,
      response: { 200: TwilioStatus, 409: ErrorOut, 503: ErrorOut, ...orgErrors },
    },
    handler: async (req) => {
      const account = await checkTwilioCredentials(config, req.body);
      return req.tenant((tx, ctx) => saveTwilioAccount(tx, ctx, config, { ...account, authToken: req.body.authToken }));
    },
  });

  app.delete('/api/integrations/twilio', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'disconnectTwilio', summary: 'Disconnect the Twilio account (messages and calls go to the development outbox again)', response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => disconnectTwilio(tx, ctx));
      return reply.code(204).send(null);
    },
  });
}

export function registerPhoneNumberRoutes(app: App, config: Config) {
  const tags = ['phone-numbers'];
  app.get('/api/phone-numbers', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listPhoneNumbers', summary: "The organization's phone numbers, newest first (cursor pagination)", querystring: PhoneNumberListQuery, response: { 200: PhoneNumberPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listPhoneNumbers(tx, ctx, req.query)),
  });

  app.post('/api/phone-numbers', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      operationId: 'createPhoneNumber',
      summary: "Add a number (E.164). With a Twilio account connected it must be the account's, and its webhooks are pointed here; 409 when any organization holds it",
      body: PhoneNumberCreate,
      response: { 201: PhoneNumberOut, 402: ErrorOut, 409: ErrorOut, 503: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => reply.code(201).send(await addPhoneNumber(req.tenant.bind(req), config, req.body)),
  });

  app.get('/api/phone-numbers/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getPhoneNumber', summary: 'One phone number', params: IdParams, response: { 200: PhoneNumberOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getPhoneNumber(tx, ctx, req.params.id)),
  });

  app.patch('/api/phone-numbers/:id', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      operationId: 'updatePhoneNumber',
      summary: 'Rename a number, switch SMS or voice, or bind an IVR flow of the organization (ivrFlowId; null unbinds)',
      params: IdParams,
      body: PhoneNumberUpdate,
      response: { 200: PhoneNumberOut, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => updatePhoneNumber(tx, ctx, req.params.id, req.body)),
  });

  app.delete('/api/phone-numbers/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'deletePhoneNumber', summary: 'Release a number (any organization may add it afterwards)', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deletePhoneNumber(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
}
