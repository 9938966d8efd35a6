import type { Module } from '../module.js';
import { registerAuthRoutes } from './routes.js';

/** Accounts, sessions, email verification and password reset. */
export const authModule: Module = { name: 'auth', routes: registerAuthRoutes };

/** The HTTP layer resolves every request's principal (session or API key) through these. */
export { registerPrincipal, sessionCookieName } from './principal.js';
export { listenForRevokedKeys } from './key-revocation.js';
