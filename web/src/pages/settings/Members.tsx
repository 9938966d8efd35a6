import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Button, ConfirmDialog, Empty, ErrorMessage, Field, formatDate, Loading, PageHeader } from '../../components/ui';
import { useSession } from '../../lib/session';

export default function Members() {
  const qc = useQueryClient();
  const session = useSession();
  const canManage = session.data?.role === 'owner' || session.data?.role === 'admin';
  const m = useCursor();
  const members = useQuery({
    queryKey: ['members', m.cursor],
    queryFn: () => unwrap(api.GET('/api/organizations/current/members', { params: { query: { cursor: m.cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
  const invitations = useQuery({ queryKey: ['invitations'], queryFn: () => unwrap(api.GET('/api/organizations/current/invitations', { params: { query: { limit: 200 } } })) });
  const invite = useMutation({
    mutationFn: (body: { email: string; role: 'admin' | 'member' }) => unwrap(api.POST('/api/organizations/current/members', { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['invitations'] }),
  });
  const [removing, setRemoving] = useState<{ id: string; label: string; kind: 'member' | 'invitation' } | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/organizations/current/members/{id}', { params: { path: { id } } })),
    onSuccess: async () => {
      setRemoving(null);
      await qc.invalidateQueries({ queryKey: ['members'] });
      await qc.invalidateQueries({ queryKey: ['invitations'] });
    },
  });
  return (
    <>
      <PageHeader title="Members" />
      {canManage && (
        <form
          className="card row end"
          aria-label="Invite someone"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget);
            invite.mutate({ email: String(f.get('email')), role: f.get('role') === 'admin' ? 'admin' : 'member' });
            e.currentTarget.reset();
          }}
        >
          <div className="grow"><Field label="Invite by email">{(p) => <input {...p} name="email" type="email" required />}</Field></div>
          <Field label="Role">{(p) => <select {...p} name="role" defaultValue="member"><option value="member">Member</option><option value="admin">Admin</option></select>}</Field>
          <Button type="submit" busy={invite.isPending}>Send invitation</Button>
        </form>
      )}
      {invite.isSuccess && <p className="success" role="status">Invitation mailed to {invite.variables?.email}.</p>}
      <ErrorMessage error={invite.error} />
      <section className="card table-card" aria-labelledby="members-h">
        <h2 id="members-h" className="pad">People</h2>
        {members.isPending && <Loading />}
        <ErrorMessage error={members.error} />
        {members.data && (
          <table className="table">
            <thead><tr><th scope="col">Name</th><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Joined</th>{canManage && <th scope="col"><span className="sr-only">Actions</span></th>}</tr></thead>
            <tbody>
              {members.data.data.map((u) => (
                <tr key={u.id}>
                  <td>{u.name}</td><td>{u.email}</td><td><span className="badge">{u.role}</span></td><td className="nowrap">{formatDate(u.createdAt)}</td>
                  {canManage && <td className="num">{u.userId !== session.data?.user.id && <Button variant="ghost" onClick={() => setRemoving({ id: u.id, label: u.email, kind: 'member' })}>Remove</Button>}</td>}
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={m.cursor} nextCursor={members.data?.nextCursor} onFirst={m.reset} onNext={m.setCursor} />
      </section>
      <section className="card table-card" aria-labelledby="inv-h">
        <h2 id="inv-h" className="pad">Pending invitations</h2>
        <ErrorMessage error={invitations.error} />
        {invitations.data && invitations.data.data.length === 0 && <Empty title="No pending invitations" />}
        {invitations.data && invitations.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Expires</th>{canManage && <th scope="col"><span className="sr-only">Actions</span></th>}</tr></thead>
            <tbody>
              {invitations.data.data.map((i) => (
                <tr key={i.id}>
                  <td>{i.email}</td><td><span className="badge">{i.role}</span></td><td className="nowrap">{formatDate(i.expiresAt)}</td>
                  {canManage && <td className="num"><Button variant="ghost" onClick={() => setRemoving({ id: i.id, label: i.email, kind: 'invitation' })}>Revoke</Button></td>}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <ConfirmDialog
        open={removing !== null}
        title={removing?.kind === 'invitation' ? 'Revoke this invitation?' : 'Remove this member?'}
        confirmLabel={removing?.kind === 'invitation' ? 'Revoke' : 'Remove'}
        onConfirm={() => removing && remove.mutate(removing.id)}
        onCancel={() => { setRemoving(null); remove.reset(); }}
        busy={remove.isPending}
        error={remove.error}
      >
        <p>{removing?.kind === 'invitation' ? `The link mailed to ${removing?.label} stops working.` : `${removing?.label} loses access, and the API keys they created are revoked.`}</p>
      </ConfirmDialog>
    </>
  );
}
