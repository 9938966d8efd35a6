import type { FastifyRequest } from 'fastify';
import { z } from 'zod';
import { ErrorOut, IdParams, orgErrors, type App, type ModuleDeps } from '../../http/types.js';
import { pageOf, pageQuery } from '../../lib/pagination.js';
import { EmailAddress } from '../../lib/schemas.js';
import { slugSchema } from '../../lib/slug.js';
import { GrantableRoleEnum, OrganizationOut, RoleEnum, SessionOut } from '../auth/schemas.js';
import { accountMailerFor, invitationMail } from '../auth/mail.js';
import { announceRevokedKeys } from '../auth/key-revocation.js';
import { createOrganization, getSessionInfo, setActiveOrganization, switchOrganization } from '../auth/service.js';
import { acceptInvitation } from './invitations.js';
import { changeMemberRole, getCurrentOrganization, updateCurrentOrganization, inviteMember, leaveOrganization, listInvitations, listMembers, removeMember } from './service.js';

const CurrentOrganizationOut = OrganizationOut.extend({
  role: RoleEnum,
  usage: z.object({ customers: z.number(), emailsThisMonth: z.number(), smsThisMonth: z.number(), members: z.number(), emailCampaigns: z.number(), smsCampaigns: z.number(), apiKeys: z.number() }),
});
const OrganizationPatch = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    slug: slugSchema(63).optional().meta({ description: 'Lowercase letters, digits and inner hyphens, at most 63 characters; unique across the platform' }),
  })
  .refine((p) => p.name !== undefined || p.slug !== undefined, 'Change at least one of name, slug')
  .meta({ example: { name: 'Acme Support' } });
const MemberOut = z.object({ id: z.uuid(), userId: z.uuid(), email: z.string(), name: z.string(), role: RoleEnum, createdAt: z.string() });
const MemberRoleOut = z.object({ id: z.uuid(), userId: z.uuid(), role: RoleEnum });
const InvitationOut = z.object({ id: z.uuid(), email: z.string(), role: RoleEnum, createdAt: z.string(), expiresAt: z.string() });

