import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { z } from 'zod';

/** A phone number as typed ("+1 (415) 555-0123") in E.164 ("+14155550123"), or null when libphonenumber-js finds it invalid. */
export function toE164(value: string | null | undefined): string | null {
  if (!value) return null;
  const parsed = parsePhoneNumberFromString(value.trim());
  return parsed?.isValid() ? parsed.number : null;
}

/** A phone number anywhere in the world, validated and stored as E.164. */
export const E164 = z
  .string()
  .trim()
  .max(32)
  .transform((v, ctx) => {
    const n = toE164(v);
    if (!n) {
      ctx.addIssue({ code: 'custom', message: 'Not a valid phone number (E.164, such as +14155550123)' });
      return z.NEVER;
    }
    return n;
  });
