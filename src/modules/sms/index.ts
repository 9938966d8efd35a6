import type { App, ModuleDeps } from '../../http/types.js';
import { acquireRenderPool } from '../email/render-pool.js';
import { registerSmsRoutes } from './routes.js';

/** The SMS channel: campaigns, settings, previews, analytics, inbound messages. */
export function registerSmsModule(app: App, { config }: ModuleDeps) {
  // The process's template pool (shared with email and the in-process job worker).
  const renderer = acquireRenderPool(config.templates);
  app.addHook('onClose', () => renderer.release());
  registerSmsRoutes(app, { pool: renderer.pool, config });
}
