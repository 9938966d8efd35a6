import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { OAuth2Server } from 'oauth2-mock-server';
import type { SocialPlatformConfig } from '../src/config.js';

/** One request the platform stand-in saw. */
export interface PlatformRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: Record<string, string>;
  body: string;
  at: number;
}

export type PlatformReply = { status: number; body?: unknown; headers?: Record<string, string> };

/**
 * A local HTTP server speaking the parts of X's API v2 and Facebook's Graph API that publishing uses,
 * in their wire format: X `GET /2/users/me` and `POST /2/tweets` (bearer user token, JSON), Graph
 * `GET /oauth/access_token?grant_type=fb_exchange_token`, `GET /me/accounts`, `GET /{page}?fields=access_token`
 * and `POST /{page}/feed` (form body with access_token). Replies can be scripted per "METHOD path".
 */
export interface PlatformStandIn {
  url: string;
  requests: PlatformRequest[];
  at: (method: string, path: string) => PlatformRequest[];
  script: (key: string, ...replies: PlatformReply[]) => void;
  /** The page token the stand-in hands out (Facebook), the access tokens it has seen. */
  pageTokens: string[];
  close(): Promise<void>;
}

export const X_USER = { id: '2244994945', name: 'Acme Co', username: 'acme' };
export const FB_PAGE = { id: '101770178', name: 'Acme Page' };
export const IG_ACCOUNT = { id: '17841405822304914', username: 'acme.shop' };
export const LINKEDIN_MEMBER = { sub: 'yrZCpj2Z12', name: 'Ada Lovelace' };

export async function startPlatformStandIn(): Promise<PlatformStandIn> {
  const requests: PlatformRequest[] = [];
  const scripts = new Map<string, PlatformReply[]>();
  const pageTokens: string[] = [];
  let next = 1863201946553958400n;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://stand-in');
      const body = Buffer.concat(chunks).toString('utf8');
      requests.push({ method: req.method ?? 'GET', path: u.pathname, query: u.searchParams, headers: req.headers as Record<string, string>, body, at: Date.now() });
      const send = (r: PlatformReply) => {
        res.writeHead(r.status, { 'content-type': 'application/json', ...(r.headers ?? {}) });
        res.end(r.body === undefined ? '' : JSON.stringify(r.body));
      };
      const scripted = scripts.get(`${req.method} ${u.pathname}`)?.shift();
      if (scripted) return send(scripted);
      const bearer = String(req.headers.authorization ?? '');
      if (u.pathname === '/2/users/me') return bearer.startsWith('Bearer ') ? send({ status: 200, body: { data: X_USER } }) : send({ status: 401, body: { title: 'Unauthorized', status: 401 } });
      if (req.method === 'POST' && u.pathname === '/2/tweets') {
        const text = JSON.parse(body || '{}').text;
        next += 1n;
        return send({ status: 201, body: { data: { id: String(next), text, edit_history_tweet_ids: [String(next)] } } });
      }
      if (u.pathname === '/oauth/access_token' && u.searchParams.get('grant_type') === 'fb_exchange_token') {
        return send({ status: 200, body: { access_token: `long-lived-${randomUUID()}`, token_type: 'bearer', expires_in: 5_184_000 } });
      }
      if (u.pathname === '/me/accounts') {
        const token = `page-token-${randomUUID()}`;
        pageTokens.push(token);
        return send({ status: 200, body: { data: [{ ...FB_PAGE, access_token: token, category: 'Retail', instagram_business_account: IG_ACCOUNT }], paging: {} } });
      }
      if (req.method === 'GET' && u.pathname === `/${FB_PAGE.id}` && u.searchParams.get('fields') === 'access_token') {
        const token = `page-token-${randomUUID()}`;
        pageTokens.push(token);
        return send({ status: 200, body: { id: FB_PAGE.id, access_token: token } });
      }
      if (u.pathname === '/v2/userinfo') return bearer.startsWith('Bearer ') ? send({ status: 200, body: { sub: LINKEDIN_MEMBER.sub, name: LINKEDIN_MEMBER.name, email_verified: true } }) : send({ status: 401, body: { message: 'Unauthorized' } });
      if (req.method === 'POST' && u.pathname === '/rest/posts') {
        next += 1n;
        // LinkedIn answers 201 with an empty body; the post's URN is in x-restli-id.
        res.writeHead(201, { 'x-restli-id': `urn:li:share:${next}` });
        return res.end();
      }
      // Instagram content publishing: a media container, then media_publish; the permalink on the media.
      if (req.method === 'POST' && u.pathname === `/${IG_ACCOUNT.id}/media`) {
        next += 1n;
        return send({ status: 200, body: { id: `container-${next}` } });
      }
      if (req.method === 'POST' && u.pathname === `/${IG_ACCOUNT.id}/media_publish`) {
        next += 1n;
        return send({ status: 200, body: { id: String(next) } });
      }
      if (req.method === 'GET' && /^\/\d+$/.test(u.pathname) && u.searchParams.get('fields') === 'permalink') {
        return send({ status: 200, body: { id: u.pathname.slice(1), permalink: `https://www.instagram.com/p/C${u.pathname.slice(-6)}/` } });
      }
      if (req.method === 'POST' && u.pathname === `/${FB_PAGE.id}/feed`) {
        next += 1n;
        return send({ status: 200, body: { id: `${FB_PAGE.id}_${next}` } });
      }
      send({ status: 404, body: { error: { message: 'Unknown path', type: 'GraphMethodException', code: 100 } } });
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    at: (method, path) => requests.filter((r) => r.method === method && r.path === path),
    script: (key, ...replies) => scripts.set(key, [...(scripts.get(key) ?? []), ...replies]),
    pageTokens,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A real local OAuth 2 authorization server (it checks PKCE), used by its issuer URL exactly as it gives it. */
export async function startAuthorizationServer() {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, 'localhost');
  return server;
}

/** X and Facebook configured against the local authorization server and the platform stand-in. */
export function socialPlatforms(issuer: string, api: string): Partial<Record<'x' | 'facebook' | 'instagram' | 'linkedin', SocialPlatformConfig>> {
  // Client ids as the platforms issue them (letters and digits): the mock server does not decode a form-encoded Basic user name.
  const common = { authorizeUrl: `${issuer}/authorize`, tokenUrl: `${issuer}/token`, issuer, apiBaseUrl: api };
  return {
    x: { ...common, clientId: 'XClientId0123', clientSecret: 'x-secret', scopes: 'tweet.read tweet.write users.read offline.access' },
    facebook: { ...common, clientId: '1234567890', clientSecret: 'fb-secret', scopes: 'pages_show_list pages_manage_posts' },
    instagram: { ...common, clientId: '1234567891', clientSecret: 'ig-secret', scopes: 'instagram_basic instagram_content_publish pages_show_list' },
    linkedin: { ...common, clientId: '86abcdefgh', clientSecret: 'li-secret', scopes: 'openid profile w_member_social' },
  };
}
