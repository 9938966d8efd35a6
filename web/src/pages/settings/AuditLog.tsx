import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager } from '../../components/Pager';
import { Empty, ErrorMessage, formatDate, Loading, PageHeader } from '../../components/ui';

const TYPES = ['customer', 'email_campaign', 'sms_campaign', 'api_key', 'membership', 'invitation', 'organization', 'suppression', 'sender_domain', 'sender_address', 'integration', 'phone_number'];

export default function AuditLog() {
  const [params, setParams] = useSearchParams();
  const resourceType = params.get('resourceType') ?? undefined;
  const cursor = params.get('cursor') ?? undefined;
  const query = { resourceType, cursor, limit: 50 };
  const list = useQuery({ queryKey: ['audit', query], queryFn: () => unwrap(api.GET('/api/audit-log', { params: { query } })), placeholderData: keepPreviousData });
  // Names for people (members now; someone who left shows by id).
  const members = useQuery({ queryKey: ['members', 'all'], queryFn: () => unwrap(api.GET('/api/organizations/current/members', { params: { query: { limit: 200 } } })) });
  const people = new Map((members.data?.data ?? []).map((m) => [m.userId, m.name || m.email]));
  const set = (k: string, v?: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    if (k !== 'cursor') next.delete('cursor');
    setParams(next);
  };
  return (
    <>
      <PageHeader title="Audit log" />
      <div className="card filters">
        <div className="field">
          <label htmlFor="a-type">Resource</label>
          <select id="a-type" value={resourceType ?? ''} onChange={(e) => set('resourceType', e.target.value || undefined)}>
            <option value="">All</option>
            {TYPES.map((t) => <option key={t} value={t}>{t.replace(/_/g, ' ')}</option>)}
          </select>
        </div>
      </div>
      <section className="card table-card" aria-label="Audit entries">
        {list.isPending && <Loading />}
        <ErrorMessage error={list.error} />
        {list.data && list.data.data.length === 0 && <Empty title="Nothing recorded yet" />}
        {list.data && list.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">When</th><th scope="col">Who</th><th scope="col">Action</th><th scope="col">Resource</th><th scope="col">Changes</th></tr></thead>
            <tbody>
              {list.data.data.map((a) => (
                <tr key={a.id}>
                  <td className="nowrap">{formatDate(a.createdAt)}</td>
                  <td>{a.actorType === 'system' ? <span className="muted">system{a.actorReason ? ` (${a.actorReason})` : ''}</span> : a.actorType === 'user' && a.actorId && people.has(a.actorId) ? people.get(a.actorId) : <span className="mono small">{a.actorType === 'api_key' ? 'API key' : a.actorType} {a.actorId?.slice(0, 8)}</span>}</td>
                  <td><code>{a.action}</code></td>
                  <td className="small">{a.resourceType}{a.resourceId && <span className="muted mono"> {a.resourceId.slice(0, 8)}</span>}</td>
                  <td className="mono small break">{a.changes && Object.keys(a.changes).length ? JSON.stringify(a.changes).slice(0, 160) : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={cursor} nextCursor={list.data?.nextCursor} onFirst={() => set('cursor')} onNext={(c) => set('cursor', c)} />
      </section>
    </>
  );
}
