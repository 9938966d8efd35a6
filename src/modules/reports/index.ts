import type { Module } from '../module.js';
import { deliveryHandler } from './deliver.js';
import { registerReportRoutes } from './routes.js';
import { REPORT_DELIVERY_QUEUE } from './service.js';

/**
 * Saved reports: campaign performance, customer growth and messages by channel over a date range, as JSON
 * rows or CSV; a scheduled report is mailed (CSV attached) to members every day or week by a durable job.
 */
export const reportsModule: Module = {
  name: 'reports',
  routes: registerReportRoutes,
  jobs({ db, config }) {
    return { handlers: { [REPORT_DELIVERY_QUEUE]: deliveryHandler(db, config) } };
  },
};
