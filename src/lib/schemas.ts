import { z } from 'zod';

// Request schemas more than one module accepts: one definition each, so an email address or a tag
// means the same thing on customers, campaigns, invitations, sign-up and sender addresses.

/** An email address as the API accepts it (RFC 5321's 254-character path limit). */
export const EmailAddress = z.email().max(254);

/** A customer tag: what customers carry and what a campaign audience selects by. */
export const Tag = z.string().trim().min(1).max(64);
export const Tags = z.array(Tag).max(50);
