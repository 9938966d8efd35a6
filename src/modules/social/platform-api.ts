import type { SocialPlatform, SocialPlatformConfig } from '../../config.js';
import { textFor } from './limits.js';

/**
 * The platforms' own REST APIs, spoken as documented (the base URL is configuration, so a local
 * stand-in speaks for them in tests): who the connected account is, and publishing one post.
 */

/**
 * A platform's refusal or failure. `kind`: `transient` (5xx, 429, the network: try again, not before
 * `retryAt` when the platform said when), `auth` (the token is expired or revoked: the account needs
 * reconnection), `permanent` (the post itself is refused).
 */
export class PlatformError extends Error {
  constructor(
    message: string,
    readonly kind: 'transient' | 'auth' | 'permanent',
    readonly status: number | null = null,
    readonly retryAt: Date | null = null,
  ) {
    super(message);
  }
}

/** When the platform asks us to come back: X's `x-rate-limit-reset` (epoch seconds), else `Retry-After` (seconds or an HTTP date). */
export function retryAtFrom(headers: Headers, now = Date.now()): Date | null {
  const reset = headers.get('x-rate-limit-reset');
  if (reset && /^\d+$/.test(reset)) return new Date(Math.max(now, Number(reset) * 1000));
  const after = headers.get('retry-after');
  if (after) {
    if (/^\d+$/.test(after.trim())) return new Date(now + Number(after) * 1000);
    const at = Date.parse(after);
    if (!Number.isNaN(at)) return new Date(Math.max(now, at));
  }
  return null;
}

const excerpt = (s: string) => (s.length > 300 ? `${s.slice(0, 300)}…` : s);

/** Facebook's Graph errors: 190 (and 102, 463, 467) are a dead token; 4, 17, 32, 613 rate limits; 1, 2 transient. */
function graphKind(status: number, body: any): PlatformError['kind'] {
  const code = body?.error?.code;
  if ([190, 102, 463, 467].includes(code)) return 'auth';
  if ([4, 17, 32, 613, 1, 2].includes(code) || body?.error?.is_transient) return 'transient';
  if (status === 401) return 'auth';
  return status === 429 || status >= 500 ? 'transient' : 'permanent';
}

/** One JSON request to a platform; a non-2xx answer becomes a classified PlatformError. */
async function call(platform: SocialPlatform, url: string, init: RequestInit & { signal?: AbortSignal }): Promise<{ body: any; headers: Headers; status: number }> {
  let res: Response;
  try {
    res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(20_000), redirect: 'error' });
  } catch (err) {
    throw new PlatformError(`The platform could not be reached: ${(err as Error).message}`, 'transient');
  }
  const text = await res.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (res.ok) return { body, headers: res.headers, status: res.status };
  const graph = platform === 'facebook' || platform === 'instagram';
  const kind = graph ? graphKind(res.status, body) : res.status === 401 ? 'auth' : res.status === 429 || res.status >= 500 ? 'transient' : 'permanent';
  const detail = body?.error?.message ?? body?.detail ?? body?.title ?? body?.message ?? excerpt(text);
  throw new PlatformError(`${res.status}: ${detail || res.statusText}`, kind, res.status, retryAtFrom(res.headers));
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const form = (params: Record<string, string>) => ({ 'content-type': 'application/x-www-form-urlencoded' as const, body: new URLSearchParams(params).toString() });

/** An account the connection found: one for X and LinkedIn, one per Page (or Instagram account) for Facebook. */
export interface FoundAccount {
  externalId: string;
  handle: string;
  displayName: string | null;
  accessToken: string;
  /** What renews the access token: the refresh token, or Facebook's long-lived user token. */
  refreshToken: string | null;
  expiresAt: Date | null;
}

