import type { Module } from '../module.js';
import { registerAuditRoutes } from './routes.js';

/** The audit log: who did what to which resource. */
export const auditModule: Module = { name: 'audit', routes: registerAuditRoutes };
