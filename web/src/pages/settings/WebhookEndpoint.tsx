import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Button, ConfirmDialog, Empty, ErrorMessage, formatDate, Loading, PageHeader, QueryState } from '../../components/ui';
import { SecretOnce } from './Webhooks';

/** One webhook endpoint: enable or disable, rotate the secret, delete, and the per-attempt delivery log with replay. */
export default function WebhookEndpoint() {
  const { id = '' } = useParams();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const c = useCursor();
  const path = { params: { path: { id } } };
  const endpoint = useQuery({ queryKey: ['webhook-endpoints', 'one', id], queryFn: () => unwrap(api.GET('/api/webhook-endpoints/{id}', path)) });
  const log = useQuery({
    queryKey: ['webhook-endpoints', 'log', id, c.cursor],
    queryFn: () => unwrap(api.GET('/api/webhook-endpoints/{id}/deliveries', { params: { path: { id }, query: { cursor: c.cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
    enabled: Boolean(endpoint.data),
    refetchInterval: 5000,
  });
  const refresh = () => qc.invalidateQueries({ queryKey: ['webhook-endpoints'] });
  const toggle = useMutation({ mutationFn: (enabled: boolean) => unwrap(api.PATCH('/api/webhook-endpoints/{id}', { ...path, body: { enabled } })), onSuccess: refresh });
  const [rotating, setRotating] = useState(false);
  const rotate = useMutation({
    mutationFn: () => unwrap(api.POST('/api/webhook-endpoints/{id}/rotate-secret', path)),
    onSuccess: async () => {
      setRotating(false);
      await refresh();
    },
  });
  const [deleting, setDeleting] = useState(false);
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/webhook-endpoints/{id}', path)),
    onSuccess: async () => {
      qc.removeQueries({ queryKey: ['webhook-endpoints', 'one', id] });
      await refresh();
      await navigate('/settings/webhooks');
    },
  });
  const replay = useMutation({
    mutationFn: (deliveryId: string) => unwrap(api.POST('/api/webhook-endpoints/{id}/deliveries/{deliveryId}/replay', { params: { path: { id, deliveryId } } })),
    onSuccess: refresh,
  });
  const back = <Link className="back" to="/settings/webhooks">← Webhooks</Link>;
  if (!endpoint.data) {
    return (
      <>
        <PageHeader title="Webhook endpoint" back={back} />
        <QueryState query={endpoint} what="webhook endpoint" />
      </>
    );
  }
  const e = endpoint.data;
  return (
    <>
      <PageHeader title="Webhook endpoint" back={back}>
        <Button variant="secondary" busy={toggle.isPending} onClick={() => toggle.mutate(!e.enabled)}>{e.enabled ? 'Disable' : 'Enable'}</Button>
        <Button variant="secondary" onClick={() => { rotate.reset(); setRotating(true); }}>Rotate secret</Button>
        <Button variant="danger" onClick={() => setDeleting(true)}>Delete</Button>
      </PageHeader>
      <ErrorMessage error={toggle.error} />
      {rotate.data && <SecretOnce secret={rotate.data.secret} title="Copy the new signing secret" />}
      <section className="card" aria-labelledby="ep-h">
        <h2 id="ep-h">Endpoint</h2>
        <dl className="props">
          <dt>URL</dt><dd className="break mono">{e.url}</dd>
          <dt>Description</dt><dd>{e.description ?? '—'}</dd>
          <dt>Events</dt><dd>{e.eventTypes.map((t) => <span className="tag" key={t}>{t === '*' ? 'all events' : t}</span>)}</dd>
          <dt>State</dt><dd>{e.enabled ? <span className="badge badge-connected">enabled</span> : <span className="badge badge-failed">disabled</span>}{e.disabledReason && <span className="error-text"> {e.disabledReason}</span>}</dd>
          <dt>Previous secret signs until</dt><dd>{formatDate(e.previousSecretExpiresAt)}</dd>
          <dt>Created</dt><dd>{formatDate(e.createdAt)}</dd>
        </dl>
      </section>
      <section className="card table-card" aria-labelledby="log-h">
        <h2 id="log-h" className="pad">Delivery log</h2>
        {log.isPending && <Loading />}
        <ErrorMessage error={log.error || replay.error} />
        {replay.isSuccess && <p className="pad success" role="status">Delivery sent again.</p>}
        {log.data && log.data.data.length === 0 && <Empty title="No deliveries yet" />}
        {log.data && log.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">When</th><th scope="col">Event</th><th scope="col">Attempt</th><th scope="col">Status</th><th scope="col">Latency</th><th scope="col">Response</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {log.data.data.map((a) => (
                <tr key={a.id}>
                  <td className="nowrap">{formatDate(a.createdAt)}</td>
                  <td><code>{a.eventType}</code><div className="small muted mono">{a.eventId}</div></td>
                  <td className="num">{a.attempt}</td>
                  <td>{a.statusCode !== null ? <span className={`badge ${a.statusCode < 300 ? 'badge-delivered' : 'badge-failed'}`}>{a.statusCode}</span> : <span className="badge badge-failed">no answer</span>}</td>
                  <td className="num nowrap">{a.latencyMs} ms</td>
                  <td className="break small">{a.error && <div className="error-text">{a.error}</div>}{a.responseExcerpt && <code>{a.responseExcerpt}</code>}</td>
                  <td className="num"><Button variant="ghost" busy={replay.isPending && replay.variables === a.deliveryId} disabled={!e.enabled} onClick={() => replay.mutate(a.deliveryId)} aria-label={`Replay delivery of ${a.eventType} (attempt ${a.attempt})`}>Replay</Button></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={c.cursor} nextCursor={log.data?.nextCursor} onFirst={c.reset} onNext={c.setCursor} label="Delivery log pages" />
      </section>
      <ConfirmDialog open={rotating} title="Rotate the signing secret?" tone="primary" confirmLabel="Rotate secret" onConfirm={() => rotate.mutate()} onCancel={() => setRotating(false)} busy={rotate.isPending} error={rotate.error}>
        <p>A new secret is shown once. Deliveries carry signatures with both secrets while the old one still signs (the overlap), so receivers can switch without losing events.</p>
      </ConfirmDialog>
      <ConfirmDialog open={deleting} title="Delete this endpoint?" confirmLabel="Delete endpoint" onConfirm={() => remove.mutate()} onCancel={() => { setDeleting(false); remove.reset(); }} busy={remove.isPending} error={remove.error}>
        <p>Deliveries to {e.url} stop, and its delivery log is deleted.</p>
      </ConfirmDialog>
    </>
  );
}
