import type { FastifyBaseLogger, FastifyRequest, RawRequestDefaultExpression } from 'fastify';
import { randomUUID } from 'node:crypto';

// Request logging: our own request ids, and no credential-bearing URL in the logs.

const CLIENT_REQUEST_ID = /^[\w.-]{1,64}$/;

/** Every request id is ours: a client's X-Request-Id could otherwise collide with, or impersonate, another request's in logs and audit entries. */
export const genReqId = () => randomUUID();

/** A well-formed client-supplied X-Request-Id, kept only as the separate log field `clientRequestId`. */
export function clientRequestId(raw: RawRequestDefaultExpression): string | undefined {
  const given = raw.headers['x-request-id'];
  return typeof given === 'string' && CLIENT_REQUEST_ID.test(given) ? given : undefined;
}

export function childLoggerFactory(logger: FastifyBaseLogger, bindings: Record<string, unknown>, opts: object, raw: RawRequestDefaultExpression) {
  const given = clientRequestId(raw);
  return logger.child(given ? { ...bindings, clientRequestId: given } : bindings, opts);
}

const REDACTED = '[redacted]';
/** Route parameters and query keys whose values are credentials: signed tracking, unsubscribe, invitation, verification and reset tokens, OAuth codes and states. */
const SECRET_NAME = /token|secret|password|signature|^code$|^key$|^state$/i;
/** On a path that matched no route, a segment this long is treated as a token (a UUID is 36 characters). */
const LONG_SEGMENT = 40;

/**
 * The request URL as logged: a path segment that a route declares as a token parameter (`:token`,
 * `:inviteToken`, …) and the value of a secret-looking query key are replaced by [redacted]. A path
 * that matched no route keeps only its short segments, so a mistyped token link leaks nothing either.
 */
export function redactUrl(url: string, routePattern?: string): string {
  const q = url.indexOf('?');
  const path = q === -1 ? url : url.slice(0, q);
  const segments = path.split('/');
  const pattern = routePattern?.split('/');
  const redacted = segments.map((segment, i) => {
    const declared = pattern?.length === segments.length ? pattern[i] : undefined;
    if (declared?.startsWith(':')) return SECRET_NAME.test(declared.slice(1)) ? REDACTED : segment;
    if (declared !== undefined) return segment;
    return segment.length >= LONG_SEGMENT ? REDACTED : segment;
  });
  let query = '';
  if (q !== -1) {
    const params = new URLSearchParams(url.slice(q + 1));
    for (const key of new Set(params.keys())) if (SECRET_NAME.test(key)) params.set(key, REDACTED);
    query = `?${params.toString()}`;
  }
  return redacted.join('/') + query;
}

/** pino serializers replacing Fastify's request serializer (same fields, URL redacted). */
export const serializers = {
  req(req: FastifyRequest) {
    return {
      method: req.method,
      url: redactUrl(req.url, req.routeOptions?.url),
      host: req.host,
      remoteAddress: req.ip,
      remotePort: req.socket?.remotePort,
    };
  },
};
