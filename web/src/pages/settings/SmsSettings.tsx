import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, detailsByPath, unwrap } from '../../api/client';
import { Button, ErrorMessage, Field, formatDate, isAdmin, PageHeader, QueryState } from '../../components/ui';
import { useSession } from '../../lib/session';

type Settings = Awaited<ReturnType<typeof load>>;
const load = () => unwrap(api.GET('/api/sms/settings'));

/** SMS settings: the HELP reply, quiet hours in the organization's timezone, the default sender number. */
export default function SmsSettings() {
  const settings = useQuery({ queryKey: ['sms-settings'], queryFn: load });
  return (
    <>
      <PageHeader title="SMS settings" />
      {settings.data ? <SettingsForm settings={settings.data} /> : <QueryState query={settings} />}
    </>
  );
}

function SettingsForm({ settings }: { settings: Settings }) {
  const qc = useQueryClient();
  const admin = isAdmin(useSession().data?.role);
  const numbers = useQuery({ queryKey: ['phone-numbers', 'all'], queryFn: () => unwrap(api.GET('/api/phone-numbers', { params: { query: { limit: 200 } } })) });
  const [quiet, setQuiet] = useState(Boolean(settings.quietHours));
  const save = useMutation({
    mutationFn: (body: { helpText: string | null; quietHours: { start: string; end: string } | null; timezone: string; defaultFromNumber: string | null }) => unwrap(api.PUT('/api/sms/settings', { body })),
    onSuccess: (s) => qc.setQueryData(['sms-settings'], s),
  });
  const errors = detailsByPath(save.error);
  const zones = typeof Intl.supportedValuesOf === 'function' ? Intl.supportedValuesOf('timeZone') : [];
  return (
    <form
      className="card stack narrow-lg"
      aria-label="SMS settings"
      onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const help = String(f.get('helpText')).trim();
        save.mutate({
          helpText: help || null,
          quietHours: quiet ? { start: String(f.get('start')), end: String(f.get('end')) } : null,
          timezone: String(f.get('timezone')),
          defaultFromNumber: String(f.get('defaultFromNumber')) || null,
        });
      }}
    >
      <fieldset className="plain stack" disabled={!admin}>
        <Field label="Reply to HELP" hint="Sent when a customer texts HELP or INFO. Empty: “<organization>: reply STOP to opt out.”" error={errors.helpText}>
          {(p) => <textarea {...p} name="helpText" rows={2} maxLength={320} defaultValue={settings.helpText ?? ''} />}
        </Field>
        <div className="stack-sm">
          <label className="row"><input type="checkbox" checked={quiet} onChange={(e) => setQuiet(e.target.checked)} /> Quiet hours: hold campaign messages overnight</label>
          {quiet && (
            <div className="form-grid">
              <Field label="From" error={errors['quietHours.start']}>{(p) => <input {...p} type="time" name="start" required defaultValue={settings.quietHours?.start ?? '21:00'} />}</Field>
              <Field label="Until" error={errors['quietHours.end'] ?? errors.quietHours}>{(p) => <input {...p} type="time" name="end" required defaultValue={settings.quietHours?.end ?? '08:00'} />}</Field>
            </div>
          )}
          <p className="hint">Messages due in quiet hours wait until they end; the window may cross midnight.</p>
        </div>
        <Field label="Timezone" hint="Quiet hours are read in this timezone." error={errors.timezone}>
          {(p) => (
            <select {...p} name="timezone" defaultValue={settings.timezone}>
              {!zones.includes(settings.timezone) && <option value={settings.timezone}>{settings.timezone}</option>}
              {zones.map((z) => <option key={z} value={z}>{z}</option>)}
            </select>
          )}
        </Field>
        <Field label="Send campaigns from" error={errors.defaultFromNumber}>
          {(p) => (
            <select {...p} name="defaultFromNumber" defaultValue={settings.defaultFromNumber ?? ''}>
              <option value="">The first SMS-enabled number</option>
              {settings.defaultFromNumber && !numbers.data?.data.some((n) => n.number === settings.defaultFromNumber) && <option value={settings.defaultFromNumber}>{settings.defaultFromNumber}</option>}
              {numbers.data?.data.filter((n) => n.smsEnabled).map((n) => <option key={n.id} value={n.number}>{n.number}{n.friendlyName ? ` · ${n.friendlyName}` : ''}</option>)}
            </select>
          )}
        </Field>
      </fieldset>
      <ErrorMessage error={save.error ?? numbers.error} />
      {save.isSuccess && <p className="success" role="status">Saved.</p>}
      {admin ? (
        <div className="row"><Button type="submit" busy={save.isPending}>Save settings</Button>{settings.updatedAt && <span className="muted small">Last changed {formatDate(settings.updatedAt)}</span>}</div>
      ) : (
        <p className="muted">Only owners and admins can change these settings.</p>
      )}
    </form>
  );
}
