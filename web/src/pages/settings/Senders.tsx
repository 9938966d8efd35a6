import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { Button, ConfirmDialog, Empty, ErrorMessage, Field, formatDate, Loading, PageHeader, StatusBadge } from '../../components/ui';

/** Sender identities: domains proven by DNS TXT records (with DKIM), and single confirmed addresses. */
export default function Senders() {
  const qc = useQueryClient();
  const domains = useQuery({ queryKey: ['senders', 'domains'], queryFn: () => unwrap(api.GET('/api/senders/domains', { params: { query: { limit: 200 } } })) });
  const addresses = useQuery({ queryKey: ['senders', 'addresses'], queryFn: () => unwrap(api.GET('/api/senders/addresses', { params: { query: { limit: 200 } } })) });
  const refresh = () => qc.invalidateQueries({ queryKey: ['senders'] });
  const addDomain = useMutation({ mutationFn: (domain: string) => unwrap(api.POST('/api/senders/domains', { body: { domain } })), onSuccess: refresh });
  const verify = useMutation({ mutationFn: (id: string) => unwrap(api.POST('/api/senders/domains/{id}/verify', { params: { path: { id } } })), onSuccess: refresh });
  const addAddress = useMutation({ mutationFn: (email: string) => unwrap(api.POST('/api/senders/addresses', { body: { email } })), onSuccess: refresh });
  const [removing, setRemoving] = useState<{ id: string; label: string; kind: 'domain' | 'address' } | null>(null);
  const remove = useMutation({
    mutationFn: (r: { id: string; kind: 'domain' | 'address' }) =>
      r.kind === 'domain'
        ? unwrap(api.DELETE('/api/senders/domains/{id}', { params: { path: { id: r.id } } }))
        : unwrap(api.DELETE('/api/senders/addresses/{id}', { params: { path: { id: r.id } } })),
    onSuccess: async () => {
      setRemoving(null);
      await refresh();
    },
  });
  return (
    <>
      <PageHeader title="Senders" />
      <p className="muted">Campaigns go out only from addresses this organization has proven it controls: any address at a verified domain, or a single confirmed address.</p>
      <section className="card stack" aria-labelledby="domains-h">
        <h2 id="domains-h">Domains</h2>
        <form className="row end" onSubmit={(e) => { e.preventDefault(); addDomain.mutate(String(new FormData(e.currentTarget).get('domain')).trim().toLowerCase()); e.currentTarget.reset(); }}>
          <div className="grow"><Field label="Add a domain">{(p) => <input {...p} name="domain" required placeholder="acme.example" />}</Field></div>
          <Button type="submit" busy={addDomain.isPending}>Add domain</Button>
        </form>
        <ErrorMessage error={addDomain.error ?? verify.error} />
        {domains.isPending && <Loading />}
        <ErrorMessage error={domains.error} />
        {domains.data && domains.data.data.length === 0 && <Empty title="No domains yet" />}
        {domains.data?.data.map((d) => (
          <article key={d.id} className="sub-card stack-sm" aria-label={d.domain}>
            <div className="row spread">
              <div className="row"><strong>{d.domain}</strong><StatusBadge status={d.status} /></div>
              <div className="row">
                {d.status !== 'verified' && <Button variant="secondary" onClick={() => verify.mutate(d.id)} busy={verify.isPending && verify.variables === d.id}>Check DNS</Button>}
                <Button variant="ghost" onClick={() => setRemoving({ id: d.id, label: d.domain, kind: 'domain' })}>Remove</Button>
              </div>
            </div>
            <p className="muted small">Publish these TXT records{d.lastCheckedAt ? ` · last checked ${formatDate(d.lastCheckedAt)}` : ''}:</p>
            <table className="table">
              <thead><tr><th scope="col">Purpose</th><th scope="col">Name</th><th scope="col">Value</th><th scope="col">Found</th></tr></thead>
              <tbody>
                {d.records.map((r) => (
                  <tr key={r.name}><td>{r.purpose}</td><td className="mono small break">{r.name}</td><td className="mono small break">{r.value}</td><td>{r.found === null ? '—' : r.found ? 'yes' : 'no'}</td></tr>
                ))}
              </tbody>
            </table>
          </article>
        ))}
      </section>
      <section className="card stack" aria-labelledby="addresses-h">
        <h2 id="addresses-h">Single addresses</h2>
        <form className="row end" onSubmit={(e) => { e.preventDefault(); addAddress.mutate(String(new FormData(e.currentTarget).get('email')).trim()); e.currentTarget.reset(); }}>
          <div className="grow"><Field label="Add an address" hint="A confirmation link is mailed to it.">{(p) => <input {...p} name="email" type="email" required />}</Field></div>
          <Button type="submit" busy={addAddress.isPending}>Add address</Button>
        </form>
        <ErrorMessage error={addAddress.error} />
        <ErrorMessage error={addresses.error} />
        {addresses.data && addresses.data.data.length === 0 && <Empty title="No single addresses" />}
        {addresses.data && addresses.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">Address</th><th scope="col">Status</th><th scope="col">Added</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {addresses.data.data.map((a) => (
                <tr key={a.id}>
                  <td>{a.email}</td><td><StatusBadge status={a.status} /></td><td className="nowrap">{formatDate(a.createdAt)}</td>
                  <td className="num"><Button variant="ghost" onClick={() => setRemoving({ id: a.id, label: a.email, kind: 'address' })}>Remove</Button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <ConfirmDialog open={removing !== null} title={`Remove ${removing?.label}?`} confirmLabel="Remove" onConfirm={() => removing && remove.mutate(removing)} onCancel={() => { setRemoving(null); remove.reset(); }} busy={remove.isPending} error={remove.error}>
        <p>Campaigns can no longer go out from {removing?.kind === 'domain' ? 'addresses at this domain' : 'this address'}; a campaign using it fails when it sends.</p>
      </ConfirmDialog>
    </>
  );
}
