import type { Module } from '../module.js';
import { registerCallRoutes } from './routes.js';
import { registerCallStatusWebhook } from './status-webhook.js';

/** The call center: calls (logged by hand or placed through Twilio), agents' phones, call status callbacks. */
export const callsModule: Module = {
  name: 'calls',
  routes(app, deps) {
    registerCallRoutes(app, deps);
    registerCallStatusWebhook(app, deps);
  },
};
