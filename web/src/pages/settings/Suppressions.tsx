import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager } from '../../components/Pager';
import { Button, ConfirmDialog, Empty, ErrorMessage, Field, formatDate, Loading, PageHeader } from '../../components/ui';
import { useSession } from '../../lib/session';

type Channel = 'email' | 'sms';

export default function Suppressions() {
  const qc = useQueryClient();
  const session = useSession();
  const isAdmin = session.data?.role === 'owner' || session.data?.role === 'admin';
  const [params, setParams] = useSearchParams();
  const channel = (['email', 'sms'] as const).find((c) => c === params.get('channel'));
  const address = params.get('address') ?? undefined;
  const cursor = params.get('cursor') ?? undefined;
  const set = (k: string, v?: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    if (k !== 'cursor') next.delete('cursor');
    setParams(next);
  };
  const query = { channel, address, cursor, limit: 50 };
  const list = useQuery({ queryKey: ['suppressions', query], queryFn: () => unwrap(api.GET('/api/suppressions', { params: { query } })), placeholderData: keepPreviousData });
  const add = useMutation({
    mutationFn: (body: { address: string; channel: Channel }) => unwrap(api.POST('/api/suppressions', { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['suppressions'] }),
  });
  const [removing, setRemoving] = useState<{ id: string; address: string } | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/suppressions/{id}', { params: { path: { id } } })),
    onSuccess: async () => {
      setRemoving(null);
      await qc.invalidateQueries({ queryKey: ['suppressions'] });
    },
  });
  return (
    <>
      <PageHeader title="Suppression list" />
      <p className="muted">Addresses this organization never messages: unsubscribes, complaints, hard bounces and your own additions. Campaigns and test sends skip them.</p>
      <form
        className="card row end"
        aria-label="Suppress an address"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          add.mutate({ address: String(f.get('address')).trim(), channel: f.get('channel') === 'sms' ? 'sms' : 'email' });
          e.currentTarget.reset();
        }}
      >
        <div className="grow"><Field label="Address to suppress">{(p) => <input {...p} name="address" required maxLength={254} placeholder="someone@example.com or +4791234567" />}</Field></div>
        <Field label="Channel">{(p) => <select {...p} name="channel"><option value="email">Email</option><option value="sms">SMS</option></select>}</Field>
        <Button type="submit" busy={add.isPending}>Suppress</Button>
      </form>
      <ErrorMessage error={add.error} />
      <div className="card filters" role="search">
        <div className="field grow">
          <label htmlFor="s-address">Find an address</label>
          <input id="s-address" type="search" defaultValue={address} key={address} onKeyDown={(e) => e.key === 'Enter' && set('address', e.currentTarget.value.trim() || undefined)} onBlur={(e) => e.target.value.trim() !== (address ?? '') && set('address', e.target.value.trim() || undefined)} />
        </div>
        <div className="field">
          <label htmlFor="s-channel">Channel</label>
          <select id="s-channel" value={channel ?? ''} onChange={(e) => set('channel', e.target.value || undefined)}>
            <option value="">All</option><option value="email">Email</option><option value="sms">SMS</option>
          </select>
        </div>
      </div>
      <section className="card table-card" aria-label="Suppressed addresses">
        {list.isPending && <Loading />}
        <ErrorMessage error={list.error} />
        {list.data && list.data.data.length === 0 && <Empty title={address || channel ? 'No suppression matches' : 'No suppressed addresses'} />}
        {list.data && list.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">Address</th><th scope="col">Channel</th><th scope="col">Reason</th><th scope="col">Source</th><th scope="col">Since</th>{isAdmin && <th scope="col"><span className="sr-only">Actions</span></th>}</tr></thead>
            <tbody>
              {list.data.data.map((s) => (
                <tr key={s.id}>
                  <td>{s.address}</td><td>{s.channel}</td><td><span className="badge">{s.reason}</span></td><td className="muted">{s.source}</td><td className="nowrap">{formatDate(s.createdAt)}</td>
                  {isAdmin && <td className="num"><Button variant="ghost" onClick={() => setRemoving({ id: s.id, address: s.address })}>Remove</Button></td>}
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={cursor} nextCursor={list.data?.nextCursor} onFirst={() => set('cursor')} onNext={(c) => set('cursor', c)} />
      </section>
      <ConfirmDialog open={removing !== null} title="Remove this suppression?" confirmLabel="Remove" onConfirm={() => removing && remove.mutate(removing.id)} onCancel={() => { setRemoving(null); remove.reset(); }} busy={remove.isPending} error={remove.error}>
        <p>{removing?.address} can be messaged again. Only do this when the person asked for it; the removal is in the audit log.</p>
      </ConfirmDialog>
    </>
  );
}
