import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Empty, ErrorMessage, formatDate, Loading, PageHeader, StatusBadge, SubNav } from '../../components/ui';
import { SMS_TABS } from '../../lib/tabs';


/** Messages customers sent to the organization's numbers, newest first (STOP/START/HELP marked). */
export default function SmsInbound() {
  const c = useCursor();
  const list = useQuery({
    queryKey: ['sms-inbound', c.cursor],
    queryFn: () => unwrap(api.GET('/api/sms/inbound', { params: { query: { cursor: c.cursor, limit: 50 } } })),
    placeholderData: keepPreviousData,
    refetchInterval: 10_000,
  });
  return (
    <>
      <PageHeader title="Inbound messages" />
      <SubNav label="SMS" links={SMS_TABS} />
      <p className="muted">Texts customers sent to your numbers. STOP opts a customer out of SMS and START back in; HELP is answered with the reply in <Link to="/settings/sms">SMS settings</Link>.</p>
      <ErrorMessage error={list.error} />
      {list.isPending && <Loading />}
      {list.data && list.data.data.length === 0 && (
        <div className="card"><Empty title="No inbound messages yet"><p>Replies to your campaigns show up here.</p></Empty></div>
      )}
      {list.data && list.data.data.length > 0 && (
        <div className="card table-card">
          <table className="table">
            <caption className="sr-only">Inbound messages</caption>
            <thead><tr><th scope="col">From</th><th scope="col">Message</th><th scope="col">To</th><th scope="col">Received</th></tr></thead>
            <tbody>
              {list.data.data.map((m) => (
                <tr key={m.id}>
                  <td className="nowrap">{m.customerId ? <Link to={`/customers/${m.customerId}`}>{m.from}</Link> : <span className="mono">{m.from}</span>}</td>
                  <td>
                    {m.keyword && <StatusBadge status={m.keyword} />}
                    <span className="break">{m.body}</span>
                    {m.numMedia > 0 && <div className="muted small">{m.numMedia} attachment{m.numMedia === 1 ? '' : 's'}</div>}
                  </td>
                  <td className="mono nowrap">{m.to}</td>
                  <td className="nowrap">{formatDate(m.createdAt)}</td>
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
