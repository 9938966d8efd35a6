import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { App, ModuleDeps } from '../../http/types.js';
import { ErrorOut } from '../../http/types.js';
import { AppError } from '../../http/errors.js';
import { SESSION_COOKIE } from './principal.js';
import { SessionOut, SignInBody, SignInOut, SignUpBody, SignUpOut } from './schemas.js';
import { getSessionInfo, SESSION_TTL_MS, signIn, signOut, signUp, type NewSession } from './service.js';

const userOut = (u: { id: string; email: string; name: string; createdAt: Date }) => ({
  id: u.id, email: u.email, name: u.name, createdAt: u.createdAt.toISOString(),
});

export function registerAuthRoutes(app: App, { db, config }: ModuleDeps) {
  const setSessionCookie = (reply: FastifyReply, s: NewSession) =>
    reply.setCookie(SESSION_COOKIE, s.token, {
      path: '/',
      httpOnly: true,
      sameSite: 'lax',
      secure: config.env === 'production',
      maxAge: Math.floor(SESSION_TTL_MS / 1000),
    });

  const window = config.signIn.windowSeconds * 1000;
  // createRateLimit, not rateLimit: the plugin's rateLimit() handlers mark the request once one has
  // run, so a second one on the same route (per account after per IP) would silently never count.
  const limiter = (check: (req: FastifyRequest) => Promise<{ isAllowed: boolean; isExceeded?: boolean; ttlInSeconds?: number }>) =>
    async (req: FastifyRequest, reply: FastifyReply) => {
      const r = await check(req);
      if (!r.isAllowed && r.isExceeded) {
        reply.header('retry-after', String(r.ttlInSeconds ?? config.signIn.windowSeconds));
        throw new AppError('rate_limited', 'Too many sign-in attempts');
      }
    };
  const perIp = limiter(app.createRateLimit({ max: config.signIn.maxPerIp, timeWindow: window }));
  const perAccount = limiter(app.createRateLimit({
    max: config.signIn.maxPerAccount,
    timeWindow: window,
    keyGenerator: (req) => `account:${String((req.body as { email?: string })?.email ?? '').toLowerCase()}`,
  }));

  app.post('/api/auth/sign-up', {
    config: { access: 'public' },
    preHandler: [perIp],
    schema: {
      tags: ['auth'],
      summary: 'Create an account (and an organization when named); starts a session',
      body: SignUpBody,
      response: { 201: SignUpOut, 400: ErrorOut, 409: ErrorOut, 429: ErrorOut },
    },
    handler: async (req, reply) => {
      const { user, organization, session } = await signUp(db, req.body, { ip: req.ip, userAgent: req.headers['user-agent'], requestId: req.id });
      setSessionCookie(reply, session);
      return reply.code(201).send({
        user: userOut(user),
        organization: organization && { id: organization.id, name: organization.name, plan: organization.plan, createdAt: organization.createdAt.toISOString() },
      });
    },
  });

  app.post('/api/auth/sign-in', {
    config: { access: 'public' },
    preHandler: [perIp, perAccount],
    schema: {
      tags: ['auth'],
      summary: 'Sign in with email and password; issues a new session cookie',
      body: SignInBody,
      response: { 200: SignInOut, 400: ErrorOut, 401: ErrorOut, 429: ErrorOut },
    },
    handler: async (req, reply) => {
      const { user, session } = await signIn(db, req.body, {
        ip: req.ip, userAgent: req.headers['user-agent'], previousToken: req.cookies[SESSION_COOKIE],
      });
      setSessionCookie(reply, session);
      return { user: userOut(user) };
    },
  });

  app.post('/api/auth/sign-out', {
    config: { access: 'public' },
    schema: { tags: ['auth'], summary: 'End the current session', response: { 204: z.null() } },
    handler: async (req, reply) => {
      const token = req.cookies[SESSION_COOKIE];
      if (token) await signOut(db, token);
      reply.clearCookie(SESSION_COOKIE, { path: '/' });
      return reply.code(204).send(null);
    },
  });

  app.get('/api/auth/session', {
    config: { access: 'user' },
    schema: { tags: ['auth'], summary: 'The signed-in user, their organizations and the active one', response: { 200: SessionOut, 401: ErrorOut } },
    handler: async (req) => {
      if (!req.principal) throw new AppError('unauthorized');
      return getSessionInfo(db, req.principal);
    },
  });
}