/** Facebook: a short-lived user token for a long-lived one (about 60 days); there is no refresh grant. */
export async function exchangeLongLived(cfg: SocialPlatformConfig, platform: SocialPlatform, userToken: string) {
  const url = new URL(`${cfg.apiBaseUrl}/oauth/access_token`);
  url.search = new URLSearchParams({ grant_type: 'fb_exchange_token', client_id: cfg.clientId, client_secret: cfg.clientSecret, fb_exchange_token: userToken }).toString();
  const { body } = await call(platform, url.toString(), { method: 'GET' });
  if (typeof body?.access_token !== 'string') throw new PlatformError('Facebook answered the token exchange without a token', 'transient');
  return { accessToken: body.access_token as string, expiresAt: typeof body.expires_in === 'number' ? new Date(Date.now() + body.expires_in * 1000) : null };
}

/** The accounts a fresh grant gives access to, with the tokens to store for each. */
export async function findAccounts(
  platform: SocialPlatform,
  cfg: SocialPlatformConfig,
  grant: { accessToken: string; refreshToken: string | null; expiresAt: Date | null },
): Promise<FoundAccount[]> {
  if (platform === 'x') {
    const { body } = await call(platform, `${cfg.apiBaseUrl}/2/users/me`, { headers: bearer(grant.accessToken) });
    const u = body?.data;
    if (!u?.id || !u?.username) throw new PlatformError('X did not say who the account is', 'permanent');
    return [{ externalId: String(u.id), handle: `@${u.username}`, displayName: u.name ?? null, ...grant }];
  }
  if (platform === 'linkedin') {
    const { body } = await call(platform, `${cfg.apiBaseUrl}/v2/userinfo`, { headers: bearer(grant.accessToken) });
    if (!body?.sub) throw new PlatformError('LinkedIn did not say who the member is', 'permanent');
    return [{ externalId: String(body.sub), handle: body.name ?? body.sub, displayName: body.name ?? null, ...grant }];
  }
  // Facebook and Instagram: the long-lived user token renews the Page tokens (which it makes non-expiring).
  const long = await exchangeLongLived(cfg, platform, grant.accessToken);
  const url = new URL(`${cfg.apiBaseUrl}/me/accounts`);
  url.search = new URLSearchParams({ fields: 'id,name,access_token,instagram_business_account{id,username}', access_token: long.accessToken }).toString();
  const { body } = await call(platform, url.toString(), { method: 'GET' });
  const pages: any[] = Array.isArray(body?.data) ? body.data : [];
  if (platform === 'facebook') {
    return pages
      .filter((p) => p?.id && p?.access_token)
      .map((p) => ({ externalId: String(p.id), handle: p.name ?? String(p.id), displayName: p.name ?? null, accessToken: p.access_token, refreshToken: long.accessToken, expiresAt: long.expiresAt }));
  }
  return pages
    .filter((p) => p?.instagram_business_account?.id && p?.access_token)
    .map((p) => ({
      externalId: String(p.instagram_business_account.id),
      handle: `@${p.instagram_business_account.username ?? p.instagram_business_account.id}`,
      displayName: p.name ?? null,
      accessToken: p.access_token,
      refreshToken: long.accessToken,
      expiresAt: long.expiresAt,
    }));
}

/** Facebook: a Page's token from a (renewed) long-lived user token. */
export async function pageToken(cfg: SocialPlatformConfig, platform: SocialPlatform, pageOrIgId: string, userToken: string): Promise<string> {
  if (platform === 'instagram') {
    // The Page that holds the Instagram account, with its token.
    const url = new URL(`${cfg.apiBaseUrl}/me/accounts`);
    url.search = new URLSearchParams({ fields: 'access_token,instagram_business_account{id}', access_token: userToken }).toString();
    const { body } = await call(platform, url.toString(), { method: 'GET' });
    const page = (body?.data ?? []).find((p: any) => String(p?.instagram_business_account?.id) === pageOrIgId);
    if (!page?.access_token) throw new PlatformError('The Instagram account is no longer reachable through a Facebook Page', 'auth');
    return page.access_token;
  }
  const url = new URL(`${cfg.apiBaseUrl}/${encodeURIComponent(pageOrIgId)}`);
  url.search = new URLSearchParams({ fields: 'access_token', access_token: userToken }).toString();
  const { body } = await call(platform, url.toString(), { method: 'GET' });
  if (typeof body?.access_token !== 'string') throw new PlatformError('Facebook no longer gives a token for this Page', 'auth');
  return body.access_token;
}

