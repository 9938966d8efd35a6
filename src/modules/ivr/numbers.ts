import type { Tx } from '../../db/index.js';

/**
 * The organization's phone numbers bound to each of these flows. Numbers (phone_numbers, the twilio
 * module) hold the binding; until that table is merged no number can be bound, so every flow has none.
 */
export async function boundNumbers(_tx: Tx, _organizationId: string, _flowIds: string[]): Promise<Map<string, { id: string; number: string }[]>> {
  return new Map();
}
