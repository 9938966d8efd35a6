import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { queryOne } from '../../db/sql.js';
import { AppError, sqlStateOf } from '../../http/errors.js';
import { openSecret, sealSecret } from '../../lib/secret-box.js';

/**
 * An organization's connection to a provider (Twilio, Shopify…): one `integrations` row per
 * organization and provider, the provider's id of the account in `external_id` (unique across the
 * platform where the provider's webhooks name only that id), its details in `config`, and its
 * secret sealed in `credentials_encrypted`. Each provider module keeps its own checks, shapes and
 * audit entries; the row's life — save, read, forget, open the secret — is written once, here.
 */
export interface IntegrationKind {
  provider: string;
  /** Names the secret in its sealing context (e.g. "twilio-auth-token"). */
  secretLabel: string;
}

export interface IntegrationRow {
  id: string;
  externalId: string | null;
  config: Record<string, unknown>;
  status: string;
  /** When it was last connected (ISO, UTC). */
  connectedAt: string;
}

const COLUMNS = sql`id, external_id as "externalId", config, status,
  to_char(updated_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') as "connectedAt"`;

/** A secret is sealed to its row: provider, organization and external id (a ciphertext copied elsewhere does not open). */
const secretContext = (kind: IntegrationKind, organizationId: string, externalId: string) => `${kind.secretLabel}:${organizationId}:${externalId}`;

export const sealIntegrationSecret = (kind: IntegrationKind, encryptionKey: string, organizationId: string, externalId: string, secret: string) =>
  sealSecret(secret, encryptionKey, secretContext(kind, organizationId, externalId));

export const openIntegrationSecret = (kind: IntegrationKind, encryptionKey: string, organizationId: string, externalId: string, sealed: string) =>
  openSecret(sealed, encryptionKey, secretContext(kind, organizationId, externalId));

export function readIntegration(tx: Tx, organizationId: string, kind: IntegrationKind) {
  return queryOne<IntegrationRow>(tx, sql`select ${COLUMNS} from integrations where organization_id = ${organizationId} and provider = ${kind.provider}`);
}

/**
 * Connects (or reconnects: one row per organization and provider, replaced) with the secret sealed.
 * The external id held by another organization is a 409 with `conflictMessage`, naming nobody.
 */
export async function saveIntegration(
  tx: Tx,
  organizationId: string,
  kind: IntegrationKind,
  input: { externalId: string; config: Record<string, unknown>; secret: string; encryptionKey: string; conflictMessage: string },
): Promise<IntegrationRow> {
  const sealed = sealIntegrationSecret(kind, input.encryptionKey, organizationId, input.externalId, input.secret);
  try {
    return (await queryOne<IntegrationRow>(
      tx,
      sql`insert into integrations (organization_id, provider, external_id, config, credentials_encrypted, status)
        values (${organizationId}, ${kind.provider}, ${input.externalId}, ${JSON.stringify(input.config)}::jsonb, ${sealed}, 'connected')
        on conflict (organization_id, provider) do update set external_id = excluded.external_id, config = excluded.config,
          credentials_encrypted = excluded.credentials_encrypted, status = 'connected', updated_at = now()
        returning ${COLUMNS}`,
    ))!;
  } catch (err) {
    if (sqlStateOf(err) === '23505') throw new AppError('conflict', input.conflictMessage);
    throw err;
  }
}

/** Forgets the connection and its secret; the deleted row, or undefined when there was none. */
export function deleteIntegration(tx: Tx, organizationId: string, kind: IntegrationKind) {
  return queryOne<IntegrationRow>(tx, sql`delete from integrations where organization_id = ${organizationId} and provider = ${kind.provider} returning ${COLUMNS}`);
}

/** The connected account's external id and its secret, opened; null when not connected (or the secret was wiped). */
export async function connectedSecret(tx: Tx, organizationId: string, kind: IntegrationKind, encryptionKey: string) {
  const row = await queryOne<{ external_id: string; sealed: string }>(
    tx,
    sql`select external_id, credentials_encrypted as sealed from integrations
      where organization_id = ${organizationId} and provider = ${kind.provider} and status = 'connected'
        and external_id is not null and credentials_encrypted is not null`,
  );
  if (!row) return null;
  return { externalId: row.external_id, secret: openIntegrationSecret(kind, encryptionKey, organizationId, row.external_id, row.sealed) };
}
