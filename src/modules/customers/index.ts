import type { Module } from '../module.js';
import { registerCustomerRoutes } from './routes.js';

/** Customers and their consent, CSV import. */
export const customersModule: Module = { name: 'customers', routes: registerCustomerRoutes };
