import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap, type paths } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Button, Empty, ErrorMessage, Field, formatDate, Loading, PageHeader } from '../../components/ui';

type EventType = Exclude<NonNullable<paths['/api/webhook-endpoints']['post']['requestBody']>['content']['application/json']['eventTypes'][number], '*'>;
/** The event catalogue (docs/webhooks.md), grouped as a person looks for them. */
export const EVENT_GROUPS: { label: string; types: EventType[] }[] = [
  { label: 'Customers', types: ['customer.created', 'customer.updated', 'customer.deleted', 'customer.unsubscribed'] },
  { label: 'Campaigns', types: ['email_campaign.sending', 'email_campaign.sent', 'sms_campaign.sending', 'sms_campaign.sent'] },
  { label: 'Messages', types: ['email_message.delivered', 'email_message.bounced', 'sms_message.delivered', 'sms_message.failed'] },
  { label: 'Calls and social', types: ['call.completed', 'social_post.published', 'social_post.failed'] },
];

/** A signing secret shown once, with a copy button. */
export function SecretOnce({ secret, title }: { secret: string; title: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <section className="card stack secret secret-once" aria-labelledby="secret-h">
      <h2 id="secret-h">{title}</h2>
      <p>This is the only time the signing secret is shown. Receivers verify each delivery's <code>webhook-signature</code> with it (see the README).</p>
      <div className="row">
        <input aria-label="Signing secret" className="mono grow" readOnly value={secret} onFocus={(e) => e.currentTarget.select()} />
        <Button
          variant="secondary"
          onClick={async () => {
            await navigator.clipboard.writeText(secret);
            setCopied(true);
          }}
        >
          {copied ? 'Copied' : 'Copy'}
        </Button>
      </div>
      <p role="status" className="sr-only">{copied ? 'Secret copied to the clipboard' : ''}</p>
    </section>
  );
}

/** Settings → Webhooks: the organization's outbound endpoints, and a new one with its secret shown once. */
export default function Webhooks() {
  const qc = useQueryClient();
  const c = useCursor();
  const endpoints = useQuery({
    queryKey: ['webhook-endpoints', c.cursor],
    queryFn: () => unwrap(api.GET('/api/webhook-endpoints', { params: { query: { cursor: c.cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
  });
  const create = useMutation({
    mutationFn: (body: { url: string; eventTypes: ('*' | EventType)[]; description?: string }) => unwrap(api.POST('/api/webhook-endpoints', { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['webhook-endpoints'] }),
  });
  const [all, setAll] = useState(true);
  return (
    <>
      <PageHeader title="Webhooks" />
      <p className="muted">Switchboard posts events to these URLs, signed per the Standard Webhooks spec, retried for about a day.</p>
      <form
        className="card stack"
        aria-label="Add a webhook endpoint"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          const picked = f.getAll('eventTypes').map(String) as EventType[];
          const description = String(f.get('description') ?? '').trim();
          create.mutate({ url: String(f.get('url')), eventTypes: all ? ['*'] : picked, ...(description && { description }) });
        }}
      >
        <h2>Add an endpoint</h2>
        <Field label="Endpoint URL">{(p) => <input {...p} name="url" type="url" required placeholder="https://hooks.example.com/switchboard" />}</Field>
        <Field label="Description">{(p) => <input {...p} name="description" maxLength={500} placeholder="CRM sync" />}</Field>
        <fieldset className="stack-sm">
          <legend>Events</legend>
          <label className="row"><input type="checkbox" checked={all} onChange={(e) => setAll(e.target.checked)} /> Every event (including ones added later)</label>
          {!all && EVENT_GROUPS.map((g) => (
            <fieldset key={g.label} className="row">
              <legend className="small muted">{g.label}</legend>
              {g.types.map((t) => <label key={t} className="row"><input type="checkbox" name="eventTypes" value={t} /> <code>{t}</code></label>)}
            </fieldset>
          ))}
        </fieldset>
        <ErrorMessage error={create.error} />
        <div className="row"><Button type="submit" busy={create.isPending}>Add endpoint</Button></div>
      </form>
      {create.data && (
        <>
          <SecretOnce secret={create.data.secret} title={`Copy the signing secret of ${create.data.url}`} />
          <p><Link to={`/settings/webhooks/${create.data.id}`}>Open the endpoint and its delivery log →</Link></p>
        </>
      )}
      <section className="card table-card" aria-labelledby="endpoints-h">
        <h2 id="endpoints-h" className="pad">Endpoints</h2>
        {endpoints.isPending && <Loading />}
        <ErrorMessage error={endpoints.error} />
        {endpoints.data && endpoints.data.data.length === 0 && <Empty title="No webhook endpoints yet" />}
        {endpoints.data && endpoints.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">State</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {endpoints.data.data.map((e) => (
                <tr key={e.id}>
                  <td className="break"><Link to={`/settings/webhooks/${e.id}`}>{e.url}</Link>{e.description && <div className="small muted">{e.description}</div>}</td>
                  <td>{e.eventTypes.map((t) => <span className="tag" key={t}>{t === '*' ? 'all events' : t}</span>)}</td>
                  <td>{e.enabled ? <span className="badge badge-connected">enabled</span> : <span className="badge badge-failed">disabled</span>}{e.disabledReason && <div className="small error-text">{e.disabledReason}</div>}</td>
                  <td className="nowrap">{formatDate(e.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={c.cursor} nextCursor={endpoints.data?.nextCursor} onFirst={c.reset} onNext={c.setCursor} />
      </section>
    </>
  );
}
