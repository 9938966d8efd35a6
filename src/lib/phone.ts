import { sql } from 'drizzle-orm';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { z } from 'zod';

/** A phone number as typed ("+1 (415) 555-0123") in E.164 ("+14155550123"), or null when libphonenumber-js finds it invalid. */
export function toE164(value: string | null | undefined): string | null {
  if (!value) return null;
  const parsed = parsePhoneNumberFromString(value.trim());
  return parsed?.isValid() ? parsed.number : null;
}

/**
 * A customer's stored number, typed any way ("+1 (555) 123-4567"), in the spelling of suppressions and of
 * inbound messages ("+15551234567"): the expression of the index customers_phone_e164_idx (0011_sms.sql), so
 * lookups by number use it. SQL over the `phone` column of the statement's customers.
 */
export const PHONE_KEY = sql.raw(`('+' || ltrim(regexp_replace(phone, '[\\s().-]', '', 'g'), '+'))`);

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
