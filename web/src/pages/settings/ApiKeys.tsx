import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Button, ConfirmDialog, Empty, ErrorMessage, Field, formatDate, Loading, PageHeader } from '../../components/ui';

export default function ApiKeys() {
  const qc = useQueryClient();
  const c = useCursor();
  const keys = useQuery({
    queryKey: ['api-keys', c.cursor],
    queryFn: () => unwrap(api.GET('/api/api-keys', { params: { query: { cursor: c.cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
  const create = useMutation({
    mutationFn: (body: { name: string; role: 'admin' | 'member' }) => unwrap(api.POST('/api/api-keys', { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['api-keys'] }),
  });
  const [revoking, setRevoking] = useState<{ id: string; name: string } | null>(null);
  const revoke = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/api-keys/{id}', { params: { path: { id } } })),
    onSuccess: async () => {
      setRevoking(null);
      await qc.invalidateQueries({ queryKey: ['api-keys'] });
    },
  });
  const [copied, setCopied] = useState(false);
  return (
    <>
      <PageHeader title="API keys" />
      <p className="muted">Keys let scripts and servers call the API as this organization: <code>Authorization: Bearer sb_…</code>.</p>
      <form
        className="card row end"
        aria-label="Create an API key"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          setCopied(false);
          create.mutate({ name: String(f.get('name')), role: f.get('role') === 'admin' ? 'admin' : 'member' });
          e.currentTarget.reset();
        }}
      >
        <div className="grow"><Field label="Key name">{(p) => <input {...p} name="name" required maxLength={100} placeholder="Shop integration" />}</Field></div>
        <Field label="Role">{(p) => <select {...p} name="role" defaultValue="member"><option value="member">Member</option><option value="admin">Admin</option></select>}</Field>
        <Button type="submit" busy={create.isPending}>Create key</Button>
      </form>
      <ErrorMessage error={create.error} />
      {create.data && (
        <section className="card stack secret" aria-labelledby="secret-h">
          <h2 id="secret-h">Copy your new key now</h2>
          <p>This is the only time “{create.data.name}” is shown in full. Store it somewhere safe.</p>
          <div className="row">
            <input aria-label="New API key" className="mono grow" readOnly value={create.data.key} onFocus={(e) => e.currentTarget.select()} />
            <Button
              variant="secondary"
              onClick={async () => {
                await navigator.clipboard.writeText(create.data.key);
                setCopied(true);
              }}
            >
              {copied ? 'Copied' : 'Copy'}
            </Button>
          </div>
          <p role="status" className="sr-only">{copied ? 'Key copied to the clipboard' : ''}</p>
        </section>
      )}
      <section className="card table-card" aria-labelledby="keys-h">
        <h2 id="keys-h" className="pad">Keys</h2>
        {keys.isPending && <Loading />}
        <ErrorMessage error={keys.error} />
        {keys.data && keys.data.data.length === 0 && <Empty title="No API keys yet" />}
        {keys.data && keys.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">Name</th><th scope="col">Key</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {keys.data.data.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td className="mono">{k.prefix}…</td>
                  <td><span className="badge">{k.role}</span></td>
                  <td className="nowrap">{formatDate(k.createdAt)}</td>
                  <td className="nowrap">{k.revokedAt ? <span className="badge badge-cancelled">revoked</span> : formatDate(k.lastUsedAt)}</td>
                  <td className="num">{!k.revokedAt && <Button variant="ghost" onClick={() => setRevoking({ id: k.id, name: k.name })}>Revoke</Button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={c.cursor} nextCursor={keys.data?.nextCursor} onFirst={c.reset} onNext={c.setCursor} />
      </section>
      <ConfirmDialog open={revoking !== null} title="Revoke this key?" confirmLabel="Revoke key" onConfirm={() => revoking && revoke.mutate(revoking.id)} onCancel={() => { setRevoking(null); revoke.reset(); }} busy={revoke.isPending} error={revoke.error}>
        <p>Anything using “{revoking?.name}” stops working at once.</p>
      </ConfirmDialog>
    </>
  );
}
