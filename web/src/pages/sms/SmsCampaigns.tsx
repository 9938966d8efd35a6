import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Empty, ErrorMessage, formatDate, Loading, PageHeader, StatusBadge, SubNav } from '../../components/ui';
import { SMS_TABS } from '../../lib/tabs';

export default function SmsCampaigns() {
  const c = useCursor();
  const list = useQuery({
    queryKey: ['sms-campaigns', c.cursor],
    queryFn: () => unwrap(api.GET('/api/sms/campaigns', { params: { query: { cursor: c.cursor, limit: 25 } } })),
    placeholderData: keepPreviousData,
  });
  return (
    <>
      <PageHeader title="SMS campaigns">
        <Link className="btn btn-primary" to="/sms/new">New SMS campaign</Link>
      </PageHeader>
      <SubNav label="SMS" links={SMS_TABS} />
      <ErrorMessage error={list.error} />
      {list.isPending && <Loading />}
      {list.data && list.data.data.length === 0 && (
        <div className="card"><Empty title="No SMS campaigns yet"><Link className="btn btn-primary" to="/sms/new">New SMS campaign</Link></Empty></div>
      )}
      {list.data && list.data.data.length > 0 && (
        <div className="card table-card">
          <table className="table">
            <caption className="sr-only">SMS campaigns</caption>
            <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col" className="num">Recipients</th><th scope="col" className="num">Delivered</th><th scope="col">Updated</th></tr></thead>
            <tbody>
              {list.data.data.map((s) => (
                <tr key={s.id}>
                  <td><Link to={s.status === 'draft' ? `/sms/${s.id}` : `/sms/${s.id}/results`}>{s.name}</Link><div className="muted small">{s.body.slice(0, 80)}</div></td>
                  <td><StatusBadge status={s.status} /></td>
                  <td className="num">{s.stats.recipients.toLocaleString()}</td>
                  <td className="num">{s.stats.delivered.toLocaleString()}</td>
                  <td className="nowrap">{formatDate(s.updatedAt)}</td>
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
