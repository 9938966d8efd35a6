import type { Module } from '../module.js';
import { registerSuppressionRoutes } from './routes.js';

/** The suppression list (email addresses and phone numbers). */
export const suppressionsModule: Module = { name: 'suppressions', routes: registerSuppressionRoutes };
