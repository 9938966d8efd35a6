import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, detailsByPath, unwrap } from '../../api/client';
import { Button, ConfirmDialog, Empty, ErrorMessage, Field, formatDate, isAdmin, Loading, PageHeader, SubNav } from '../../components/ui';
import { useMembers } from '../../lib/members';
import { useSession } from '../../lib/session';
import { CALL_TABS } from '../../lib/tabs';

/** Agents' phones: rung first when an agent places a call, and dialled by IVR nodes that forward to an agent. */
export default function Agents() {
  const qc = useQueryClient();
  const session = useSession();
  const me = session.data?.user.id ?? '';
  const admin = isAdmin(session.data?.role);
  const members = useMembers();
  const agents = useQuery({ queryKey: ['agents'], queryFn: () => unwrap(api.GET('/api/call-center/agents', { params: { query: { limit: 200 } } })) });
  const refresh = () => qc.invalidateQueries({ queryKey: ['agents'] });
  const put = useMutation({
    mutationFn: ({ userId, phoneNumber }: { userId: string; phoneNumber: string }) => unwrap(api.PUT('/api/call-center/agents/{id}', { params: { path: { id: userId } }, body: { phoneNumber } })),
    onSuccess: refresh,
  });
  const errors = detailsByPath(put.error);
  const [removing, setRemoving] = useState<{ userId: string; name: string } | null>(null);
  const remove = useMutation({
    mutationFn: (userId: string) => unwrap(api.DELETE('/api/call-center/agents/{id}', { params: { path: { id: userId } } })),
    onSuccess: async () => {
      setRemoving(null);
      await refresh();
    },
  });
  const mine = agents.data?.data.find((a) => a.userId === me);
  return (
    <>
      <PageHeader title="Agents" />
      <SubNav label="Call center" links={CALL_TABS} />
      <p className="muted">An agent's phone rings first when they place a call, and IVR flows can forward callers to an agent by name.</p>
      <form
        className="card stack"
        aria-labelledby="phone-h"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          put.mutate({ userId: admin ? String(f.get('userId')) : me, phoneNumber: String(f.get('phoneNumber')).trim() });
        }}
      >
        <h2 id="phone-h">{admin ? "Set an agent's phone" : 'Your phone'}</h2>
        <div className="form-grid">
          {admin && (
            <div>
              <Field label="Agent">
                {(p) => (
                  <select {...p} name="userId" defaultValue={me} key={members.list.length}>
                    {members.list.map((m) => <option key={m.userId} value={m.userId}>{m.name}{m.userId === me ? ' (you)' : ''}</option>)}
                  </select>
                )}
              </Field>
            </div>
          )}
          <div><Field label="Phone number" hint="E.164, e.g. +14155550142" error={errors.phoneNumber}>{(p) => <input {...p} name="phoneNumber" required inputMode="tel" autoComplete="tel" defaultValue={admin ? '' : (mine?.phoneNumber ?? '')} />}</Field></div>
        </div>
        <div><Button type="submit" busy={put.isPending}>Save phone</Button></div>
        <ErrorMessage error={put.error} />
        {put.isSuccess && <p className="success" role="status">Saved {put.data.phoneNumber} for {members.nameOf(put.data.userId)}.</p>}
      </form>
      <ErrorMessage error={agents.error ?? members.query.error} />
      {agents.isPending && <Loading />}
      {agents.data && agents.data.data.length === 0 && <div className="card"><Empty title="No agent phones yet"><p>Save a phone above to place calls from the dashboard.</p></Empty></div>}
      {agents.data && agents.data.data.length > 0 && (
        <div className="card table-card">
          <table className="table">
            <caption className="sr-only">Agents</caption>
            <thead><tr><th scope="col">Agent</th><th scope="col">Phone</th><th scope="col">Updated</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {agents.data.data.map((a) => {
                const name = members.nameOf(a.userId) ?? '';
                return (
                  <tr key={a.userId}>
                    <td>{name}{a.userId === me && <span className="muted"> (you)</span>}</td>
                    <td className="mono">{a.phoneNumber}</td>
                    <td className="nowrap">{formatDate(a.updatedAt)}</td>
                    <td className="num">{(admin || a.userId === me) && <Button variant="ghost" onClick={() => setRemoving({ userId: a.userId, name })} aria-label={`Remove ${name}'s phone`}>Remove</Button>}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog open={removing !== null} title={`Remove ${removing?.name}'s phone?`} confirmLabel="Remove phone" onConfirm={() => removing && remove.mutate(removing.userId)} onCancel={() => { setRemoving(null); remove.reset(); }} busy={remove.isPending} error={remove.error}>
        <p>Calls can no longer ring this agent first, and IVR nodes forwarding to them stop reaching anyone.</p>
      </ConfirmDialog>
    </>
  );
}
