import { Resolver } from 'node:dns/promises';
import { z } from 'zod';
import { AppError } from '../../http/errors.js';
import { perOrganization } from '../../http/throttle.js';
import { ErrorOut, IdParams, orgErrors, type App, type DnsResolver, type ModuleDeps } from '../../http/types.js';
import { acquireMailer, classifySendError } from '../email/mailer.js';
import { escapeHtml } from '../../lib/html.js';
import { htmlResponse, page, pageHeaders } from '../../lib/html-page.js';
import { newDomainKeys } from './dkim.js';
import { AddressCreate, AddressOut, AddressPage, ConfirmParams, DomainCreate, DomainOut, DomainPage, SenderListQuery } from './schemas.js';
import { addAddress, addDomain, checkConfirmation, confirmAddress, deleteAddress, deleteDomain, getDomain, listAddresses, listDomains, verifyDomain } from './service.js';

const tags = ['senders'];

/** Sender identities: domains proven by DNS (with their DKIM keys) and single addresses proven by a link. */
export function registerSenderRoutes(app: App, { db, config, dns }: ModuleDeps) {
  const resolver: DnsResolver = dns ?? new Resolver({ timeout: 3000, tries: 2 });
  const { mailer, release } = acquireMailer(config);
  app.addHook('onClose', async () => release());
  // Each confirmation is a mail to an address of the caller's choosing: bounded like test sends.
  const throttleConfirmations = perOrganization(app, {
    name: 'sender-confirmation',
    max: config.email.testSendsPerHour,
    windowMs: 3600_000,
    message: 'Too many sender confirmations for this organization; try again later',
  });

  app.get('/api/senders/domains', {
    config: { access: 'org' },
    schema: { tags, summary: 'List sender domains with the DNS records to publish', operationId: 'listSenderDomains', querystring: SenderListQuery, response: { 200: DomainPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listDomains(tx, ctx, req.query)),
  });

  app.post('/api/senders/domains', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      summary: 'Add a sender domain: returns the verification and DKIM TXT records to publish (409 if already added)',
      operationId: 'createSenderDomain',
      body: DomainCreate,
      response: { 201: DomainOut, 409: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      const keys = await newDomainKeys(req.principal!.organizationId!, config.secrets.encryptionKey);
      return reply.code(201).send(await req.tenant((tx, ctx) => addDomain(tx, ctx, req.body.domain, keys)));
    },
  });

  app.get('/api/senders/domains/:id', {
    config: { access: 'org' },
    schema: { tags, summary: 'Get a sender domain', operationId: 'getSenderDomain', params: IdParams, response: { 200: DomainOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getDomain(tx, ctx, req.params.id)),
  });

  app.post('/api/senders/domains/:id/verify', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags,
      summary: 'Look the domain’s TXT records up in DNS; the domain is verified once its verification record is published',
      operationId: 'verifySenderDomain',
      params: IdParams,
      response: { 200: DomainOut, ...orgErrors },
    },
    handler: (req) => verifyDomain((fn) => req.tenant(fn), req.params.id, resolver),
  });

  app.delete('/api/senders/domains/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, summary: 'Remove a sender domain (its key is deleted)', operationId: 'deleteSenderDomain', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deleteDomain(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });

  app.get('/api/senders/addresses', {
    config: { access: 'org' },
    schema: { tags, summary: 'List single sender addresses', operationId: 'listSenderAddresses', querystring: SenderListQuery, response: { 200: AddressPage, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => listAddresses(tx, ctx, req.query)),
  });

  app.post('/api/senders/addresses', {
    config: { access: 'org', role: 'admin' },
    preHandler: [throttleConfirmations],
    schema: {
      tags,
      summary: 'Add a single sender address: a confirmation link is mailed to it (again, for a pending one; 409 once verified)',
      operationId: 'createSenderAddress',
      body: AddressCreate,
      response: { 201: AddressOut, 409: ErrorOut, 429: ErrorOut, 503: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      const { address, mail } = await req.tenant((tx, ctx) => addAddress(tx, ctx, req.body.email, config));
      try {
        await mailer.send(mail);
      } catch (err) {
        throw new AppError('unavailable', `The confirmation could not be mailed: ${classifySendError(err).reply}`);
      }
      return reply.code(201).send(address);
    },
  });

  app.delete('/api/senders/addresses/:id', {
    config: { access: 'org', role: 'admin' },
    schema: { tags, summary: 'Remove a single sender address', operationId: 'deleteSenderAddress', params: IdParams, response: { 204: z.null(), ...orgErrors } },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => deleteAddress(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });

  const invalid = () => page('Link not valid', '<p>This confirmation link is not valid, already used or expired.</p>');

  // A GET only shows the question: link scanners that fetch every URL in a mailbox must not confirm anything.
  app.get('/api/senders/confirm/:token', {
    config: { access: 'public' },
    helmet: pageHeaders,
    schema: { tags, summary: 'Page asking the address owner to confirm (HTML)', operationId: 'showSenderConfirmation', params: ConfirmParams, response: { 200: htmlResponse('A page asking the owner to confirm with a button'), 404: htmlResponse('The link is not valid, already used or expired') } },
    handler: async (req, reply) => {
      const email = await checkConfirmation(db, req.params.token);
      if (!email) return reply.code(404).type('text/html').send(invalid());
      const form = `<form method="post" action="/api/senders/confirm/${encodeURIComponent(req.params.token)}"><button type="submit">Confirm</button></form>`;
      return reply.type('text/html').header('cache-control', 'no-store').send(page('Confirm sender address', `<p>Allow this organization to send email as <b>${escapeHtml(email)}</b>?</p>${form}`));
    },
  });

  app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4096 }, (_req, body, done) => done(null, body));
    scope.post('/api/senders/confirm/:token', {
      // The token is the credential, not a cookie: no CSRF check applies.
      config: { access: 'public', csrf: false },
      helmet: pageHeaders,
      schema: { tags, summary: 'Confirm a sender address (single-use, expiring token; HTML)', operationId: 'confirmSenderAddress', params: ConfirmParams, response: { 200: htmlResponse('The address is confirmed'), 404: htmlResponse('The link is not valid, already used or expired') } },
      handler: async (req, reply) => {
        const email = await confirmAddress(db, (req.params as z.infer<typeof ConfirmParams>).token);
        if (!email) return reply.code(404).type('text/html').send(invalid());
        return reply.type('text/html').header('cache-control', 'no-store').send(page('Address confirmed', `<p>${escapeHtml(email)} can now be used as a sender.</p>`));
      },
    });
  });
}