export function registerOrganizationRoutes(app: App, { db, config, bus }: ModuleDeps) {
  const mailer = accountMailerFor(app, config);
  // After the commit, on every process (the bus): a request racing the revocation cannot re-cache the key.
  const forget = (req: FastifyRequest, ids: string[]) => announceRevokedKeys({ bus, db, log: req.log }, req.principal!.organizationId!, ids);

  app.post('/api/organizations', {
    config: { access: 'user' },
    schema: {
      tags: ['organizations'],
      operationId: 'createOrganization', summary: 'Create an organization; the caller becomes its owner and it becomes active',
      body: z.strictObject({ name: z.string().trim().min(1).max(200) }).meta({ example: { name: 'Acme' } }),
      response: { 201: OrganizationOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut },
    },
    handler: async (req, reply) => {
      const p = req.principal!;
      const org = await createOrganization(db, { id: p.userId! }, req.body.name, req.id);
      await setActiveOrganization(db, p, org.id);
      return reply.code(201).send({ id: org.id, name: org.name, slug: org.slug, plan: org.plan, createdAt: org.createdAt.toISOString() });
    },
  });

  app.get('/api/organizations/current', {
    config: { access: 'org' },
    schema: { tags: ['organizations'], operationId: 'getCurrentOrganization', summary: 'The active organization with its plan and usage', response: { 200: CurrentOrganizationOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getCurrentOrganization(tx, ctx, config.billing.plans)),
  });

  app.patch('/api/organizations/current', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags: ['organizations'],
      operationId: 'updateCurrentOrganization',
      summary: "Rename the active organization or change its URL slug (owner/admin; the help center moves to /help/<slug>; 409 when another organization holds the slug)",
      body: OrganizationPatch,
      response: { 200: CurrentOrganizationOut, 409: ErrorOut, ...orgErrors },
    },
    handler: (req) =>
      req.tenant(async (tx, ctx) => {
        await updateCurrentOrganization(tx, ctx, req.body);
        return getCurrentOrganization(tx, ctx, config.billing.plans);
      }),
  });

  app.post('/api/organizations/current/switch', {
    config: { access: 'user' },
    schema: {
      tags: ['organizations'],
      operationId: 'switchOrganization', summary: 'Make another of your organizations the active one',
      body: z.strictObject({ organizationId: z.uuid() }).meta({ example: { organizationId: '00000000-0000-4000-8000-000000000000' } }),
      response: { 200: SessionOut, ...orgErrors },
    },
    handler: async (req) => {
      const p = req.principal!;
      const role = await switchOrganization(db, p, req.body.organizationId);
      return getSessionInfo(db, { ...p, organizationId: req.body.organizationId, role });
    },
  });

  app.get('/api/organizations/current/members', {
    config: { access: 'org' },
    schema: {
      tags: ['organizations'],
      operationId: 'listMembers', summary: 'Members of the active organization, oldest first (pending invitations: GET /api/organizations/current/invitations)',
      querystring: z.strictObject(pageQuery),
      response: { 200: pageOf(MemberOut), ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => listMembers(tx, ctx, req.query)),
  });

  app.get('/api/organizations/current/invitations', {
    config: { access: 'org' },
    schema: {
      tags: ['organizations'],
      operationId: 'listInvitations', summary: 'Pending (not yet accepted) invitations of the active organization, oldest first; revoke one with DELETE /api/organizations/current/members/:id',
      querystring: z.strictObject(pageQuery),
      response: { 200: pageOf(InvitationOut), ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => listInvitations(tx, ctx, req.query)),
  });

  app.post('/api/organizations/current/members', {
    config: { access: 'org', role: 'admin', sessionOnly: true },
    schema: {
      tags: ['organizations'],
      operationId: 'inviteMember', summary: 'Invite an address (owner/admin, signed in): a single-use link is mailed; the same answer whether or not it has an account',
      body: z
        .strictObject({ email: EmailAddress, role: GrantableRoleEnum.default('member') })
        .meta({ example: { email: 'grace@example.com', role: 'member' } }),
      response: { 201: z.object({ status: z.literal('invited'), invitation: InvitationOut }), 402: ErrorOut, 409: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      const { response, mail } = await req.tenant((tx, ctx) => inviteMember(tx, ctx, req.body, config.billing.plans));
      await mailer.send(invitationMail(config, mail.to, mail));
      return reply.code(201).send(response);
    },
  });

  app.patch('/api/organizations/current/members/:id', {
    config: { access: 'org', role: 'admin', recentSignIn: true },
    schema: {
      tags: ['organizations'],
      operationId: 'changeMemberRole',
      summary: "Change a member's role (owner/admin, signed in recently; only an owner grants or removes the owner role)",
      params: IdParams,
      body: z.strictObject({ role: RoleEnum }).meta({ example: { role: 'admin' } }),
      response: { 200: MemberRoleOut, 409: ErrorOut, ...orgErrors },
    },
    handler: async (req) => {
      const { membership, revoked } = await req.tenant((tx, ctx) => changeMemberRole(tx, ctx, req.params.id, req.body.role));
      await forget(req, revoked);
      return { id: membership.id, userId: membership.userId, role: membership.role };
    },
  });

  app.delete('/api/organizations/current/members/:id', {
    config: { access: 'org', role: 'admin', sessionOnly: true },
    schema: {
      tags: ['organizations'],
      operationId: 'removeMember', summary: 'Remove a member (their API keys are revoked) or revoke a pending invitation (owner/admin, signed in)',
      params: IdParams,
      response: { 204: z.null(), 409: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      await forget(req, await req.tenant((tx, ctx) => removeMember(tx, ctx, req.params.id)));
      return reply.code(204).send(null);
    },
  });

  app.post('/api/organizations/current/leave', {
    config: { access: 'org', sessionOnly: true },
    schema: {
      tags: ['organizations'],
      operationId: 'leaveOrganization',
      summary: 'Leave the active organization (your API keys there are revoked); the last owner cannot leave',
      response: { 204: z.null(), 409: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      await forget(req, await req.tenant((tx, ctx) => leaveOrganization(tx, ctx)));
      await setActiveOrganization(db, req.principal!, null);
      return reply.code(204).send(null);
    },
  });

  app.post('/api/invitations/:token/accept', {
    config: { access: 'user' },
    schema: {
      tags: ['organizations'],
      operationId: 'acceptInvitation',
      summary: 'Accept an invitation with the token from its mail, as the signed-in account with that confirmed address',
      params: z.object({ token: z.string().max(200) }),
      response: { 200: SessionOut, 409: ErrorOut, ...orgErrors },
    },
    handler: async (req) => {
      const p = req.principal!;
      const joined = await acceptInvitation(db, p, req.params.token, req.id);
      return getSessionInfo(db, { ...p, organizationId: joined.organizationId, role: joined.role });
    },
  });
}
