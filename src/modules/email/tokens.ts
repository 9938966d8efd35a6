import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { bytesToUuid, uuidToBytes } from '../../lib/uuid.js';

/**
 * Tracking and unsubscribe tokens: the organization, message, link index and issue time, encrypted
 * (AES-256-CTR, random IV) so a token reveals no ids, then signed (HMAC-SHA-256, truncated to
 * 128 bits) so it cannot be forged or altered. Both keys are derived from the configured
 * encryption secret with HKDF, each for this one purpose.
 */
export type TokenKind = 'open' | 'click' | 'unsubscribe';
const KIND_BYTE: Record<TokenKind, number> = { open: 1, click: 2, unsubscribe: 3 };
const KIND_OF = new Map(Object.entries(KIND_BYTE).map(([k, v]) => [v, k as TokenKind]));

export interface TokenClaims {
  kind: TokenKind;
  organizationId: string;
  messageId: string;
  /** Index into the campaign's tracked links (click tokens). */
  link: number;
}

export interface VerifiedClaims extends TokenClaims {
  /** When the token was made (seconds since the epoch); 0 for tokens made before tokens carried a time. */
  issuedAt: number;
}

const IV = 16;
const MAC = 16;
/** kind, organization, message, link, issued-at (seconds). */
const BODY = 1 + 16 + 16 + 2 + 4;
/** Tokens mailed before tokens carried a time: still readable, with issuedAt 0 (so any lifetime has passed). */
const LEGACY_BODY = 1 + 16 + 16 + 2;

// IVs come from the CSPRNG in blocks: one randomBytes call per 256 tokens instead of one per token
// (four tokens a message made the per-call overhead a visible part of a campaign send).
let ivPool = Buffer.alloc(0);
let ivOffset = 0;
function nextIv(): Buffer {
  if (ivOffset + IV > ivPool.length) {
    ivPool = randomBytes(IV * 256);
    ivOffset = 0;
  }
  ivOffset += IV;
  return ivPool.subarray(ivOffset - IV, ivOffset);
}

export class TokenSigner {
  private readonly encKey: Buffer;
  private readonly macKey: Buffer;

  constructor(secret: string) {
    const ikm = Buffer.from(secret, 'utf8');
    this.encKey = Buffer.from(hkdfSync('sha256', ikm, 'switchboard', 'email-token-encryption-v1', 32));
    this.macKey = Buffer.from(hkdfSync('sha256', ikm, 'switchboard', 'email-token-mac-v1', 32));
  }

  sign(c: TokenClaims, issuedAt = Math.floor(Date.now() / 1000)): string {
    const body = Buffer.alloc(BODY);
    body[0] = KIND_BYTE[c.kind];
    uuidToBytes(c.organizationId).copy(body, 1);
    uuidToBytes(c.messageId).copy(body, 17);
    body.writeUInt16BE(c.link, 33);
    body.writeUInt32BE(issuedAt, 35);
    const iv = nextIv();
    const cipher = createCipheriv('aes-256-ctr', this.encKey, iv);
    const ct = Buffer.concat([cipher.update(body), cipher.final()]);
    const mac = createHmac('sha256', this.macKey).update(iv).update(ct).digest().subarray(0, MAC);
    return Buffer.concat([iv, ct, mac]).toString('base64url');
  }

  /**
   * The claims of a genuine token of the expected kind, or null for anything else. With
   * `maxAgeSeconds`, a token older than that (or one without a time) is null too.
   */
  verify(token: string, kind: TokenKind, maxAgeSeconds?: number): VerifiedClaims | null {
    if (typeof token !== 'string' || token.length > 200 || !/^[A-Za-z0-9_-]+$/.test(token)) return null;
    const raw = Buffer.from(token, 'base64url');
    const bodyLength = raw.length - IV - MAC;
    // Only the canonical encoding: base64url's spare bits in the last character must not make a second spelling valid.
    if ((bodyLength !== BODY && bodyLength !== LEGACY_BODY) || raw.toString('base64url') !== token) return null;
    const iv = raw.subarray(0, IV);
    const ct = raw.subarray(IV, IV + bodyLength);
    const mac = raw.subarray(IV + bodyLength);
    const expected = createHmac('sha256', this.macKey).update(iv).update(ct).digest().subarray(0, MAC);
    if (!timingSafeEqual(mac, expected)) return null;
    const decipher = createDecipheriv('aes-256-ctr', this.encKey, iv);
    const body = Buffer.concat([decipher.update(ct), decipher.final()]);
    if (KIND_OF.get(body[0]) !== kind) return null;
    const issuedAt = bodyLength === BODY ? body.readUInt32BE(35) : 0;
    if (maxAgeSeconds !== undefined && Date.now() / 1000 - issuedAt > maxAgeSeconds) return null;
    return { kind, organizationId: bytesToUuid(body.subarray(1, 17)), messageId: bytesToUuid(body.subarray(17, 33)), link: body.readUInt16BE(33), issuedAt };
  }
}
