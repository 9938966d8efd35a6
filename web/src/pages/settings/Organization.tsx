import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Button, ConfirmDialog, formatDate, PageHeader, QueryState } from '../../components/ui';
import { useSession } from '../../lib/session';

/** The active organization: what it is, and leaving it. (Switching is in the sidebar; renaming has no API yet.) */
export default function Organization() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const session = useSession();
  const org = useQuery({ queryKey: ['organization'], queryFn: () => unwrap(api.GET('/api/organizations/current')) });
  const [leaving, setLeaving] = useState(false);
  const leave = useMutation({
    mutationFn: () => unwrap(api.POST('/api/organizations/current/leave')),
    onSuccess: async () => {
      setLeaving(false);
      qc.clear();
      await navigate('/');
    },
  });
  const others = (session.data?.organizations.length ?? 1) - 1;
  return (
    <>
      <PageHeader title="Organization" />
      {!org.data ? (
        <QueryState query={org} what="organization" />
      ) : (
        <>
          <section className="card narrow-lg" aria-labelledby="org-h">
            <h2 id="org-h">{org.data.name}</h2>
            <dl className="props">
              <dt>Your role</dt><dd className="cap">{session.data?.role ?? '—'}</dd>
              <dt>Plan</dt><dd className="cap">{org.data.plan}</dd>
              <dt>Created</dt><dd>{formatDate(org.data.createdAt)}</dd>
              <dt>Organization id</dt><dd className="mono small">{org.data.id}</dd>
            </dl>
            <p className="muted small">Switch between your organizations, or create another, with the selector at the top of the sidebar.</p>
          </section>
          <section className="card narrow-lg stack" aria-labelledby="leave-h">
            <h2 id="leave-h">Leave this organization</h2>
            <p className="muted">You lose access to its customers, campaigns and calls, and your API keys for it are revoked. The last owner cannot leave: make someone else owner first.</p>
            <div><Button variant="danger" onClick={() => setLeaving(true)}>Leave {org.data.name}</Button></div>
          </section>
        </>
      )}
      <ConfirmDialog open={leaving} title={`Leave ${org.data?.name}?`} confirmLabel="Leave organization" onConfirm={() => leave.mutate()} onCancel={() => { setLeaving(false); leave.reset(); }} busy={leave.isPending} error={leave.error}>
        <p>{others > 0 ? 'You will need to switch to another of your organizations.' : 'You are not a member of any other organization: you will be asked to create one.'} Rejoining takes a new invitation.</p>
      </ConfirmDialog>
    </>
  );
}
