import { createPrivateKey, type KeyObject } from 'node:crypto';
import { and, eq, isNotNull } from 'drizzle-orm';
import type { Config } from '../../config.js';
import { schema, type Tx } from '../../db/index.js';
import { AppError } from '../../http/errors.js';
import type { OutgoingMail } from '../email/mailer.js';
import { openPrivateKey } from './dkim.js';

/** Who a message may say it is from, and how it is signed. */
export interface SendingIdentity {
  from: string;
  /** The domain of the Message-ID: the verified sender domain, else the platform's. */
  messageIdDomain: string;
  /** The key parsed once per identity: parsing the PEM cost as much as the RSA signature itself, per message. */
  dkim?: { domainName: string; keySelector: string; privateKey: KeyObject };
}

const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1).toLowerCase();
export const platformDomain = (config: Config) => domainOf(config.email.bounceAddress);

/**
 * The identity an organization may send as from this address, or null when it may not: an
 * address on one of its verified domains (DKIM-signed with that domain's key), one of its
 * verified single addresses, or — only while mail goes to the local outbox — the default sender.
 * A null From means the default sender.
 */
export async function senderIdentity(tx: Tx, organizationId: string, fromEmail: string | null, config: Config): Promise<SendingIdentity | null> {
  const from = (fromEmail ?? config.email.from).trim().toLowerCase();
  const domain = domainOf(from);
  const [d] = await tx
    .select()
    .from(schema.senderDomains)
    .where(and(eq(schema.senderDomains.organizationId, organizationId), eq(schema.senderDomains.domain, domain), isNotNull(schema.senderDomains.verifiedAt)));
  if (d) {
    const privateKey = createPrivateKey(openPrivateKey(d.dkimPrivateKeyEnc, config.secrets.encryptionKey, organizationId, d.id));
    return { from, messageIdDomain: domain, dkim: { domainName: domain, keySelector: d.dkimSelector, privateKey } };
  }
  const [a] = await tx
    .select({ id: schema.senderAddresses.id })
    .from(schema.senderAddresses)
    .where(and(eq(schema.senderAddresses.organizationId, organizationId), eq(schema.senderAddresses.email, from), isNotNull(schema.senderAddresses.verifiedAt)));
  if (a) return { from, messageIdDomain: platformDomain(config) };
  if (!config.email.smtpUrl && from === config.email.from.toLowerCase()) return { from, messageIdDomain: platformDomain(config) };
  return null;
}

/** The identity, or a 400 `sender_unverified` naming the address. */
export async function requireSender(tx: Tx, organizationId: string, fromEmail: string | null, config: Config): Promise<SendingIdentity> {
  const identity = await senderIdentity(tx, organizationId, fromEmail, config);
  if (!identity) {
    const from = fromEmail ?? config.email.from;
    throw new AppError('sender_unverified', `${from} is not a verified sender of this organization: verify its domain or the address (/api/senders)`, [
      { in: 'body', path: 'fromEmail', message: 'Not a verified sender' },
    ]);
  }
  return identity;
}

/** The message as it leaves: Message-ID on the identity's domain, DKIM-signed when the domain has a key. */
export function withIdentity(mail: OutgoingMail, identity: SendingIdentity): OutgoingMail {
  return { ...mail, messageIdHeader: `<${mail.id}@${identity.messageIdDomain}>`, ...(identity.dkim && { dkim: identity.dkim }) };
}