export interface PostToPublish {
  body: string;
  link: string | null;
  imageUrls: string[];
}

export interface Published {
  platformPostId: string;
  permalink: string | null;
}

/** Publishes one post as the account, through the platform's documented request. */
export async function publishPost(
  platform: SocialPlatform,
  cfg: SocialPlatformConfig,
  account: { externalId: string; handle: string; accessToken: string },
  post: PostToPublish,
  signal?: AbortSignal,
): Promise<Published> {
  const api = cfg.apiBaseUrl;
  const text = textFor(platform, post.body, post.link);
  if (platform === 'x') {
    // POST /2/tweets with the user's OAuth 2 token (tweet.write): 201 {data: {id, text}}.
    const { body } = await call(platform, `${api}/2/tweets`, { method: 'POST', headers: { ...bearer(account.accessToken), 'content-type': 'application/json' }, body: JSON.stringify({ text }), signal });
    const id = body?.data?.id;
    if (!id) throw new PlatformError('X accepted the post without an id', 'permanent');
    return { platformPostId: String(id), permalink: `https://x.com/${account.handle.replace(/^@/, '')}/status/${id}` };
  }
  if (platform === 'facebook') {
    // Photos first, unpublished, then one feed post attaching them: POST /{page-id}/feed with the Page token.
    const page = encodeURIComponent(account.externalId);
    const params: Record<string, string> = { access_token: account.accessToken };
    if (text) params.message = text;
    if (post.link) params.link = post.link;
    for (const [i, url] of post.imageUrls.entries()) {
      const photo = await call(platform, `${api}/${page}/photos`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form({ url, published: 'false', access_token: account.accessToken }).body, signal });
      params[`attached_media[${i}]`] = JSON.stringify({ media_fbid: photo.body?.id });
    }
    const { body } = await call(platform, `${api}/${page}/feed`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: form(params).body, signal });
    if (!body?.id) throw new PlatformError('Facebook accepted the post without an id', 'permanent');
    return { platformPostId: String(body.id), permalink: `https://www.facebook.com/${body.id}` };
  }
  if (platform === 'instagram') {
    // A media container with the image and caption, then media_publish; the permalink is asked for after.
    const ig = encodeURIComponent(account.externalId);
    const container = await call(platform, `${api}/${ig}/media`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ image_url: post.imageUrls[0] ?? '', caption: text, access_token: account.accessToken }).body,
      signal,
    });
    const published = await call(platform, `${api}/${ig}/media_publish`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form({ creation_id: String(container.body?.id ?? ''), access_token: account.accessToken }).body,
      signal,
    });
    const id = String(published.body?.id ?? '');
    if (!id) throw new PlatformError('Instagram accepted the post without an id', 'permanent');
    const link = await call(platform, `${api}/${encodeURIComponent(id)}?fields=permalink&access_token=${encodeURIComponent(account.accessToken)}`, { method: 'GET', signal }).catch(() => null);
    return { platformPostId: id, permalink: link?.body?.permalink ?? null };
  }
  // LinkedIn Posts API: POST /rest/posts, the post's URN in x-restli-id.
  const res = await call(platform, `${api}/rest/posts`, {
    method: 'POST',
    headers: { ...bearer(account.accessToken), 'content-type': 'application/json', 'linkedin-version': '202505', 'x-restli-protocol-version': '2.0.0' },
    body: JSON.stringify({
      author: `urn:li:person:${account.externalId}`,
      commentary: text,
      visibility: 'PUBLIC',
      distribution: { feedDistribution: 'MAIN_FEED', targetEntities: [], thirdPartyDistributionChannels: [] },
      ...(post.link && { content: { article: { source: post.link, title: post.link } } }),
      lifecycleState: 'PUBLISHED',
      isReshareDisabledByAuthor: false,
    }),
    signal,
  });
  const urn = res.headers.get('x-restli-id');
  if (!urn) throw new PlatformError('LinkedIn accepted the post without an id', 'permanent');
  return { platformPostId: urn, permalink: `https://www.linkedin.com/feed/update/${urn}/` };
}
