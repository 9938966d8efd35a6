import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';
import { EmailAddress } from '../../lib/schemas.js';

/** A DNS name of at least two labels (letters, digits, hyphens), stored lowercased. */
const Domain = z
  .string()
  .trim()
  .toLowerCase()
  .max(253)
  .regex(/^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$/, 'Not a domain name');

export const DomainCreate = z.strictObject({ domain: Domain }).meta({ example: { domain: 'mail.acme.example' } });
export const AddressCreate = z.strictObject({ email: EmailAddress }).meta({ example: { email: 'ada@acme.example' } });
export const SenderListQuery = z.strictObject(pageQuery);
export const ConfirmParams = z.object({ token: z.string().max(200) });

export const DnsRecordOut = z.object({
  purpose: z.enum(['verification', 'dkim']),
  type: z.literal('TXT'),
  name: z.string(),
  value: z.string(),
  /** Whether the last check found it published (null before any check). */
  found: z.boolean().nullable(),
});

export const DomainOut = z.object({
  id: z.uuid(),
  domain: z.string(),
  status: z.enum(['pending', 'verified']),
  verifiedAt: z.string().nullable(),
  lastCheckedAt: z.string().nullable(),
  dkimSelector: z.string(),
  /** What to publish in the domain's DNS. */
  records: z.array(DnsRecordOut),
  createdAt: z.string(),
});
export const DomainPage = pageOf(DomainOut);

export const AddressOut = z.object({
  id: z.uuid(),
  email: z.string(),
  status: z.enum(['pending', 'verified']),
  verifiedAt: z.string().nullable(),
  /** Until when the confirmation link mailed to the address works (pending addresses). */
  confirmationExpiresAt: z.string().nullable(),
  createdAt: z.string(),
});
export const AddressPage = pageOf(AddressOut);
