import fastifyHelmet from '@fastify/helmet';
import { createHash } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';

type Directives = Record<string, string[]>;

const NONE = ["'none'"];
const SELF = ["'self'"];

/** JSON responses load nothing and are framed nowhere. */
const apiDirectives: Directives = { 'default-src': NONE, 'base-uri': NONE, 'form-action': NONE, 'frame-ancestors': NONE };

/** The API reference (swagger-ui): its own scripts, stylesheets and images, and the OpenAPI document, all from this origin; no inline code. */
const docsDirectives: Directives = {
  'default-src': NONE,
  'base-uri': NONE,
  'connect-src': SELF,
  'font-src': [...SELF, 'data:'],
  'form-action': SELF,
  'frame-ancestors': NONE,
  'img-src': [...SELF, 'data:'],
  'object-src': NONE,
  'script-src': SELF,
  'script-src-attr': NONE,
  'style-src': SELF,
};

/**
 * The dashboard (the single-page app at `/`): its own scripts, stylesheets, images and fonts, API calls
 * to this origin, nothing inline, framed nowhere. One loosening: `style-src-attr 'unsafe-inline'`, so
 * the development outbox viewer and the campaign preview can show an email as mail clients do — email
 * HTML is styled by `style` attributes, and a sandboxed `srcdoc` frame (no scripts, opaque origin)
 * inherits this policy. Style attributes cannot run code or load anything beyond what `img-src` and
 * `font-src` already allow; `<style>` elements and inline scripts stay refused.
 */
const appDirectives: Directives = {
  'default-src': NONE,
  'base-uri': NONE,
  'connect-src': SELF,
  'font-src': SELF,
  'form-action': SELF,
  'frame-ancestors': NONE,
  'frame-src': NONE,
  'img-src': [...SELF, 'data:'],
  'manifest-src': SELF,
  'object-src': NONE,
  'script-src': SELF,
  'script-src-attr': NONE,
  'style-src': SELF,
  'style-src-attr': ["'unsafe-inline'"],
};

const https = (config: Config) => config.publicUrl.startsWith('https:');
const withUpgrade = (d: Directives, config: Config): Directives => (https(config) ? { ...d, 'upgrade-insecure-requests': [] } : d);

export const cspHeader = (d: Directives) =>
  Object.entries(d)
    .map(([name, values]) => [name, ...values].join(' '))
    .join('; ');

/** The Content-Security-Policy of the API reference pages (swagger-ui's `staticCSP`). */
export const docsCsp = (config: Config) => cspHeader(withUpgrade(docsDirectives, config));

/** The Content-Security-Policy of the dashboard's pages (web.ts). */
export const appCsp = (config: Config) => cspHeader(withUpgrade(appDirectives, config));

/** sha256 source expression of an inline `<style>` or `<script>` body. */
export const cspHash = (body: string) => `'sha256-${createHash('sha256').update(body, 'utf8').digest('base64')}'`;

/**
 * Route options for a server-rendered HTML page (the unsubscribe page): nothing but the given inline
 * stylesheet, allowed by its hash, and forms posting back to this origin.
 */
export function htmlPageHeaders(css: string) {
  const directives: Directives = { ...apiDirectives, 'style-src': [cspHash(css)], 'form-action': SELF };
  return { contentSecurityPolicy: { useDefaults: false, directives } };
}

/**
 * Route options for the chat widget's demo page (`/widget/demo`): the widget script from this origin
 * (`/widget.js`, no inline script), its API calls and live stream to this origin, and the styles the
 * widget injects for itself (`style-src 'unsafe-inline'`, which cannot run code); framed nowhere.
 */
export function widgetDemoHeaders() {
  const directives: Directives = {
    ...apiDirectives,
    'script-src': SELF,
    'connect-src': SELF,
    'img-src': [...SELF, 'data:'],
    'font-src': SELF,
    'style-src': [...SELF, "'unsafe-inline'"],
  };
  return { contentSecurityPolicy: { useDefaults: false, directives } };
}

/** Route options for a resource other sites embed (the open-tracking pixel in a web mail client). */
export const embeddableHeaders = { crossOriginResourcePolicy: { policy: 'cross-origin' as const } };

/** Security headers on every response (helmet), strict by default; routes that serve HTML or embeddable content loosen their own. */
export async function registerSecurityHeaders(app: FastifyInstance, config: Config) {
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: { useDefaults: false, directives: withUpgrade(apiDirectives, config) },
    frameguard: { action: 'deny' },
    // HSTS only where the site is served over HTTPS: pinned on plain-HTTP development it would only mislead.
    strictTransportSecurity: https(config) ? { maxAge: 31_536_000, includeSubDomains: true } : false,
  });
}
