import type { Module } from '../module.js';
import { registerDashboardRoutes } from './routes.js';

/** Dashboard figures for the caller's organization. */
export const dashboardModule: Module = { name: 'dashboard', routes: registerDashboardRoutes };
