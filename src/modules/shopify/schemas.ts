import { z } from 'zod';
import { pageOf, pageQuery } from '../../lib/pagination.js';

export const ShopifyConnect = z
  .strictObject({
    /** your-store.myshopify.com (an https:// prefix or a trailing slash are accepted). */
    shop: z.string().trim().min(3).max(255),
    /** The Admin API access token of the store's custom app (shpat_...). Stored encrypted, never returned. */
    accessToken: z.string().trim().min(8).max(512),
  })
  .meta({ example: { shop: 'example-store.myshopify.com', accessToken: 'shpat_00000000000000000000000000000000' } });
export type ShopifyConnect = z.infer<typeof ShopifyConnect>;

export const ShopifyStatus = z.object({
  connected: z.boolean(),
  /** The shop domain (also after app/uninstalled, until shop/redact removes the link). */
  shop: z.string().nullable(),
  shopName: z.string().nullable(),
  method: z.enum(['token', 'oauth']).nullable(),
  scopes: z.string().nullable(),
  connectedAt: z.string().nullable(),
});

export const InstallQuery = z.strictObject({ shop: z.string().trim().min(3).max(255) });

/** What Shopify appends to the redirect URI; other parameters it may add are kept for the HMAC. */
export const CallbackQuery = z.looseObject({
  code: z.string().min(1).max(512),
  shop: z.string().min(3).max(255),
  state: z.string().min(1).max(2048),
  hmac: z.string().min(1).max(256),
  timestamp: z.string().regex(/^\d+$/),
});

export const SyncOut = z.object({
  id: z.uuid(),
  status: z.enum(['queued', 'running', 'completed', 'failed']),
  pages: z.number().int(),
  customersSeen: z.number().int(),
  customersCreated: z.number().int(),
  customersUpdated: z.number().int(),
  /** THROTTLED answers the sync backed off from. */
  throttled: z.number().int(),
  error: z.string().nullable(),
  startedAt: z.string().nullable(),
  finishedAt: z.string().nullable(),
  createdAt: z.string(),
});

export const SubscriptionOut = z.object({ id: z.string(), topic: z.string(), callbackUrl: z.string().nullable() });
export const SubscriptionList = z.object({ shop: z.string(), callbackUrl: z.string(), data: z.array(SubscriptionOut) });
export const SubscriptionRegistered = SubscriptionList.extend({ created: z.array(z.string()), errors: z.array(z.string()) });

export const DataRequestListQuery = z.strictObject({ ...pageQuery });
export const DataRequestOut = z.object({
  id: z.uuid(),
  shop: z.string(),
  shopifyRequestId: z.string().nullable(),
  shopifyCustomerId: z.string().nullable(),
  email: z.string().nullable(),
  createdAt: z.string(),
});
export const DataRequestPage = pageOf(DataRequestOut);
export const DataRequestDetail = DataRequestOut.extend({ export: z.record(z.string(), z.unknown()) });
