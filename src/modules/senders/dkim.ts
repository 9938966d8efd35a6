import { generateKeyPair, randomBytes, randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { openSecret, sealSecret } from '../../lib/secret-box.js';

const generate = promisify(generateKeyPair);

/** The AES-GCM context of a domain's private key: it opens on its own row only. */
export const keyContext = (organizationId: string, domainId: string) => `sender_domain:${organizationId}:${domainId}`;

/**
 * A new sender domain's id, ownership token and DKIM key pair (RSA 2048, made off the event loop
 * by libuv's thread pool), the private key already sealed under the encryption key.
 */
export async function newDomainKeys(organizationId: string, encryptionKey: string) {
  const id = randomUUID();
  const { publicKey, privateKey } = await generate('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'der' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return {
    id,
    verificationToken: randomBytes(24).toString('base64url'),
    dkimSelector: `sb${randomBytes(4).toString('hex')}`,
    dkimPublicKey: (publicKey as Buffer).toString('base64'),
    dkimPrivateKeyEnc: sealSecret(privateKey as string, encryptionKey, keyContext(organizationId, id)),
  };
}
export type DomainKeys = Awaited<ReturnType<typeof newDomainKeys>>;

export const openPrivateKey = (sealed: string, encryptionKey: string, organizationId: string, domainId: string) =>
  openSecret(sealed, encryptionKey, keyContext(organizationId, domainId));

export const verificationRecord = (domain: string, token: string) => ({ name: `_switchboard.${domain}`, value: `switchboard-verification=${token}` });
export const dkimRecord = (domain: string, selector: string, publicKey: string) => ({ name: `${selector}._domainkey.${domain}`, value: `v=DKIM1; k=rsa; p=${publicKey}` });
