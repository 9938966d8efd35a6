import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * Secrets at rest (DKIM private keys, provider credentials): AES-256-GCM under ENCRYPTION_KEY,
 * `v1.<iv>.<tag>.<ciphertext>` in base64url. `context` is authenticated but not stored: bind it
 * to the row (organization and id), so a ciphertext copied onto another row does not open.
 */
const keyOf = (hexKey: string) => {
  const key = Buffer.from(hexKey, 'hex');
  if (key.length !== 32) throw new Error('encryption key must be 32 bytes (64 hex characters)');
  return key;
};

export function sealSecret(plaintext: string, hexKey: string, context: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(hexKey), iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return ['v1', iv, cipher.getAuthTag(), ct].map((p) => (typeof p === 'string' ? p : p.toString('base64url'))).join('.');
}

/** The plaintext; throws when the ciphertext, key or context does not match. */
export function openSecret(sealed: string, hexKey: string, context: string): string {
  const [version, iv, tag, ct] = sealed.split('.');
  if (version !== 'v1' || !iv || !tag || ct === undefined) throw new Error('not a sealed secret');
  const decipher = createDecipheriv('aes-256-gcm', keyOf(hexKey), Buffer.from(iv, 'base64url'));
  decipher.setAAD(Buffer.from(context, 'utf8'));
  decipher.setAuthTag(Buffer.from(tag, 'base64url'));
  return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8');
}
