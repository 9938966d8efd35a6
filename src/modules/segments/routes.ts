import { z } from 'zod';
import { IdParams, orgErrors, type App } from '../../http/types.js';
import { PreviewOut, SegmentIn, SegmentListQuery, SegmentOut, SegmentPage, SegmentPreviewIn } from './schemas.js';
import { createSegment, deleteSegment, getSegment, listSegments, previewSegment, segmentMembers, updateSegment } from './service.js';

const tags = ['segments'];

export function registerSegmentRoutes(app: App) {
  app.get('/api/segments', {
    config: { access: 'org' },
    schema: { tags, summary: 'List saved segments (cursor pagination)', operationId: 'listSegments', querystring: SegmentListQuery, response: { 200: SegmentPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listSegments(tx, ctx, req.query)),
  });
  app.post('/api/segments', {
    config: { access: 'org' },
    schema: { tags, summary: 'Save a segment (its condition is validated: shape, depth, size)', operationId: 'createSegment', body: SegmentIn, response: { 201: SegmentOut, ...orgErrors } },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => createSegment(tx, ctx, req.body))),
  });
  app.post('/api/segments/preview', {
    config: { access: 'org' },
    schema: { tags, summary: 'Count and sample the customers a condition matches now (nothing saved)', operationId: 'previewSegment', body: SegmentPreviewIn, response: { 200: PreviewOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => previewSegment(tx, ctx, req.body.condition)),
  });
  app.get('/api/segments/:id', {
    config: { access: 'org' },
    schema: { tags, summary: 'A saved segment', operationId: 'getSegment', params: IdParams, response: { 200: SegmentOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getSegment(tx, ctx, req.params.id)),
  });
  app.get('/api/segments/:id/members', {
    config: { access: 'org' },
    schema: { tags, summary: "A saved segment's live count and a sample of its customers", operationId: 'getSegmentMembers', params: IdParams, response: { 200: PreviewOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => segmentMembers(tx, ctx, req.params.id)),
  });
  app.put('/api/segments/:id', {
    config: { access: 'org' },
    schema: { tags, summary: 'Replace a segment', operationId: 'updateSegment', params: IdParams, body: SegmentIn, response: { 200: SegmentOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateSegment(tx, ctx, req.params.id, req.body)),
  });
  app.delete('/api/segments/:id', {
    config: { access: 'org' },
    schema: { tags, summary: 'Delete a segment', operationId: 'deleteSegment', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deleteSegment(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
}
