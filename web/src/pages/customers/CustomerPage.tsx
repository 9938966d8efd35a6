import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Button, ConfirmDialog, formatDate, PageHeader, QueryState } from '../../components/ui';
import { CustomerForm, type CustomerInput } from './CustomerForm';

export default function CustomerPage() {
  const { id = '' } = useParams();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const customer = useQuery({ queryKey: ['customers', id], queryFn: () => unwrap(api.GET('/api/customers/{id}', { params: { path: { id } } })) });
  const update = useMutation({
    mutationFn: (body: CustomerInput) => unwrap(api.PUT('/api/customers/{id}', { params: { path: { id } }, body })),
    onSuccess: async (c) => {
      qc.setQueryData(['customers', id], c);
      await qc.invalidateQueries({ queryKey: ['customers'], exact: false });
      setEditing(false);
    },
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/customers/{id}', { params: { path: { id } } })),
    onSuccess: async () => {
      qc.removeQueries({ queryKey: ['customers', id] });
      await qc.invalidateQueries({ queryKey: ['customers'] });
      await navigate('/customers');
    },
  });
  const back = <Link className="back" to="/customers">← Customers</Link>;
  if (!customer.data) {
    return (
      <>
        <PageHeader title="Customer" back={back} />
        <QueryState query={customer} what="customer" />
      </>
    );
  }
  const c = customer.data;
  const name = [c.firstName, c.lastName].filter(Boolean).join(' ') || c.email || c.phone || 'Customer';
  return (
    <>
      <PageHeader title={name} back={back}>
        {!editing && <Button variant="secondary" onClick={() => setEditing(true)}>Edit</Button>}
        <Button variant="danger" onClick={() => setConfirming(true)}>Delete</Button>
      </PageHeader>
      {editing ? (
        <CustomerForm initial={c} onSubmit={(v) => update.mutate(v)} busy={update.isPending} error={update.error} submitLabel="Save changes" onCancel={() => setEditing(false)} />
      ) : (
        <div className="grid-2">
          <section className="card" aria-labelledby="contact-h">
            <h2 id="contact-h">Contact</h2>
            <dl className="props">
              <dt>Email</dt><dd>{c.email ?? '—'}{c.emailStatus !== 'active' && <span className="badge badge-failed">{c.emailStatus}</span>}</dd>
              <dt>Phone</dt><dd>{c.phone ?? '—'}</dd>
              <dt>Tags</dt><dd>{c.tags.length ? c.tags.map((t) => <span className="tag" key={t}>{t}</span>) : '—'}</dd>
              <dt>Created</dt><dd>{formatDate(c.createdAt)}</dd>
              <dt>Updated</dt><dd>{formatDate(c.updatedAt)}</dd>
            </dl>
          </section>
          <section className="card" aria-labelledby="consent-h">
            <h2 id="consent-h">Consent</h2>
            <dl className="props">
              <dt>Email</dt><dd>{c.emailOptIn ? 'Opted in' : 'Not opted in'}{c.emailSuppressed && <span className="badge badge-failed">suppressed</span>}</dd>
              <dt>SMS</dt><dd>{c.smsOptIn ? 'Opted in' : 'Not opted in'}{c.smsSuppressed && <span className="badge badge-failed">suppressed</span>}</dd>
            </dl>
            <h2>Attributes</h2>
            {Object.keys(c.attributes).length ? (
              <dl className="props">
                {Object.entries(c.attributes).map(([k, v]) => (
                  <div key={k} className="prop-row"><dt>{k}</dt><dd className="mono">{typeof v === 'string' ? v : JSON.stringify(v)}</dd></div>
                ))}
              </dl>
            ) : (
              <p className="muted">No attributes.</p>
            )}
          </section>
        </div>
      )}
      <ConfirmDialog
        open={confirming}
        title="Delete this customer?"
        confirmLabel="Delete customer"
        onConfirm={() => remove.mutate()}
        onCancel={() => setConfirming(false)}
        busy={remove.isPending}
        error={remove.error}
      >
        <p>{name} will be removed from this organization. Their suppression entries stay, so a re-import never messages an address that opted out.</p>
      </ConfirmDialog>
    </>
  );
}
