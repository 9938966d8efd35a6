import { z } from 'zod';

/** Lowercase letters, digits and inner hyphens: what a URL path segment needs no escaping for. */
export const SLUG_PATTERN = /^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$/;

/** A slug of at most `max` characters (organizations: 63, articles and categories: 80). */
export const slugSchema = (max: number) =>
  z.string().min(1).max(max).regex(SLUG_PATTERN, 'Lowercase letters, digits and hyphens, starting and ending with a letter or digit');

/**
 * A slug made from a name, as the migration's sb_slugify does: accents dropped, lowercase, every run of
 * other characters one hyphen, at most `max` characters, never empty (`fallback`).
 */
export function slugify(name: string, max = 48, fallback = 'org') {
  const base = name
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .slice(0, max)
    .replace(/^-+|-+$/g, '');
  return base || fallback;
}
