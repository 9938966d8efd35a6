import type { FastifyRequest } from 'fastify';
import { AppError } from '../../http/errors.js';
import type { ModuleDeps } from '../../http/types.js';
import type { OutboundCall } from './schemas.js';

/** Outbound calls go through the organization's Twilio transport (the twilio module). */
export async function placeOutboundCall(_req: FastifyRequest, _deps: ModuleDeps, _input: OutboundCall): Promise<never> {
  throw new AppError('unavailable', 'Outbound calls need the Twilio transport');
}
