import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Empty, ErrorMessage, formatDate, isAdmin, Loading, PageHeader, StatusBadge } from '../../components/ui';
import { useSession } from '../../lib/session';

/** IVR flows: what callers hear and press when they call one of the organization's numbers. */
export default function IvrFlows() {
  const c = useCursor();
  const admin = isAdmin(useSession().data?.role);
  const list = useQuery({
    queryKey: ['ivr-flows', c.cursor],
    queryFn: () => unwrap(api.GET('/api/ivr/flows', { params: { query: { cursor: c.cursor, limit: 25 } } })),
    placeholderData: keepPreviousData,
  });
  return (
    <>
      <PageHeader title="IVR flows">{admin && <Link className="btn btn-primary" to="/ivr/new">New flow</Link>}</PageHeader>
      <p className="muted">A flow answers calls to the <Link to="/numbers">numbers</Link> bound to it: greetings, menus, forwarding to agents, voicemail.</p>
      <ErrorMessage error={list.error} />
      {list.isPending && <Loading />}
      {list.data && list.data.data.length === 0 && (
        <div className="card"><Empty title="No IVR flows yet">{admin ? <Link className="btn btn-primary" to="/ivr/new">New flow</Link> : <p>An owner or admin can create one.</p>}</Empty></div>
      )}
      {list.data && list.data.data.length > 0 && (
        <div className="card table-card">
          <table className="table">
            <caption className="sr-only">IVR flows</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col" className="num">Version</th><th scope="col">Numbers</th><th scope="col">Updated</th></tr></thead>
            <tbody>
              {list.data.data.map((f) => (
                <tr key={f.id}>
                  <td><Link to={`/ivr/${f.id}`}>{f.name}</Link><div className="muted small">{Object.keys((f.definition as { nodes?: object }).nodes ?? {}).length} nodes</div></td>
                  <td><StatusBadge status={f.active ? 'active' : 'inactive'} /></td>
                  <td className="num">{f.version}</td>
                  <td>{f.phoneNumbers.length ? f.phoneNumbers.map((n) => <span key={n.id} className="tag mono">{n.number}</span>) : <span className="muted">None</span>}</td>
                  <td className="nowrap">{formatDate(f.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <Pager cursor={c.cursor} nextCursor={list.data.nextCursor} onFirst={c.reset} onNext={c.setCursor} />
        </div>
      )}
    </>
  );
}
