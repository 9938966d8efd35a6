import type { Readable } from 'node:stream';
import { z } from 'zod';
import { AppError } from '../../http/errors.js';
import { ErrorOut, IdParams, orgErrors, type App, type ModuleDeps } from '../../http/types.js';
import { importCustomers } from './import.js';
import { CustomerCreate, CustomerListQuery, CustomerOut, CustomerPage, CustomerPatch, CustomerReplace, ImportResult } from './schemas.js';
import { createCustomer, deleteCustomer, getCustomer, listCustomers, updateCustomer } from './service.js';

export function registerCustomerRoutes(app: App, { config }: ModuleDeps) {
  // CSV arrives as a stream; the import reads it row by row under its own size limit.
  app.addContentTypeParser(['text/csv', 'application/csv'], (_req, payload, done) => done(null, payload));

  app.get('/api/customers', {
    config: { access: 'org' },
    schema: { tags: ['customers'], operationId: 'listCustomers', summary: 'List customers (filters q, tag, emailOptIn, smsOptIn; cursor pagination)', querystring: CustomerListQuery, response: { 200: CustomerPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listCustomers(tx, ctx, req.query)),
  });

  app.post('/api/customers', {
    config: { access: 'org' },
    schema: { tags: ['customers'], operationId: 'createCustomer', summary: 'Create a customer', body: CustomerCreate, response: { 201: CustomerOut, 402: ErrorOut, 409: ErrorOut, ...orgErrors } },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => createCustomer(tx, ctx, req.body, config.billing.plans))),
  });

  app.get('/api/customers/:id', {
    config: { access: 'org' },
    schema: { tags: ['customers'], operationId: 'getCustomer', summary: 'Get a customer', params: IdParams, response: { 200: CustomerOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getCustomer(tx, ctx, req.params.id)),
  });

  app.put('/api/customers/:id', {
    config: { access: 'org' },
    schema: { tags: ['customers'], operationId: 'replaceCustomer', summary: 'Replace a customer (omitted fields reset)', params: IdParams, body: CustomerReplace, response: { 200: CustomerOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateCustomer(tx, ctx, req.params.id, req.body, 'replace')),
  });

  app.patch('/api/customers/:id', {
    config: { access: 'org' },
    schema: { tags: ['customers'], operationId: 'updateCustomer', summary: 'Update some fields of a customer', params: IdParams, body: CustomerPatch, response: { 200: CustomerOut, 409: ErrorOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateCustomer(tx, ctx, req.params.id, req.body, 'patch')),
  });

  app.delete('/api/customers/:id', {
    config: { access: 'org' },
    schema: { tags: ['customers'], operationId: 'deleteCustomer', summary: 'Delete a customer', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deleteCustomer(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });

  app.post('/api/customers/import', {
    config: { access: 'org' },
    bodyLimit: config.importLimitBytes,
    schema: {
      tags: ['customers'],
      operationId: 'importCustomers', summary: 'Import customers from CSV (text/csv body or multipart "file") in batches; re-import updates by email; new rows beyond the plan\'s customer limit come back rejected ("plan limit: …")',
      consumes: ['text/csv', 'multipart/form-data'],
      response: { 200: ImportResult.extend({ rejectedCount: z.number() }), 413: ErrorOut, 415: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      let stream: Readable;
      if (req.isMultipart()) {
        // One byte over the limit: busboy truncates a file at exactly fileSize, which the import's own
        // byte counter (bytes > limit) would take for a file that fits and import the truncated rows.
        const file = await req.file({ limits: { fileSize: config.importLimitBytes + 1, files: 1 } });
        if (!file || file.fieldname !== 'file') throw new AppError('validation_failed', 'Upload the CSV as a multipart field named "file"');
        stream = file.file;
        stream.on('limit', () => stream.destroy(new AppError('payload_too_large', `CSV larger than ${config.importLimitBytes} bytes`)));
      } else if (req.body && typeof (req.body as Readable).pipe === 'function') {
        // A declared length over the limit is refused before anything is imported (a chunked body stops at the limit).
        if (Number(req.headers['content-length']) > config.importLimitBytes) throw new AppError('payload_too_large', `CSV larger than ${config.importLimitBytes} bytes`);
        stream = req.body as Readable;
      } else {
        throw new AppError('unsupported_media_type', 'Send the CSV as text/csv or as multipart/form-data with a "file" field');
      }
      try {
        return await importCustomers((fn) => req.tenant(fn), stream, config.importLimitBytes, config.billing.plans);
      } catch (err) {
        // The rest of an oversized upload is not read: close the connection rather than drain it.
        if (err instanceof AppError && err.code === 'payload_too_large') reply.header('connection', 'close');
        throw err;
      }
    },
  });
}
