import type { Module } from '../module.js';
import { registerOrganizationRoutes } from './routes.js';

/** Organizations, members and invitations. */
export const organizationsModule: Module = { name: 'organizations', routes: registerOrganizationRoutes };
