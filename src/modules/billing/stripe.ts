import Stripe from 'stripe';
import type { Config } from '../../config.js';
import { AppError } from '../../http/errors.js';

/**
 * The Stripe SDK for the platform's account (STRIPE_SECRET_KEY); STRIPE_API_BASE_URL points every
 * request at another host (a local stand-in speaking Stripe's wire format) through the SDK's own
 * host/port/protocol options. Without a key: 503 billing_not_configured.
 */
export function requireStripe(config: Config): Stripe {
  const { secretKey, apiBaseUrl } = config.billing.stripe;
  if (!secretKey) {
    throw new AppError('billing_not_configured', 'Stripe is not configured on this server (STRIPE_SECRET_KEY): an operator sets plans with `npm run cli -- plan set`');
  }
  const base = apiBaseUrl ? new URL(apiBaseUrl) : null;
  return new Stripe(secretKey, {
    maxNetworkRetries: 1,
    timeout: 15_000,
    telemetry: false,
    ...(base && {
      host: base.hostname,
      port: Number(base.port) || (base.protocol === 'https:' ? 443 : 80),
      protocol: base.protocol === 'http:' ? 'http' : 'https',
    }),
  });
}

/** Stripe's refusal in words: its own 4xx (an unknown price, a deleted customer) is a 400, anything else a 503. */
export function stripeFailure(err: unknown): AppError {
  if (err instanceof Stripe.errors.StripeInvalidRequestError) return new AppError('bad_request', `Stripe refused the request: ${err.message}`);
  if (err instanceof Stripe.errors.StripeError) return new AppError('unavailable', `Stripe did not answer as expected: ${err.message}`);
  return err instanceof AppError ? err : new AppError('unavailable', 'Stripe could not be reached');
}

/** Verifies Stripe-Signature over the raw body (timestamp tolerance 5 minutes) and returns the event. */
export function verifyStripeEvent(raw: Buffer, signature: string, secret: string): Stripe.Event {
  return Stripe.webhooks.constructEvent(raw, signature, secret);
}

export type { Stripe };
