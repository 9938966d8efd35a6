import { z } from 'zod';
import { ErrorOut, IdParams, orgErrors, type App } from '../../http/types.js';
import { IvrFlowCreate, IvrFlowListQuery, IvrFlowOut, IvrFlowPage, IvrFlowPatch, IvrFlowReplace, IvrFlowVersionPage, IvrFlowVersionQuery } from './schemas.js';
import { createIvrFlow, deleteIvrFlow, getIvrFlow, listIvrFlows, listIvrFlowVersions, updateIvrFlow } from './service.js';

const tags = ['ivr'];

// Any member reads flows; changing what the organization's phone line says takes an admin.
export function registerIvrRoutes(app: App) {
  app.get('/api/ivr/flows', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listIvrFlows', summary: 'List IVR flows with their current version and bound numbers (cursor pagination)', querystring: IvrFlowListQuery, response: { 200: IvrFlowPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listIvrFlows(tx, ctx, req.query)),
  });

  app.post('/api/ivr/flows', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'createIvrFlow', summary: 'Create an IVR flow (validated graph; version 1)', body: IvrFlowCreate, response: { 201: IvrFlowOut, ...orgErrors } },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => createIvrFlow(tx, ctx, req.body))),
  });

  app.get('/api/ivr/flows/:id', {
    config: { access: 'org' },
    schema: { tags, operationId: 'getIvrFlow', summary: 'Get an IVR flow: its current version, definition and bound numbers', params: IdParams, response: { 200: IvrFlowOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getIvrFlow(tx, ctx, req.params.id)),
  });

  app.put('/api/ivr/flows/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'replaceIvrFlow', summary: 'Replace an IVR flow; a changed definition becomes a new version (calls in progress keep theirs)', params: IdParams, body: IvrFlowReplace, response: { 200: IvrFlowOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateIvrFlow(tx, ctx, req.params.id, req.body, 'replace')),
  });

  app.patch('/api/ivr/flows/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'updateIvrFlow', summary: 'Update some fields of an IVR flow; a changed definition becomes a new version', params: IdParams, body: IvrFlowPatch, response: { 200: IvrFlowOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateIvrFlow(tx, ctx, req.params.id, req.body, 'patch')),
  });

  app.delete('/api/ivr/flows/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, operationId: 'deleteIvrFlow', summary: 'Delete an IVR flow and its versions; 409 while a phone number is bound to it', params: IdParams, response: { 204: z.null(), 409: ErrorOut, ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deleteIvrFlow(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });

  app.get('/api/ivr/flows/:id/versions', {
    config: { access: 'org' },
    schema: { tags, operationId: 'listIvrFlowVersions', summary: 'List the saved versions of an IVR flow, newest first', params: IdParams, querystring: IvrFlowVersionQuery, response: { 200: IvrFlowVersionPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listIvrFlowVersions(tx, ctx, req.params.id, req.query)),
  });
}
