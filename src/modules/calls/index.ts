import type { Module } from '../module.js';
import { registerCallRoutes } from './routes.js';

export const callsModule: Module = {
  name: 'calls',
  routes: (app, deps) => registerCallRoutes(app, deps),
};
