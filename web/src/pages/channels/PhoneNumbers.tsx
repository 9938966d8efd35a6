import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState } from 'react';
import { Link } from 'react-router';
import { api, detailsByPath, unwrap } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Button, ConfirmDialog, Empty, ErrorMessage, Field, formatDate, isAdmin, Loading, PageHeader } from '../../components/ui';
import { useSession } from '../../lib/session';

type PhoneNumber = Awaited<ReturnType<typeof listNumbers>>['data'][number];
const listNumbers = (cursor?: string) => unwrap(api.GET('/api/phone-numbers', { params: { query: { cursor, limit: 50 } } }));

/** The organization's phone numbers: what they do (SMS, voice) and which IVR flow answers their calls. */
export default function PhoneNumbers() {
  const qc = useQueryClient();
  const session = useSession();
  const admin = isAdmin(session.data?.role);
  const c = useCursor();
  const list = useQuery({ queryKey: ['phone-numbers', c.cursor], queryFn: () => listNumbers(c.cursor), placeholderData: keepPreviousData });
  const flows = useQuery({ queryKey: ['ivr-flows', 'all'], queryFn: () => unwrap(api.GET('/api/ivr/flows', { params: { query: { limit: 200 } } })) });
  const twilio = useQuery({ queryKey: ['twilio'], queryFn: () => unwrap(api.GET('/api/integrations/twilio')) });
  const flowName = (id: string | null) => (id ? (flows.data?.data.find((f) => f.id === id)?.name ?? 'IVR flow') : null);
  const refresh = () => qc.invalidateQueries({ queryKey: ['phone-numbers'] });
  const add = useMutation({
    mutationFn: (body: { number: string; friendlyName?: string; smsEnabled: boolean; voiceEnabled: boolean }) => unwrap(api.POST('/api/phone-numbers', { body })),
    onSuccess: refresh,
  });
  const addErrors = detailsByPath(add.error);
  const [editing, setEditing] = useState<PhoneNumber | null>(null);
  const [removing, setRemoving] = useState<PhoneNumber | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/phone-numbers/{id}', { params: { path: { id } } })),
    onSuccess: async () => {
      setRemoving(null);
      await refresh();
    },
  });
  return (
    <>
      <PageHeader title="Phone numbers" />
      <p className="muted">
        Numbers customers text and call. SMS campaigns go out from an SMS-enabled number; calls to a voice number are answered by its IVR flow.
        {twilio.data && !twilio.data.connected && <> No Twilio account is connected: <Link to="/settings/twilio">connect one</Link> to use real numbers, or add any number to try things in the outbox.</>}
      </p>
      {admin && (
        <form
          className="card stack"
          aria-labelledby="add-number-h"
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const f = new FormData(form);
            const friendlyName = String(f.get('friendlyName')).trim();
            add.mutate(
              { number: String(f.get('number')).trim(), ...(friendlyName && { friendlyName }), smsEnabled: f.get('smsEnabled') === 'on', voiceEnabled: f.get('voiceEnabled') === 'on' },
              { onSuccess: () => form.reset() },
            );
          }}
        >
          <h2 id="add-number-h">Add a number</h2>
          <div className="form-grid">
            <div><Field label="Number" hint="In international format (E.164), e.g. +14155552671." error={addErrors.number}>{(p) => <input {...p} name="number" required inputMode="tel" placeholder="+14155552671" autoComplete="off" />}</Field></div>
            <div><Field label="Name (optional)" error={addErrors.friendlyName}>{(p) => <input {...p} name="friendlyName" maxLength={100} placeholder="Support line" />}</Field></div>
          </div>
          <fieldset className="plain">
            <legend className="sr-only">Capabilities</legend>
            <div className="checks-inline">
              <label><input type="checkbox" name="smsEnabled" defaultChecked /> SMS</label>
              <label><input type="checkbox" name="voiceEnabled" defaultChecked /> Voice</label>
              <Button type="submit" busy={add.isPending}>Add number</Button>
            </div>
          </fieldset>
          <ErrorMessage error={add.error} />
        </form>
      )}
      <ErrorMessage error={list.error} />
      {list.isPending && <Loading />}
      {list.data && list.data.data.length === 0 && (
        <div className="card"><Empty title="No phone numbers yet"><p>{admin ? 'Add the first one above.' : 'An owner or admin can add one.'}</p></Empty></div>
      )}
      {list.data && list.data.data.length > 0 && (
        <div className="card table-card">
          <table className="table">
            <caption className="sr-only">Phone numbers</caption>
            <thead><tr><th scope="col">Number</th><th scope="col">Uses</th><th scope="col">Answered by</th><th scope="col">Added</th>{admin && <th scope="col"><span className="sr-only">Actions</span></th>}</tr></thead>
            <tbody>
              {list.data.data.map((n) => (
                <tr key={n.id}>
                  <td><strong className="mono">{n.number}</strong>{n.friendlyName && <div className="muted small">{n.friendlyName}</div>}{n.twilioSid && <div className="muted small mono">{n.twilioSid}</div>}</td>
                  <td>{n.smsEnabled && <span className="tag">SMS</span>}{n.voiceEnabled && <span className="tag">Voice</span>}{!n.smsEnabled && !n.voiceEnabled && <span className="muted">Off</span>}</td>
                  <td>{n.ivrFlowId ? <Link to={`/ivr/${n.ivrFlowId}`}>{flowName(n.ivrFlowId)}</Link> : <span className="muted">{n.voiceEnabled ? 'No IVR flow' : '—'}</span>}</td>
                  <td className="nowrap">{formatDate(n.createdAt)}</td>
                  {admin && (
                    <td className="num nowrap">
                      <Button variant="ghost" onClick={() => setEditing(n)} aria-label={`Edit ${n.number}`}>Edit</Button>
                      <Button variant="ghost" onClick={() => setRemoving(n)} aria-label={`Remove ${n.number}`}>Remove</Button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
          <Pager cursor={c.cursor} nextCursor={list.data.nextCursor} onFirst={c.reset} onNext={c.setCursor} />
        </div>
      )}
      {editing && <EditNumber number={editing} flows={flows.data?.data ?? []} onDone={() => setEditing(null)} />}
      <ConfirmDialog open={removing !== null} title={`Remove ${removing?.number}?`} confirmLabel="Remove number" onConfirm={() => removing && remove.mutate(removing.id)} onCancel={() => { setRemoving(null); remove.reset(); }} busy={remove.isPending} error={remove.error}>
        <p>Campaigns can no longer go out from this number and its calls are no longer answered here. The number stays in your Twilio account.</p>
      </ConfirmDialog>
    </>
  );
}

function EditNumber({ number, flows, onDone }: { number: PhoneNumber; flows: { id: string; name: string; active: boolean }[]; onDone: () => void }) {
  const qc = useQueryClient();
  const form = useRef<HTMLFormElement>(null);
  const save = useMutation({
    mutationFn: (body: { friendlyName: string | null; smsEnabled: boolean; voiceEnabled: boolean; ivrFlowId: string | null }) =>
      unwrap(api.PATCH('/api/phone-numbers/{id}', { params: { path: { id: number.id } }, body })),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['phone-numbers'] });
      await qc.invalidateQueries({ queryKey: ['ivr-flows'] });
      onDone();
    },
  });
  const errors = detailsByPath(save.error);
  const submit = () => {
    const f = new FormData(form.current!);
    const name = String(f.get('friendlyName')).trim();
    save.mutate({ friendlyName: name || null, smsEnabled: f.get('smsEnabled') === 'on', voiceEnabled: f.get('voiceEnabled') === 'on', ivrFlowId: String(f.get('ivrFlowId')) || null });
  };
  return (
    <ConfirmDialog open title={`Edit ${number.number}`} confirmLabel="Save" tone="primary" onConfirm={submit} onCancel={onDone} busy={save.isPending} error={save.error}>
      <form ref={form} className="stack" onSubmit={(e) => { e.preventDefault(); submit(); }}>
        <Field label="Name" error={errors.friendlyName}>{(p) => <input {...p} name="friendlyName" defaultValue={number.friendlyName ?? ''} maxLength={100} />}</Field>
        <fieldset className="plain">
          <legend>Uses</legend>
          <div className="checks-inline">
            <label><input type="checkbox" name="smsEnabled" defaultChecked={number.smsEnabled} /> SMS</label>
            <label><input type="checkbox" name="voiceEnabled" defaultChecked={number.voiceEnabled} /> Voice</label>
          </div>
        </fieldset>
        <Field label="IVR flow answering calls" error={errors.ivrFlowId}>
          {(p) => (
            <select {...p} name="ivrFlowId" defaultValue={number.ivrFlowId ?? ''}>
              <option value="">None</option>
              {flows.map((f) => <option key={f.id} value={f.id}>{f.name}{f.active ? '' : ' (inactive)'}</option>)}
            </select>
          )}
        </Field>
      </form>
    </ConfirmDialog>
  );
}
