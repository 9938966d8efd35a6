import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';
import { appCsp } from './security-headers.js';
import type { App } from './types.js';

/** Where `npm run build` puts the dashboard (dist/web), found the same from src/http and dist/http. */
export const defaultWebRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'web');

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.woff2': 'font/woff2',
};

interface Asset {
  body: Buffer;
  type: string;
  /** Vite's content-hashed files under assets/ never change: cached for a year. */
  immutable: boolean;
}

/** Every file of the build, read once at start: only names found here are ever served (no path from the URL reaches the file system). */
function loadAssets(root: string) {
  const assets = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else {
        const url = `/${path.relative(root, file).split(path.sep).join('/')}`;
        if (url.startsWith('/.')) continue;
        assets.set(url, { body: readFileSync(file), type: TYPES[path.extname(name)] ?? 'application/octet-stream', immutable: url.startsWith('/assets/') });
      }
    }
  };
  walk(root);
  return assets;
}

/**
 * Serves the dashboard (the single-page app built into dist/web) at `/`: its files by name, and
 * index.html for any other GET outside /api so that client routes load the app. Everything under
 * /api (and /metrics) is left to the API, whose unknown paths stay JSON 404s. The app's pages carry
 * their own Content-Security-Policy (security-headers.ts: own scripts and styles only, nothing inline).
 * Served from the not-found handler rather than a route: the files are public and no route table entry
 * (access mode, OpenAPI operation) describes them.
 */
export function registerWeb(app: App, config: Config, root: string | false = defaultWebRoot) {
  const assets = root && existsSync(path.join(root, 'index.html')) ? loadAssets(root) : null;
  const csp = appCsp(config);

  app.setNotFoundHandler((req: FastifyRequest, reply: FastifyReply) => {
    const url = req.url.split('?')[0];
    const isApi = url === '/api' || url.startsWith('/api/') || url === '/metrics';
    if (!assets || isApi || (req.method !== 'GET' && req.method !== 'HEAD')) {
      return reply.code(404).send({ error: 'Not found', code: 'not_found' });
    }
    const asset = assets.get(url);
    if (!asset && (url.startsWith('/assets/') || path.extname(url) !== '')) return reply.code(404).send({ error: 'Not found', code: 'not_found' });
    const file = asset ?? assets.get('/index.html')!;
    reply
      .header('content-security-policy', csp)
      .header('cache-control', file.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .type(file.type);
    return reply.send(req.method === 'HEAD' ? '' : file.body);
  });
}
