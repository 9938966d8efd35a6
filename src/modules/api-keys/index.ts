import type { Module } from '../module.js';
import { registerApiKeyRoutes } from './routes.js';

/** API keys: minted by a signed-in member, shown once, revoked with their creator. */
export const apiKeysModule: Module = { name: 'api-keys', routes: registerApiKeyRoutes };
