import { z } from 'zod';
import { ErrorOut, IdParams, orgErrors, type App, type ModuleDeps } from '../../http/types.js';
import { OrganizationOut, RoleEnum, SessionOut } from '../auth/schemas.js';
import { createOrganization, getSessionInfo, setActiveOrganization, switchOrganization } from '../auth/service.js';
import { getCurrentOrganization, inviteMember, listMembers, removeMember } from './service.js';

const CurrentOrganizationOut = OrganizationOut.extend({
  role: RoleEnum,
  usage: z.object({ customers: z.number(), members: z.number(), emailCampaigns: z.number(), smsCampaigns: z.number(), apiKeys: z.number() }),
});
const MemberOut = z.object({ id: z.uuid(), userId: z.uuid(), email: z.string(), name: z.string(), role: RoleEnum, createdAt: z.string() });
const InvitationOut = z.object({ id: z.uuid(), email: z.string(), role: RoleEnum, createdAt: z.string(), expiresAt: z.string() });

export function registerOrganizationRoutes(app: App, { db }: ModuleDeps) {
  app.post('/api/organizations', {
    config: { access: 'user' },
    schema: {
      tags: ['organizations'],
      summary: 'Create an organization; the caller becomes its owner and it becomes active',
      body: z.strictObject({ name: z.string().trim().min(1).max(200) }).meta({ example: { name: 'Acme' } }),
      response: { 201: OrganizationOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut },
    },
    handler: async (req, reply) => {
      const p = req.principal!;
      const org = await createOrganization(db, { id: p.userId! }, req.body.name, req.id);
      await setActiveOrganization(db, p.sessionId!, org.id);
      return reply.code(201).send({ id: org.id, name: org.name, plan: org.plan, createdAt: org.createdAt.toISOString() });
    },
  });

  app.get('/api/organizations/current', {
    config: { access: 'org' },
    schema: { tags: ['organizations'], summary: 'The active organization with its plan and usage', response: { 200: CurrentOrganizationOut, ...orgErrors } },
    handler: (req) => req.tenant((tx, ctx) => getCurrentOrganization(tx, ctx)),
  });

  app.post('/api/organizations/current/switch', {
    config: { access: 'user' },
    schema: {
      tags: ['organizations'],
      summary: 'Make another of your organizations the active one',
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
      summary: 'Members of the active organization and pending invitations',
      response: { 200: z.object({ data: z.array(MemberOut), invitations: z.array(InvitationOut) }), ...orgErrors },
    },
    handler: (req) => req.tenant((tx, ctx) => listMembers(tx, ctx)),
  });

  app.post('/api/organizations/current/members', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags: ['organizations'],
      summary: 'Add an existing user, or invite an address to join on sign-up (owner/admin)',
      body: z
        .strictObject({ email: z.email().max(254), role: z.enum(['admin', 'member']).default('member') })
        .meta({ example: { email: 'grace@example.com', role: 'member' } }),
      response: {
        201: z.object({ status: z.enum(['added', 'invited']), member: MemberOut.nullable(), invitation: InvitationOut.nullable() }),
        409: ErrorOut,
        ...orgErrors,
      },
    },
    handler: async (req, reply) => reply.code(201).send(await req.tenant((tx, ctx) => inviteMember(tx, ctx, req.body))),
  });

  app.delete('/api/organizations/current/members/:id', {
    config: { access: 'org', role: 'admin' },
    schema: {
      tags: ['organizations'],
      summary: 'Remove a member or revoke a pending invitation (owner/admin)',
      params: IdParams,
      response: { 204: z.null(), 409: ErrorOut, ...orgErrors },
    },
    handler: async (req, reply) => {
      await req.tenant((tx, ctx) => removeMember(tx, ctx, req.params.id));
      return reply.code(204).send(null);
    },
  });
}
