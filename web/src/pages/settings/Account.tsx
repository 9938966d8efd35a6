import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Button, ErrorMessage, Field, formatDate, Loading, PageHeader } from '../../components/ui';
import { useSession } from '../../lib/session';

/** The signed-in person's own account: password and sessions. */
export default function Account() {
  const session = useSession();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const c = useCursor();
  const sessions = useQuery({
    queryKey: ['sessions', c.cursor],
    queryFn: () => unwrap(api.GET('/api/auth/sessions', { params: { query: { cursor: c.cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
  const change = useMutation({ mutationFn: (body: { currentPassword: string; newPassword: string }) => unwrap(api.POST('/api/auth/password', { body })), onSuccess: () => qc.invalidateQueries({ queryKey: ['sessions'] }) });
  const revoke = useMutation({ mutationFn: (id: string) => unwrap(api.DELETE('/api/auth/sessions/{id}', { params: { path: { id } } })), onSuccess: () => qc.invalidateQueries({ queryKey: ['sessions'] }) });
  const everywhere = useMutation({
    mutationFn: () => unwrap(api.POST('/api/auth/sign-out-everywhere')),
    onSuccess: async () => {
      qc.clear();
      await navigate('/sign-in');
    },
  });
  return (
    <>
      <PageHeader title="Your account" />
      <div className="grid-2">
        <section className="card stack" aria-labelledby="profile-h">
          <h2 id="profile-h">Profile</h2>
          {session.data && (
            <dl className="props">
              <dt>Name</dt><dd>{session.data.user.name}</dd>
              <dt>Email</dt><dd>{session.data.user.email} {session.data.user.emailVerified ? <span className="badge badge-verified">confirmed</span> : <span className="badge badge-pending">not confirmed</span>}</dd>
              <dt>Since</dt><dd>{formatDate(session.data.user.createdAt)}</dd>
            </dl>
          )}
        </section>
        <form
          className="card stack"
          aria-labelledby="password-h"
          onSubmit={(e) => {
            e.preventDefault();
            const f = new FormData(e.currentTarget);
            change.mutate({ currentPassword: String(f.get('currentPassword')), newPassword: String(f.get('newPassword')) });
            e.currentTarget.reset();
          }}
        >
          <h2 id="password-h">Change password</h2>
          <Field label="Current password">{(p) => <input {...p} name="currentPassword" type="password" autoComplete="current-password" required />}</Field>
          <Field label="New password" hint="At least 10 characters, not a common password. Your other sessions end.">{(p) => <input {...p} name="newPassword" type="password" autoComplete="new-password" required minLength={10} />}</Field>
          <ErrorMessage error={change.error} />
          {change.isSuccess && <p className="success" role="status">Password changed; your other sessions have ended.</p>}
          <div className="row"><Button type="submit" busy={change.isPending}>Change password</Button></div>
        </form>
      </div>
      <section className="card table-card" aria-labelledby="sessions-h">
        <div className="row spread pad">
          <h2 id="sessions-h">Sessions</h2>
          <Button variant="secondary" onClick={() => everywhere.mutate()} busy={everywhere.isPending}>Sign out everywhere</Button>
        </div>
        {sessions.isPending && <Loading />}
        <ErrorMessage error={sessions.error ?? revoke.error ?? everywhere.error} />
        {sessions.data && (
          <table className="table">
            <thead><tr><th scope="col">Device</th><th scope="col">Address</th><th scope="col">Signed in</th><th scope="col">Expires</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {sessions.data.data.map((s) => (
                <tr key={s.id}>
                  <td className="small">{s.userAgent ?? 'Unknown'}{s.current && <span className="badge badge-sent">this one</span>}</td>
                  <td className="mono small">{s.ip ?? '—'}</td>
                  <td className="nowrap">{formatDate(s.authenticatedAt ?? s.createdAt)}</td>
                  <td className="nowrap">{formatDate(s.expiresAt)}</td>
                  <td className="num">{!s.current && <Button variant="ghost" onClick={() => revoke.mutate(s.id)}>End</Button>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={c.cursor} nextCursor={sessions.data?.nextCursor} onFirst={c.reset} onNext={c.setCursor} />
      </section>
    </>
  );
}
