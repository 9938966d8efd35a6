import { eq, sql } from 'drizzle-orm';
import { toE164 } from '../../lib/phone.js';
import { schema, type Tx } from '../../db/index.js';
import type { TenantContext } from '../../http/access.js';
import { AppError } from '../../http/errors.js';
import { recordAudit } from '../audit/service.js';
import type { QuietHours } from './quiet-hours.js';
import type { SmsSettingsPut } from './schemas.js';

const { smsSettings } = schema;
type Row = typeof smsSettings.$inferSelect;

export interface SmsSettings {
  helpText: string | null;
  quietHours: QuietHours;
  defaultFromNumber: string | null;
  updatedAt: Date | null;
}

const DEFAULTS: SmsSettings = { helpText: null, quietHours: { start: null, end: null, timezone: 'UTC' }, defaultFromNumber: null, updatedAt: null };

const fromRow = (r: Row | undefined): SmsSettings =>
  r
    ? { helpText: r.helpText, quietHours: { start: r.quietHoursStart, end: r.quietHoursEnd, timezone: r.timezone }, defaultFromNumber: r.defaultFromNumber, updatedAt: r.updatedAt }
    : DEFAULTS;

export const toSmsSettingsDto = (s: SmsSettings) => ({
  helpText: s.helpText,
  quietHours: s.quietHours.start && s.quietHours.end ? { start: s.quietHours.start, end: s.quietHours.end } : null,
  timezone: s.quietHours.timezone,
  defaultFromNumber: s.defaultFromNumber,
  updatedAt: s.updatedAt?.toISOString() ?? null,
});

/** The organization's SMS settings (defaults when it never saved any). */
export async function loadSmsSettings(tx: Tx, organizationId: string): Promise<SmsSettings> {
  const [row] = await tx.select().from(smsSettings).where(eq(smsSettings.organizationId, organizationId));
  return fromRow(row);
}

export async function getSmsSettings(tx: Tx, ctx: TenantContext) {
  return toSmsSettingsDto(await loadSmsSettings(tx, ctx.organizationId));
}

/** PUT: the whole settings document; omitted fields go back to their defaults. */
export async function putSmsSettings(tx: Tx, ctx: TenantContext, input: SmsSettingsPut) {
  let from: string | null = null;
  if (input.defaultFromNumber) {
    from = toE164(input.defaultFromNumber);
    if (!from) throw new AppError('validation_failed', 'Validation failed', [{ in: 'body', path: 'defaultFromNumber', message: 'Not a valid E.164 phone number' }]);
  }
  const values = {
    helpText: input.helpText ?? null,
    quietHoursStart: input.quietHours?.start ?? null,
    quietHoursEnd: input.quietHours?.end ?? null,
    timezone: input.timezone ?? 'UTC',
    defaultFromNumber: from,
  };
  const [row] = await tx
    .insert(smsSettings)
    .values({ organizationId: ctx.organizationId, ...values })
    .onConflictDoUpdate({ target: smsSettings.organizationId, set: { ...values, updatedAt: sql`now()` } })
    .returning();
  const dto = toSmsSettingsDto(fromRow(row));
  await recordAudit(tx, ctx, { action: 'sms_settings.updated', resourceType: 'sms_settings', resourceId: null, changes: { ...dto, updatedAt: undefined } });
  return dto;
}
