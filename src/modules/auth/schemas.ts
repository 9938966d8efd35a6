import { z } from 'zod';

const email = z.email().max(254);
export const SignUpBody = z.strictObject({
  email,
  password: z.string().min(10, 'Password must be at least 10 characters').max(256),
  name: z.string().trim().min(1).max(200),
  organizationName: z.string().trim().min(1).max(200).optional(),
}).meta({ example: { email: 'ada@example.com', password: 'correct horse battery', name: 'Ada', organizationName: 'Acme' } });
export const SignInBody = z
  .strictObject({ email, password: z.string().min(1).max(256) })
  .meta({ example: { email: 'ada@example.com', password: 'correct horse battery' } });

export const UserOut = z.object({ id: z.uuid(), email: z.string(), name: z.string(), createdAt: z.string() });
export const RoleEnum = z.enum(['owner', 'admin', 'member']);
export const OrganizationOut = z.object({ id: z.uuid(), name: z.string(), plan: z.string(), createdAt: z.string() });

export const SessionOut = z.object({
  user: UserOut,
  organizations: z.array(z.object({ id: z.uuid(), name: z.string(), role: RoleEnum })),
  activeOrganizationId: z.uuid().nullable(),
  role: RoleEnum.nullable(),
});
export const SignUpOut = z.object({ user: UserOut, organization: OrganizationOut.nullable() });
export const SignInOut = z.object({ user: UserOut });
