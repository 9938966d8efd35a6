import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { hasZodFastifySchemaValidationErrors, isResponseSerializationError } from 'fastify-type-provider-zod';

/** Machine codes and their HTTP status: the one error model of the API (see docs/api.md). */
export const ERROR_CODES = {
  validation_failed: 400,
  bad_request: 400,
  /** The From address is not a verified sender identity of the organization. */
  sender_unverified: 400,
  /** A test send to an address that is not a verified member's, or that is suppressed. */
  recipient_not_allowed: 400,
  unauthorized: 401,
  no_organization: 403,
  forbidden: 403,
  /** The session's sign-in is too old for this change: sign in again (src/modules/auth/principal.ts). */
  reauthentication_required: 403,
  /** The organization's plan does not allow this (details: limit, allowed, usage, adding, plan): src/modules/billing/limits.ts. */
  plan_limit: 402,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  /** A template over its render budget (time, output or memory): the request was understood, its content is refused. */
  template_too_expensive: 422,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  /** Stripe checkout or portal asked for on a server without Stripe (STRIPE_SECRET_KEY) or without the plan's price. */
  billing_not_configured: 503,
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

const DEFAULT_MESSAGES: Partial<Record<ErrorCode, string>> = {
  unauthorized: 'Unauthorized',
  no_organization: 'Forbidden - No organization',
  forbidden: 'Forbidden',
  not_found: 'Not found',
  payload_too_large: 'Request body too large',
  rate_limited: 'Too many requests',
  internal: 'Internal server error',
};

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message?: string,
    readonly details?: unknown,
  ) {
    super(message ?? DEFAULT_MESSAGES[code] ?? code);
    this.status = ERROR_CODES[code];
  }
}

export const notFound = () => new AppError('not_found');

/**
 * Explains a keyed write that matched nothing. The write refused atomically (its WHERE names the
 * organization, the id and the states it accepts); this only tells the two reasons apart from a read
 * of the row: not this organization's (or no such row) → 404; there, in a state that refuses the
 * change → 409 with `message(row)`. The read never decides a write.
 */
export async function conflictOr404<R>(row: Promise<R | undefined> | R | undefined, message: (row: R) => string): Promise<never> {
  const found = await row;
  if (found === undefined || found === null) throw notFound();
  throw new AppError('conflict', message(found));
}

export interface ErrorBody {
  error: string;
  code: string;
  details?: unknown;
  requestId?: string;
}

/** The PostgreSQL SQLSTATE of an error or of one of its causes (drivers wrap them). */
export function sqlStateOf(err: unknown): string | undefined {
  let e: any = err;
  for (let i = 0; e && i < 4; i++, e = e.cause) {
    if (typeof e.code === 'string' && /^[0-9A-Z]{5}$/.test(e.code)) return e.code;
  }
  return undefined;
}

/** Maps any thrown error to the contract's error shape; unknown errors become a 500 that leaks nothing. */
export function toErrorResponse(err: unknown, req: FastifyRequest): { status: number; body: ErrorBody; headers?: Record<string, string> } {
  if (err instanceof AppError) {
    return { status: err.status, body: { error: err.message, code: err.code, ...(err.details !== undefined && { details: err.details }) } };
  }
  if (hasZodFastifySchemaValidationErrors(err)) {
    // A malformed id in the path is a resource that does not exist, not a client error worth detailing.
    if ((err as FastifyError).validationContext === 'params') return { status: 404, body: { error: 'Not found', code: 'not_found' } };
    const details = err.validation.map((v) => ({
      in: (err as FastifyError).validationContext,
      path: v.instancePath.replace(/^\//, '').split('/').filter(Boolean).join('.'),
      message: v.message,
    }));
    return { status: 400, body: { error: 'Validation failed', code: 'validation_failed', details } };
  }
  if (isResponseSerializationError(err)) {
    req.log.error({ err }, 'response did not match its schema');
    return { status: 500, body: { error: 'Internal server error', code: 'internal', requestId: req.id } };
  }
  const fe = err as FastifyError;
  switch (fe?.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return { status: 413, body: { error: 'Request body too large', code: 'payload_too_large' } };
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return { status: 415, body: { error: 'Unsupported content type', code: 'unsupported_media_type' } };
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return { status: 400, body: { error: fe.message, code: 'bad_request' } };
  }
  if (fe?.statusCode === 429) {
    return { status: 429, body: { error: 'Too many requests', code: 'rate_limited' } };
  }
  if (fe instanceof SyntaxError || (fe?.statusCode === 400 && typeof fe.code === 'string' && fe.code.startsWith('FST_'))) {
    return { status: 400, body: { error: 'Malformed request', code: 'bad_request' } };
  }
  if (fe?.statusCode === 413) return { status: 413, body: { error: 'Request body too large', code: 'payload_too_large' } };
  if (fe?.statusCode === 415) return { status: 415, body: { error: 'Unsupported content type', code: 'unsupported_media_type' } };
  const sqlState = sqlStateOf(err);
  // Class 22 is "data exception": a value the database cannot store (a NUL character, a number out of range...) — bad input.
  if (sqlState?.startsWith('22')) return { status: 400, body: { error: 'Invalid value', code: 'bad_request' } };
  switch (sqlState) {
    case '23505':
      return { status: 409, body: { error: 'A conflicting resource already exists', code: 'conflict' } };
    case '23503':
      return { status: 404, body: { error: 'Not found', code: 'not_found' } };
    case '23514':
      return { status: 400, body: { error: 'Invalid value', code: 'bad_request' } };
  }
  req.log.error({ err }, 'unhandled error');
  return { status: 500, body: { error: 'Internal server error', code: 'internal', requestId: req.id } };
}

export function sendError(reply: FastifyReply, err: unknown) {
  const { status, body, headers } = toErrorResponse(err, reply.request);
  if (headers) reply.headers(headers);
  return reply.code(status).type('application/json').send(body);
}
