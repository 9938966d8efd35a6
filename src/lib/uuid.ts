// UUIDs in their three spellings: text (8-4-4-4-12 hex), 16 raw bytes, and those bytes as base64url
// (22 characters) as credentials and tokens carry an organization or user id.

/** A UUID's text form, any version, either case. */
export const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: unknown): value is string => typeof value === 'string' && UUID_RE.test(value);

export const uuidToBytes = (id: string) => Buffer.from(id.replace(/-/g, ''), 'hex');
export function bytesToUuid(bytes: Buffer): string {
  const h = bytes.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export const uuidToB64 = (id: string) => uuidToBytes(id).toString('base64url');
/** The UUID of 22 base64url characters, or null when they do not hold exactly 16 bytes. */
export function b64ToUuid(s: string): string | null {
  const bytes = Buffer.from(s, 'base64url');
  return bytes.length === 16 ? bytesToUuid(bytes) : null;
}
