import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Button, ConfirmDialog, Empty, ErrorMessage, formatDate, Loading, MessageCells, PageHeader, QueryState, StatusBadge } from '../../components/ui';
import { CustomerTimeline } from '../events/CustomerTimeline';
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
      setEditing(false);
      await qc.invalidateQueries({ queryKey: ['customers', 'list'] });
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
        <Link className="btn btn-ghost" to={`/calls?customer=${c.id}`}>Calls</Link>
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
      {!editing && <History customerId={c.id} />}
      {!editing && <CustomerTimeline customerId={c.id} />}
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

/** The email this customer was sent, newest first, with what happened to each. */
function History({ customerId }: { customerId: string }) {
  const c = useCursor();
  const history = useQuery({
    queryKey: ['customers', customerId, 'email-messages', c.cursor],
    queryFn: () => unwrap(api.GET('/api/customers/{id}/email-messages', { params: { path: { id: customerId }, query: { cursor: c.cursor, limit: 20 } } })),
    placeholderData: keepPreviousData,
  });
  return (
    <section className="card table-card" aria-labelledby="history-h">
      <h2 id="history-h" className="pad">Messages</h2>
      {history.isPending && <Loading />}
      <ErrorMessage error={history.error} />
      {history.data && history.data.data.length === 0 && <Empty title="No messages sent to this customer yet" />}
      {history.data && history.data.data.length > 0 && (
        <table className="table">
          <thead><tr><th scope="col">Campaign</th><th scope="col">Status</th><th scope="col">Timeline</th></tr></thead>
          <tbody>
            {history.data.data.map((m) => (
              <tr key={m.id}>
                <td><Link to={`/campaigns/${m.campaignId}/results`}>{m.campaignName ?? 'Deleted campaign'}</Link><div className="muted small">to {m.email}</div></td>
                <MessageCells status={m.status} error={m.error} timeline={m.timeline} />
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager cursor={c.cursor} nextCursor={history.data?.nextCursor} onFirst={c.reset} onNext={c.setCursor} label="Message pages" />
    </section>
  );
}
