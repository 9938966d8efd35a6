import { dictionary } from '@zxcvbn-ts/language-common';
import { z } from 'zod';

/** ~49,000 common passwords shipped with @zxcvbn-ts/language-common; compared case-insensitively. */
let common: Set<string> | undefined;
export const isCommonPassword = (password: string) => {
  common ??= new Set((dictionary['passwords-common'] as string[]).map((p) => p.toLowerCase()));
  return common.has(password.toLowerCase());
};

/** A new password (sign-up, reset, change): long enough and not on the common-password list. */
export const NewPassword = z
  .string()
  .min(10, 'Password must be at least 10 characters')
  .max(256)
  .refine((p) => !isCommonPassword(p), 'This password is on a list of common passwords; choose another');
