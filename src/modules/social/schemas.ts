import { z } from 'zod';
import { SOCIAL_PLATFORMS } from '../../config.js';
import { pageOf, pageQuery } from '../../lib/pagination.js';

const Platform = z.enum(SOCIAL_PLATFORMS);

export const ConnectBody = z.strictObject({ platform: Platform }).meta({ example: { platform: 'x' } });

export const ConnectOut = z.object({
  platform: Platform,
  /** Open it in the browser: the platform asks the person, then redirects to the callback. */
  authorizeUrl: z.string(),
  expiresAt: z.string(),
});

export const AccountOut = z.object({
  id: z.uuid(),
  platform: Platform,
  handle: z.string(),
  displayName: z.string().nullable(),
  externalId: z.string().nullable(),
  /** `needs_reconnection`: the platform refused the token (expired or revoked); connect the account again. */
  status: z.enum(['connected', 'needs_reconnection']),
  statusReason: z.string().nullable(),
  scopes: z.string().nullable(),
  tokenExpiresAt: z.string().nullable(),
  refreshedAt: z.string().nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const AccountPage = pageOf(AccountOut);
export const AccountListQuery = z.strictObject({ ...pageQuery, platform: Platform.optional() });

export const PlatformList = z.object({
  data: z.array(
    z.object({
      platform: Platform,
      name: z.string(),
      configured: z.boolean(),
      maxCharacters: z.number().int(),
      counting: z.enum(['x-weighted', 'characters']),
      minImages: z.number().int(),
      maxImages: z.number().int(),
      maxHashtags: z.number().int().optional(),
    }),
  ),
});

export const CallbackQuery = z.object({
  state: z.string().max(200).optional(),
  code: z.string().max(4096).optional(),
  error: z.string().max(200).optional(),
  error_description: z.string().max(2000).optional(),
});

const HttpUrl = z
  .string()
  .trim()
  .max(2048)
  .refine((s) => {
    try {
      return ['http:', 'https:'].includes(new URL(s).protocol);
    } catch {
      return false;
    }
  }, 'Expected an http(s) URL');

const Body = z.string().max(70_000);
const ImageUrls = z.array(HttpUrl).max(10);
const When = z.iso.datetime({ offset: true });

export const PostCreate = z
  .strictObject({
    accountId: z.uuid(),
    body: Body,
    link: HttpUrl.nullable().optional(),
    imageUrls: ImageUrls.optional(),
    status: z.enum(['draft', 'scheduled']).default('draft'),
    scheduledAt: When.nullable().optional(),
  })
  .meta({ example: { accountId: '7e8f9a0b-1c2d-4e3f-8a4b-5c6d7e8f9a0b', body: 'Our winter sale starts Monday.', link: 'https://shop.example.com/sale', status: 'draft' } });
export type PostCreate = z.infer<typeof PostCreate>;

export const PostPatch = z
  .strictObject({
    accountId: z.uuid().optional(),
    body: Body.optional(),
    link: HttpUrl.nullable().optional(),
    imageUrls: ImageUrls.optional(),
    status: z.enum(['draft', 'scheduled']).optional(),
    scheduledAt: When.nullable().optional(),
  })
  .meta({ example: { body: 'Our winter sale starts Monday at 9.', status: 'draft' } });
export type PostPatch = z.infer<typeof PostPatch>;

export const PostOut = z.object({
  id: z.uuid(),
  accountId: z.uuid(),
  platform: Platform,
  body: z.string(),
  link: z.string().nullable(),
  imageUrls: z.array(z.string()),
  status: z.enum(['draft', 'scheduled', 'publishing', 'published', 'failed']),
  scheduledAt: z.string().nullable(),
  publishedAt: z.string().nullable(),
  /** The platform's id of the post and its public link, once published. */
  platformPostId: z.string().nullable(),
  permalink: z.string().nullable(),
  /** The last failure, in words (also while a transient failure is being retried). */
  error: z.string().nullable(),
  attempts: z.number().int(),
  /** The length as the platform counts it (X: weighted), and its limit. */
  length: z.object({ count: z.number().int(), limit: z.number().int() }),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export const PostPage = pageOf(PostOut);
export const PostListQuery = z.strictObject({
  ...pageQuery,
  accountId: z.uuid().optional(),
  status: z.enum(['draft', 'scheduled', 'publishing', 'published', 'failed']).optional(),
  /** A window on the day a post goes out (published, else scheduled): from inclusive, to exclusive. */
  from: When.optional(),
  to: When.optional(),
});
export type PostListQuery = z.infer<typeof PostListQuery>;
