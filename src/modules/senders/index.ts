import type { Module } from '../module.js';
import { registerSenderRoutes } from './routes.js';

/** Verified sender domains and addresses. */
export const sendersModule: Module = { name: 'senders', routes: registerSenderRoutes };
