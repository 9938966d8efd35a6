import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import type { App, ModuleDeps } from '../../http/types.js';
import { ErrorOut } from '../../http/types.js';
import { AppError } from '../../http/errors.js';
import { registerAccountRoutes } from './account-routes.js';
import { registerDevMailRoutes } from './dev-mail.js';
import { accountMailerFor, verificationMail } from './mail.js';
import { sessionCookieName, sessionCookieSecure } from './principal.js';
import { SessionOut, SignInBody, SignInOut, SignUpBody, SignUpOut } from './schemas.js';
import { getSessionInfo, SESSION_TTL_MS, signIn, signOut, signUp, userOut, type NewSession } from './service.js';
import { limiter } from '../../http/throttle.js';
import { inProcessSignInLimits, redisSignInLimits, SignInThrottle } from './throttle.js';

export function registerAuthRoutes(app: App, deps: ModuleDeps) {
  const { db, config } = deps;
  const cookieName = sessionCookieName(config);
  const mailer = accountMailerFor(app, config);
  const setSessionCookie = (reply: FastifyReply, s: NewSession) =>
    reply.setCookie(cookieName, s.token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: sessionCookieSecure(config),
      maxAge: Math.floor(SESSION_TTL_MS / 1000),
    });
  const clearSessionCookie = (reply: FastifyReply) => reply.clearCookie(cookieName, { path: '/', secure: sessionCookieSecure(config) });

  const windowMs = config.signIn.windowSeconds * 1000;
  const perIp = limiter(app, { name: 'sign-in', max: config.signIn.maxPerIp, windowMs, message: 'Too many sign-in attempts' });
  const throttleOpts = {
    maxPerPair: config.signIn.maxPerAccount,
    windowMs,
    backoffAfter: config.signIn.accountBackoffAfter,
    backoffMs: config.signIn.backoffSeconds * 1000,
  };
  // Shared by every API process with REDIS_URL (docs/scaling.md), else this process's own.
  const throttle = app.redis
    ? redisSignInLimits(app.redis, config.scaleOut!.redisKeyPrefix, throttleOpts, (err) => app.log.warn({ err }, 'sign-in throttle: redis unavailable, counting in-process'))
    : inProcessSignInLimits(new SignInThrottle(throttleOpts));

  app.post('/api/auth/sign-up', {
    config: { access: 'public' },
    preHandler: [perIp],
    schema: {
      tags: ['auth'],
      operationId: 'signUp', summary: 'Create an account (and an organization when named); starts a session and mails a link to confirm the address',
      body: SignUpBody,
      response: { 201: SignUpOut, 400: ErrorOut, 409: ErrorOut, 429: ErrorOut },
    },
    handler: async (req, reply) => {
      const { user, organization, session, verifyToken } = await signUp(db, req.body, { ip: req.ip, userAgent: req.headers['user-agent'], requestId: req.id });
      await mailer.send(verificationMail(config, user.email, verifyToken));
      setSessionCookie(reply, session);
      return reply.code(201).send({
        user: userOut(user),
        organization: organization && { id: organization.id, name: organization.name, slug: organization.slug, plan: organization.plan, createdAt: organization.createdAt.toISOString() },
      });
    },
  });

  app.post('/api/auth/sign-in', {
    config: { access: 'public' },
    preHandler: [perIp],
    schema: {
      tags: ['auth'],
      operationId: 'signIn', summary: 'Sign in with email and password; issues a new session cookie',
      body: SignInBody,
      response: { 200: SignInOut, 400: ErrorOut, 401: ErrorOut, 429: ErrorOut },
    },
    handler: async (req, reply) => {
      const account = req.body.email.toLowerCase();
      try {
        await throttle.check(account, req.ip);
      } catch (err) {
        reply.header('retry-after', String((err as { retryAfter?: number }).retryAfter ?? config.signIn.backoffSeconds));
        throw err;
      }
      let result;
      try {
        result = await signIn(db, req.body, { ip: req.ip, userAgent: req.headers['user-agent'], previousToken: req.cookies[cookieName] });
      } catch (err) {
        if (err instanceof AppError && err.code === 'unauthorized') await throttle.failed(account, req.ip);
        throw err;
      }
      await throttle.succeeded(account, req.ip);
      setSessionCookie(reply, result.session);
      return { user: userOut(result.user) };
    },
  });

  app.post('/api/auth/sign-out', {
    config: { access: 'public' },
    schema: { tags: ['auth'], operationId: 'signOut', summary: 'End the current session', response: { 204: z.null(), 403: ErrorOut } },
    handler: async (req, reply) => {
      const token = req.cookies[cookieName];
      if (token) await signOut(db, token);
      clearSessionCookie(reply);
      return reply.code(204).send(null);
    },
  });

  app.get('/api/auth/session', {
    config: { access: 'user' },
    schema: { tags: ['auth'], operationId: 'getSession', summary: 'The signed-in user, their organizations and the active one', response: { 200: SessionOut, 401: ErrorOut } },
    handler: async (req) => {
      if (!req.principal) throw new AppError('unauthorized');
      return getSessionInfo(db, req.principal);
    },
  });

  registerAccountRoutes(app, { ...deps, mailer, perIp, clearSessionCookie });
  registerDevMailRoutes(app, config);
}
