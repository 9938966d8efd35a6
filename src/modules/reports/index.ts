import type { Module } from '../module.js';
import { registerReportRoutes } from './routes.js';

/** Saved reports: campaign performance, customer growth and messages by channel over a date range, as JSON rows or CSV. */
export const reportsModule: Module = { name: 'reports', routes: registerReportRoutes };
