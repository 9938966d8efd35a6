import type { Module } from '../module.js';
import { registerIvrRoutes } from './routes.js';
import { registerVoiceWebhooks } from './webhooks.js';

/** IVR phone menus: versioned flows, and the Twilio voice webhooks that walk callers through them. */
export const ivrModule: Module = {
  name: 'ivr',
  routes(app, deps) {
    registerIvrRoutes(app);
    registerVoiceWebhooks(app, deps);
  },
};
