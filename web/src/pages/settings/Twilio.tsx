import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Button, ConfirmDialog, ErrorMessage, Field, formatDate, isAdmin, Loading, PageHeader, StatusBadge } from '../../components/ui';
import { useSession } from '../../lib/session';

/** The organization's Twilio account: connect with the Account SID and auth token (never shown again), disconnect. */
export default function Twilio() {
  const qc = useQueryClient();
  const session = useSession();
  const admin = isAdmin(session.data?.role);
  const status = useQuery({ queryKey: ['twilio'], queryFn: () => unwrap(api.GET('/api/integrations/twilio')) });
  const refresh = () => qc.invalidateQueries({ queryKey: ['twilio'] });
  const connect = useMutation({
    mutationFn: (body: { accountSid: string; authToken: string }) => unwrap(api.PUT('/api/integrations/twilio', { body })),
    onSuccess: refresh,
  });
  const [confirming, setConfirming] = useState(false);
  const disconnect = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/integrations/twilio')),
    onSuccess: async () => {
      setConfirming(false);
      await refresh();
    },
  });
  const s = status.data;
  return (
    <>
      <PageHeader title="Twilio" />
      <p className="muted">SMS campaigns, calls and IVR flows go through the organization's own Twilio account.</p>
      {status.isPending && <Loading />}
      <ErrorMessage error={status.error} />
      {s?.connected && (
        <section className="card stack" aria-labelledby="twilio-h">
          <div className="row spread">
            <h2 id="twilio-h">Connected account</h2>
            <StatusBadge status="connected" />
          </div>
          <dl className="props">
            <dt>Account</dt><dd>{s.friendlyName ?? '—'}</dd>
            <dt>Account SID</dt><dd className="mono">{s.accountSid}</dd>
            <dt>Connected</dt><dd>{formatDate(s.connectedAt)}</dd>
          </dl>
          <p className="muted small">The auth token is stored encrypted and is never shown again. Connect again to replace it.</p>
          {admin && <div><Button variant="danger" onClick={() => setConfirming(true)}>Disconnect</Button></div>}
        </section>
      )}
      {s && !s.connected && (
        <div className="alert alert-info" role="status">
          No Twilio account is connected: messages and calls are not sent but recorded in the{' '}
          <Link to="/outbox/twilio">SMS &amp; calls outbox</Link>, so you can try every flow without an account.
        </div>
      )}
      {s && admin && (
        <form
          className="card stack narrow"
          aria-labelledby="connect-h"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget);
            connect.mutate({ accountSid: String(f.get('accountSid')).trim(), authToken: String(f.get('authToken')).trim() }, { onSuccess: () => (e.target as HTMLFormElement).reset() });
          }}
        >
          <h2 id="connect-h">{s.connected ? 'Replace the credentials' : 'Connect a Twilio account'}</h2>
          <Field label="Account SID" hint="AC followed by 32 characters, from the Twilio console.">{(p) => <input {...p} name="accountSid" required pattern="AC[0-9a-fA-F]{32}" autoComplete="off" spellCheck={false} className="mono" />}</Field>
          <Field label="Auth token">{(p) => <input {...p} name="authToken" type="password" required minLength={16} autoComplete="off" />}</Field>
          <ErrorMessage error={connect.error} />
          {connect.isSuccess && <p className="success" role="status">Connected to {connect.data.friendlyName ?? connect.data.accountSid}.</p>}
          <div><Button type="submit" busy={connect.isPending}>{s.connected ? 'Save credentials' : 'Connect'}</Button></div>
        </form>
      )}
      {s && !admin && <p className="muted">Only owners and admins can connect or disconnect the account.</p>}
      <ConfirmDialog open={confirming} title="Disconnect Twilio?" confirmLabel="Disconnect" onConfirm={() => disconnect.mutate()} onCancel={() => { setConfirming(false); disconnect.reset(); }} busy={disconnect.isPending} error={disconnect.error}>
        <p>Messages and calls stop going through Twilio and land in the development outbox instead. Phone numbers stay listed.</p>
      </ConfirmDialog>
    </>
  );
}
