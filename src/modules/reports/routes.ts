import { z } from 'zod';
import { IdParams, orgErrors, type App } from '../../http/types.js';
import { csvStream } from './csv.js';
import { ReportIn, ReportListQuery, ReportOut, ReportPage, ReportPatch, ReportResults, ResultsQuery } from './schemas.js';
import { createReport, csvFileName, deleteReport, getReport, listReports, runReport, updateReport } from './service.js';

const tags = ['reports'];
const CsvFile = { description: 'The results as CSV (an attachment; text cells that could be read as formulas are prefixed with a quote)', content: { 'text/csv': { schema: z.string() } } };

export function registerReportRoutes(app: App) {
  app.get('/api/reports', {
    config: { access: 'org' },
    schema: { tags, summary: 'List saved reports (cursor pagination)', operationId: 'listReports', querystring: ReportListQuery, response: { 200: ReportPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listReports(tx, ctx, req.query)),
  });
  app.post('/api/reports', {
    config: { access: 'org' },
    schema: { tags, summary: 'Save a report definition (kind and date range)', operationId: 'createReport', body: ReportIn, response: { 201: ReportOut, ...orgErrors } },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => createReport(tx, ctx, req.body))),
  });
  app.get('/api/reports/:id', {
    config: { access: 'org' },
    schema: { tags, summary: 'A saved report definition', operationId: 'getReport', params: IdParams, response: { 200: ReportOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getReport(tx, ctx, req.params.id)),
  });
  app.patch('/api/reports/:id', {
    config: { access: 'org' },
    schema: { tags, summary: 'Change a report definition (name, kind, range)', operationId: 'updateReport', params: IdParams, body: ReportPatch, response: { 200: ReportOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => updateReport(tx, ctx, req.params.id, req.body)),
  });
  app.delete('/api/reports/:id', {
    config: { access: 'org' },
    schema: { tags, summary: 'Delete a report definition', operationId: 'deleteReport', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deleteReport(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
  app.get('/api/reports/:id/results', {
    config: { access: 'org' },
    schema: {
      tags,
      summary: "Run a report: its rows over its saved range, or over ?from=&to= (calendar days, UTC) for this run only",
      operationId: 'getReportResults',
      params: IdParams,
      querystring: ResultsQuery,
      response: { 200: ReportResults, ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => runReport(tx, ctx, req.params.id, req.query)),
  });
  app.get('/api/reports/:id/results.csv', {
    config: { access: 'org' },
    schema: {
      tags,
      summary: 'Run a report and download its rows as CSV (same rows and range rules as the JSON results)',
      operationId: 'getReportResultsCsv',
      params: IdParams,
      querystring: ResultsQuery,
      response: { 200: CsvFile, ...orgErrors },
    },
    handler: async (req, reply) => {
      const { results, name } = await req.tenant(async (tx, ctx) => ({
        results: await runReport(tx, ctx, req.params.id, req.query),
        name: (await getReport(tx, ctx, req.params.id)).name,
      }));
      return reply
        .type('text/csv; charset=utf-8')
        .header('x-content-type-options', 'nosniff')
        .header('content-disposition', `attachment; filename="${csvFileName(name, results)}"`)
        .send(csvStream(results.columns, results.rows) as unknown as string); // a stream: Fastify pipes it, unserialised
    },
  });
}
