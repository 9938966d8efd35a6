import { createHash, randomBytes } from 'node:crypto';
import * as client from 'openid-client';
import type { Config, SocialPlatform, SocialPlatformConfig } from '../../config.js';
import { AppError } from '../../http/errors.js';
import { exchangeLongLived, PlatformError } from './platform-api.js';

/**
 * OAuth 2 with each platform through openid-client, configured by hand (none of them publishes
 * discovery metadata usable for this): authorization code with PKCE (S256) and `state`, the
 * refresh-token grant, and Facebook's long-lived token exchange instead of a refresh grant.
 */

/** How long a connection may take between the redirect to the platform and the callback. */
export const CONNECTION_TTL_MS = 10 * 60 * 1000;

export const callbackUrl = (config: Pick<Config, 'publicUrl'>) => `${config.publicUrl}/api/social/oauth/callback`;

export function platformConfig(config: Pick<Config, 'social'>, platform: SocialPlatform): SocialPlatformConfig {
  const cfg = config.social.platforms[platform];
  if (!cfg) throw new AppError('unavailable', `${platform} is not configured on this server (SOCIAL_${platform.toUpperCase()}_CLIENT_ID and _CLIENT_SECRET)`);
  return cfg;
}

const configurations = new WeakMap<SocialPlatformConfig, client.Configuration>();

/** The openid-client configuration of a platform (X authenticates the client with HTTP Basic, the others in the body). */
export function oauthClient(config: Pick<Config, 'env'>, platform: SocialPlatform, cfg: SocialPlatformConfig): client.Configuration {
  let c = configurations.get(cfg);
  if (!c) {
    const auth = platform === 'x' ? client.ClientSecretBasic(cfg.clientSecret) : client.ClientSecretPost(cfg.clientSecret);
    c = new client.Configuration({ issuer: cfg.issuer, authorization_endpoint: cfg.authorizeUrl, token_endpoint: cfg.tokenUrl }, cfg.clientId, undefined, auth);
    // Plain http only for endpoints configured so outside production (a local authorization server).
    if (config.env !== 'production' && new URL(cfg.tokenUrl).protocol === 'http:') client.allowInsecureRequests(c);
    configurations.set(cfg, c);
  }
  return c;
}

/** The state: `<organization>.<secret>` (only its SHA-256 is stored); the organization part lets the public callback open the right scope. */
export function newState(organizationId: string) {
  const state = `${organizationId}.${randomBytes(32).toString('base64url')}`;
  return { state, hash: hashState(state) };
}
export const hashState = (state: string) => createHash('sha256').update(state).digest('hex');

export function organizationOfState(state: string): string | null {
  const [org, secret, extra] = state.split('.');
  if (extra !== undefined || !secret || !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(org ?? '')) return null;
  return org!.toLowerCase();
}

/** The platform's authorize URL for a new connection, with its PKCE verifier (kept sealed until the callback). */
export async function authorizeUrl(config: Pick<Config, 'env' | 'publicUrl'>, platform: SocialPlatform, cfg: SocialPlatformConfig, state: string) {
  const verifier = client.randomPKCECodeVerifier();
  const url = client.buildAuthorizationUrl(oauthClient(config, platform, cfg), {
    redirect_uri: callbackUrl(config),
    scope: cfg.scopes,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    state,
  });
  return { url: url.toString(), verifier };
}

export interface Grant {
  accessToken: string;
  refreshToken: string | null;
  expiresAt: Date | null;
  scope: string | null;
}

const grantOf = (t: client.TokenEndpointResponse & client.TokenEndpointResponseHelpers, previousRefresh: string | null = null): Grant => {
  const expiresIn = t.expiresIn();
  return {
    accessToken: t.access_token,
    // A platform that rotates refresh tokens sends a new one, which replaces the old; one that does not keeps it.
    refreshToken: t.refresh_token ?? previousRefresh,
    expiresAt: expiresIn !== undefined ? new Date(Date.now() + expiresIn * 1000) : null,
    scope: typeof t.scope === 'string' ? t.scope : null,
  };
};

/** An OAuth failure in PlatformError's terms: `invalid_grant` (expired, revoked) and client refusals need reconnection. */
function classify(err: unknown, what: string): PlatformError {
  if (err instanceof PlatformError) return err;
  if (err instanceof client.ResponseBodyError) {
    const auth = ['invalid_grant', 'invalid_client', 'unauthorized_client', 'invalid_token'].includes(err.error) || err.status === 401;
    return new PlatformError(`${what}: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`, auth ? 'auth' : err.status >= 500 || err.status === 429 ? 'transient' : 'permanent', err.status);
  }
  if (err instanceof client.AuthorizationResponseError) return new PlatformError(`${what}: ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`, 'permanent');
  return new PlatformError(`${what}: ${(err as Error)?.message ?? String(err)}`, 'transient');
}

/** The callback's code for tokens: the state must match, and the platform checks the PKCE verifier. */
export async function exchangeCode(config: Pick<Config, 'env' | 'publicUrl'>, platform: SocialPlatform, cfg: SocialPlatformConfig, currentUrl: URL, expected: { state: string; verifier: string }): Promise<Grant> {
  try {
    const tokens = await client.authorizationCodeGrant(oauthClient(config, platform, cfg), currentUrl, { pkceCodeVerifier: expected.verifier, expectedState: expected.state });
    return grantOf(tokens);
  } catch (err) {
    throw classify(err, 'The authorization code was refused');
  }
}

/**
 * A fresh access token: the refresh-token grant (X, LinkedIn), or for Facebook and Instagram a new
 * long-lived token exchanged from the stored one (Facebook has no refresh grant).
 */
export async function renewGrant(config: Pick<Config, 'env'>, platform: SocialPlatform, cfg: SocialPlatformConfig, refreshToken: string | null): Promise<Grant> {
  if (!refreshToken) throw new PlatformError('The platform gave no refresh token: connect the account again', 'auth');
  if (platform === 'facebook' || platform === 'instagram') {
    const long = await exchangeLongLived(cfg, platform, refreshToken);
    return { accessToken: long.accessToken, refreshToken: long.accessToken, expiresAt: long.expiresAt, scope: null };
  }
  try {
    return grantOf(await client.refreshTokenGrant(oauthClient(config, platform, cfg), refreshToken), refreshToken);
  } catch (err) {
    throw classify(err, 'The refresh token was refused');
  }
}
