import type { Module } from '../module.js';
import { registerSmsRoutes } from './routes.js';

/** The SMS channel: campaigns. */
export const smsModule: Module = { name: 'sms', routes: registerSmsRoutes };
