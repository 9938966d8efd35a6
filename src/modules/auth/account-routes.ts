import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ErrorOut, IdParams, type App, type ModuleDeps } from '../../http/types.js';
import { pageQuery } from '../../lib/pagination.js';
import {
  changePassword, confirmEmail, confirmPasswordReset, listSessions, newVerificationToken, requestPasswordReset, revokeSession, signOutEverywhere,
} from './account.js';
import { passwordResetMail, verificationMail, type AccountMailer } from './mail.js';
import { limiter } from '../../http/throttle.js';
import { AcceptedOut, ChangePasswordBody, ResetConfirmBody, ResetRequestBody, SessionListOut, TokenBody, TokenQuery, VerifiedOut } from './schemas.js';

type Hook = (req: FastifyRequest, reply: FastifyReply) => Promise<void>;
const HOUR = 3600_000;

/** Email verification, password reset and change, and the user's own sessions. */
export function registerAccountRoutes(
  app: App,
  { db, config, mailer, perIp, clearSessionCookie }: ModuleDeps & { mailer: AccountMailer; perIp: Hook; clearSessionCookie: (reply: FastifyReply) => void },
) {
  // Mail is capped per address and per user as well, so the routes cannot be used to flood an inbox.
  const perAddress = limiter(app, { max: 5, windowMs: HOUR, message: 'Too many requests for this address', key: (req) => `reset:${String((req.body as { email?: string })?.email ?? '').toLowerCase()}` });
  const perUser = limiter(app, { max: 5, windowMs: HOUR, message: 'Too many verification mails', key: (req) => `verify:${req.principal?.userId}` });

  app.get('/api/auth/verify-email', {
    config: { access: 'public' },
    preHandler: [perIp],
    schema: {
      tags: ['auth'], operationId: 'confirmEmailByLink', summary: 'Confirm an email address: the link from the verification mail',
      querystring: TokenQuery, response: { 200: VerifiedOut, 400: ErrorOut, 429: ErrorOut },
    },
    handler: (req) => confirmEmail(db, req.query.token),
  });

  app.post('/api/auth/verify-email', {
    config: { access: 'public' },
    preHandler: [perIp],
    schema: {
      tags: ['auth'], operationId: 'confirmEmail', summary: 'Confirm an email address with the token from the verification mail',
      body: TokenBody, response: { 200: VerifiedOut, 400: ErrorOut, 429: ErrorOut },
    },
    handler: (req) => confirmEmail(db, req.body.token),
  });

  app.post('/api/auth/verify-email/resend', {
    config: { access: 'user' },
    preHandler: [perUser],
    schema: {
      tags: ['auth'], operationId: 'resendVerificationEmail', summary: 'Mail a new confirmation link to the signed-in user’s address (if not yet confirmed)',
      response: { 202: AcceptedOut, 401: ErrorOut, 403: ErrorOut, 429: ErrorOut },
    },
    handler: async (req, reply) => {
      const issued = await newVerificationToken(db, req.principal!);
      if (issued) await mailer.send(verificationMail(config, issued.email, issued.token));
      return reply.code(202).send({ status: 'accepted' as const });
    },
  });

  app.post('/api/auth/password-reset', {
    config: { access: 'public' },
    preHandler: [perIp, perAddress],
    schema: {
      tags: ['auth'], operationId: 'requestPasswordReset',
      summary: 'Mail a password-reset token to the address if it has an account; the answer is the same either way',
      body: ResetRequestBody, response: { 202: AcceptedOut, 400: ErrorOut, 429: ErrorOut },
    },
    handler: async (req, reply) => {
      const issued = await requestPasswordReset(db, req.body.email);
      // Not awaited: whether a mail goes out must not show in the response time either.
      if (issued) void mailer.send(passwordResetMail(config, issued.email, issued.token));
      return reply.code(202).send({ status: 'accepted' as const });
    },
  });

  app.post('/api/auth/password-reset/confirm', {
    config: { access: 'public' },
    preHandler: [perIp],
    schema: {
      tags: ['auth'], operationId: 'confirmPasswordReset', summary: 'Set a new password with a reset token; every session of the account ends',
      body: ResetConfirmBody, response: { 204: z.null(), 400: ErrorOut, 429: ErrorOut },
    },
    handler: async (req, reply) => {
      await confirmPasswordReset(db, req.body.token, req.body.password);
      return reply.code(204).send(null);
    },
  });

  app.post('/api/auth/password', {
    config: { access: 'user' },
    preHandler: [perIp],
    schema: {
      tags: ['auth'], operationId: 'changePassword', summary: 'Change the password (the current one is required); every other session ends',
      body: ChangePasswordBody, response: { 204: z.null(), 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 429: ErrorOut },
    },
    handler: async (req, reply) => {
      await changePassword(db, req.principal!, req.body.currentPassword, req.body.newPassword);
      return reply.code(204).send(null);
    },
  });

  app.get('/api/auth/sessions', {
    config: { access: 'user' },
    schema: { tags: ['auth'], operationId: 'listSessions', summary: 'The signed-in user’s sessions, newest first', querystring: z.strictObject(pageQuery), response: { 200: SessionListOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut } },
    handler: (req) => listSessions(db, req.principal!, req.query),
  });

  app.delete('/api/auth/sessions/:id', {
    config: { access: 'user' },
    schema: {
      tags: ['auth'], operationId: 'revokeSession', summary: 'End one of the signed-in user’s sessions',
      params: IdParams, response: { 204: z.null(), 401: ErrorOut, 403: ErrorOut, 404: ErrorOut },
    },
    handler: async (req, reply) => {
      await revokeSession(db, req.principal!, req.params.id);
      return reply.code(204).send(null);
    },
  });

  app.post('/api/auth/sign-out-everywhere', {
    config: { access: 'user' },
    schema: { tags: ['auth'], operationId: 'signOutEverywhere', summary: 'End every session of the signed-in user, this one included', response: { 204: z.null(), 401: ErrorOut, 403: ErrorOut } },
    handler: async (req, reply) => {
      await signOutEverywhere(db, req.principal!);
      clearSessionCookie(reply);
      return reply.code(204).send(null);
    },
  });
}
