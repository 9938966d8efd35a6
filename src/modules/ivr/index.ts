import type { Module } from '../module.js';
import { registerIvrRoutes } from './routes.js';

export const ivrModule: Module = {
  name: 'ivr',
  routes: (app) => registerIvrRoutes(app),
};
