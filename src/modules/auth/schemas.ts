import { z } from 'zod';
import { pageOf } from '../../lib/pagination.js';
import { EmailAddress as email } from '../../lib/schemas.js';
import { NewPassword } from './passwords.js';

const token = z.string().min(1).max(200);
export const SignUpBody = z.strictObject({
  email,
  password: NewPassword,
  name: z.string().trim().min(1).max(200),
  organizationName: z.string().trim().min(1).max(200).optional(),
}).meta({ example: { email: 'ada@example.com', password: 'correct horse battery', name: 'Ada', organizationName: 'Acme' } });
export const SignInBody = z
  .strictObject({ email, password: z.string().min(1).max(256) })
  .meta({ example: { email: 'ada@example.com', password: 'correct horse battery' } });

export const TokenBody = z.strictObject({ token }).meta({ example: { token: 'AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } });
export const TokenQuery = z.strictObject({ token });
export const ResetRequestBody = z.strictObject({ email }).meta({ example: { email: 'ada@example.com' } });
export const ResetConfirmBody = z
  .strictObject({ token, password: NewPassword })
  .meta({ example: { token: 'AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', password: 'a new long passphrase' } });
export const ChangePasswordBody = z
  .strictObject({ currentPassword: z.string().min(1).max(256), newPassword: NewPassword })
  .meta({ example: { currentPassword: 'correct horse battery', newPassword: 'a new long passphrase' } });

export const UserOut = z.object({ id: z.uuid(), email: z.string(), name: z.string(), createdAt: z.string(), emailVerified: z.boolean() });
export const RoleEnum = z.enum(['owner', 'admin', 'member']);
/** What an invitation or an API key may grant (see GrantableRole in db/schema.ts). */
export const GrantableRoleEnum = z.enum(['admin', 'member']);
export const OrganizationOut = z.object({
  id: z.uuid(),
  name: z.string(),
  slug: z.string().meta({ description: 'The public URL name: the help center is at /help/<slug>' }),
  plan: z.string(),
  createdAt: z.string(),
});

export const SessionOut = z.object({
  user: UserOut,
  organizations: z.array(z.object({ id: z.uuid(), name: z.string(), role: RoleEnum })),
  activeOrganizationId: z.uuid().nullable(),
  role: RoleEnum.nullable(),
});
export const SignUpOut = z.object({ user: UserOut, organization: OrganizationOut.nullable() });
export const SignInOut = z.object({ user: UserOut });
export const AcceptedOut = z.object({ status: z.literal('accepted') });
export const VerifiedOut = z.object({ email: z.string(), verified: z.literal(true) });
export const SessionListOut = pageOf(z.object({
  id: z.uuid(), current: z.boolean(), ip: z.string().nullable(), userAgent: z.string().nullable(),
  createdAt: z.string(), authenticatedAt: z.string(), expiresAt: z.string(),
}));
