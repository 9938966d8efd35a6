import { z } from 'zod';
import { ErrorOut, IdParams, orgErrors, type App, type ModuleDeps } from '../../http/types.js';
import { listAgents, removeAgentPhone, setAgentPhone } from './agents.js';
import { placeOutboundCall } from './outbound.js';
import { AgentListQuery, AgentOut, AgentPage, AgentPhone, CallCreate, CallDetail, CallListQuery, CallOut, CallPage, CallPatch } from './schemas.js';
import { getCall, listCalls, logCall, updateCall } from './service.js';

const tags = ['call-center'];

export function registerCallRoutes(app: App, deps: ModuleDeps) {
  app.get('/api/call-center/calls', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listCalls', summary: 'List calls (filter direction, status, agent, customer, date; cursor pagination)', querystring: CallListQuery, response: { 200: CallPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listCalls(tx, ctx, req.query)),
  });

  app.post('/api/call-center/calls', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'createCall',
      summary: "Log a call by hand (mode log → 201), or place an outbound call through Twilio: the agent's phone rings first, then the customer (mode outbound → 202)",
      body: CallCreate,
      response: { 201: CallOut, 202: CallOut, 409: ErrorOut, 502: ErrorOut, 503: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      const body = req.body;
      if (body.mode === 'log') return reply.code(201).send(await req.tenant((tx, ctx) => logCall(tx, ctx, body)));
      return reply.code(202).send(await placeOutboundCall(req, deps, body));
    },
  });

  app.get('/api/call-center/calls/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getCall', summary: "Get a call: notes, disposition, recording link and the caller's path through the IVR", params: IdParams, response: { 200: CallDetail, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getCall(tx, ctx, req.params.id)),
  });

  app.patch('/api/call-center/calls/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'updateCall', summary: 'Update the notes, disposition, agent or customer of a call', params: IdParams, body: CallPatch, response: { 200: CallDetail, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateCall(tx, ctx, req.params.id, req.body)),
  });

  app.get('/api/call-center/agents', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listCallAgents', summary: "List agents' phone numbers (cursor pagination)", querystring: AgentListQuery, response: { 200: AgentPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listAgents(tx, ctx, req.query)),
  });

  app.put('/api/call-center/agents/:id', {
    config: { access: 'org' },
    schema: {
      tags,
      operationId: 'setCallAgentPhone',
      summary: "Set a member's agent phone (rung first on outbound calls, dialled by IVR dial nodes); members set their own, admins anyone's",
      params: IdParams,
      body: AgentPhone,
      response: { 200: AgentOut, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => setAgentPhone(tx, ctx, req.params.id, req.body.phoneNumber)),
  });

  app.delete('/api/call-center/agents/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'removeCallAgentPhone', summary: "Remove a member's agent phone", params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => removeAgentPhone(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
}
