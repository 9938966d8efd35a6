import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Empty, ErrorMessage, formatDate, Loading, PageHeader, StatusBadge } from '../../components/ui';

const STATUSES = ['draft', 'scheduled', 'sending', 'sent', 'cancelled', 'failed'] as const;
type Status = (typeof STATUSES)[number];

export default function CampaignList() {
  const [params, setParams] = useSearchParams();
  const status = STATUSES.find((s) => s === params.get('status')) as Status | undefined;
  const cursor = params.get('cursor') ?? undefined;
  const query = { status, cursor, limit: 25 };
  const list = useQuery({
    queryKey: ['campaigns', 'list', query],
    queryFn: () => unwrap(api.GET('/api/email/campaigns', { params: { query } })),
    placeholderData: keepPreviousData,
    // A campaign on its way out changes status by itself: look again while one is sending.
    refetchInterval: (q) => (q.state.data?.data.some((c) => c.status === 'sending') ? 3000 : false),
  });
  const set = (k: string, v?: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    if (k !== 'cursor') next.delete('cursor');
    setParams(next);
  };
  return (
    <>
      <PageHeader title="Email campaigns">
        <Link className="btn btn-primary" to="/campaigns/new">New campaign</Link>
      </PageHeader>
      <div className="tabs" role="group" aria-label="Filter by status">
        <button type="button" aria-pressed={!status} onClick={() => set('status')}>All</button>
        {STATUSES.map((s) => (
          <button type="button" key={s} aria-pressed={status === s} onClick={() => set('status', s)}>{s[0].toUpperCase() + s.slice(1)}</button>
        ))}
      </div>
      <ErrorMessage error={list.error} />
      {list.isPending && <Loading />}
      {list.data && list.data.data.length === 0 && (
        <div className="card">
          <Empty title={status ? `No ${status} campaigns` : 'No campaigns yet'}>
            {!status && <><p>Write your first email, test it on yourself, then send it to your customers.</p><Link className="btn btn-primary" to="/campaigns/new">New campaign</Link></>}
          </Empty>
        </div>
      )}
      {list.data && list.data.data.length > 0 && (
        <div className="card table-card">
          <table className="table">
            <caption className="sr-only">Email campaigns</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col" className="num">Recipients</th>
                <th scope="col" className="num">Opened</th>
                <th scope="col" className="num">Clicked</th>
                <th scope="col">Updated</th>
              </tr>
            </thead>
            <tbody>
              {list.data.data.map((c) => (
                <tr key={c.id}>
                  <td>
                    <Link to={c.status === 'draft' ? `/campaigns/${c.id}` : `/campaigns/${c.id}/results`}>{c.name}</Link>
                    <div className="muted small">{c.subject || '(no subject)'}</div>
                  </td>
                  <td><StatusBadge status={c.status} /></td>
                  <td className="num">{c.stats.recipients.toLocaleString()}</td>
                  <td className="num">{c.stats.opened.toLocaleString()}</td>
                  <td className="num">{c.stats.clicked.toLocaleString()}</td>
                  <td className="nowrap">{formatDate(c.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav className="pager" aria-label="Pages">
            {cursor ? <button type="button" className="btn btn-ghost" onClick={() => set('cursor')}>← First page</button> : <span />}
            {list.data.nextCursor && <button type="button" className="btn btn-secondary" onClick={() => set('cursor', list.data.nextCursor ?? undefined)}>Next page →</button>}
          </nav>
        </div>
      )}
    </>
  );
}
