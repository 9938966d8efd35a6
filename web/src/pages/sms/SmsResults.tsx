import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { BarChart } from '../../components/BarChart';
import { Pager } from '../../components/Pager';
import { Button, ConfirmDialog, Empty, ErrorMessage, Field, formatDate, formatPercent, Kpi, PageHeader, QueryState, StatusBadge } from '../../components/ui';

const LIVE = new Set(['sending', 'scheduled']);
const POLL_MS = 2000;

/**
 * An SMS campaign's results, built like the email results page: the headline counts, where the
 * messages are (queued → sent → delivered, or failed), segments and cost, Twilio's error codes;
 * refreshed while the campaign sends or messages wait in the queue.
 */
export default function SmsResults() {
  const { id = '' } = useParams();
  const qc = useQueryClient();
  const path = { id };
  const campaign = useQuery({
    queryKey: ['sms-campaigns', id],
    queryFn: () => unwrap(api.GET('/api/sms/campaigns/{id}', { params: { path } })),
    refetchInterval: (q) => (q.state.data && LIVE.has(q.state.data.status) ? POLL_MS : false),
  });
  const analytics = useQuery({
    queryKey: ['sms-campaigns', id, 'analytics'],
    queryFn: () => unwrap(api.GET('/api/sms/campaigns/{id}/analytics', { params: { path } })),
    enabled: Boolean(campaign.data),
    refetchInterval: (q) => (q.state.data && (LIVE.has(q.state.data.status) || q.state.data.queued > 0) ? POLL_MS : false),
  });
  const live = Boolean((campaign.data && LIVE.has(campaign.data.status)) || (analytics.data && (LIVE.has(analytics.data.status) || analytics.data.queued > 0)));
  const wasLive = useRef(live);
  useEffect(() => {
    if (wasLive.current && !live) void qc.invalidateQueries({ queryKey: ['sms-campaigns', id] });
    wasLive.current = live;
  }, [live, qc, id]);
  const [confirming, setConfirming] = useState(false);
  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST('/api/sms/campaigns/{id}/cancel', { params: { path } })),
    onSuccess: async () => {
      setConfirming(false);
      await qc.invalidateQueries({ queryKey: ['sms-campaigns'] });
    },
  });

  const back = <Link className="back" to="/sms">← SMS campaigns</Link>;
  if (!campaign.data) {
    return (
      <>
        <PageHeader title="SMS campaign results" back={back} />
        <QueryState query={campaign} what="SMS campaign" />
      </>
    );
  }
  const c = campaign.data;
  const a = analytics.data;
  const handed = a ? a.sent + a.failed : 0;
  return (
    <>
      <PageHeader title={c.name} back={back}>
        <StatusBadge status={c.status} />
        {live && <Button variant="danger" onClick={() => setConfirming(true)}>Cancel sending</Button>}
        {(c.status === 'draft' || c.status === 'scheduled') && <Link className="btn btn-secondary" to={`/sms/${c.id}`}>Edit</Link>}
      </PageHeader>
      <p className="muted">
        {c.status === 'scheduled' && `Scheduled for ${formatDate(c.scheduledAt)}. `}
        {c.sentAt && `Sent ${formatDate(c.sentAt)}. `}
        {c.segments} segment{c.segments === 1 ? '' : 's'} per message ({c.encoding}) as written.{' '}
        {live && <span role="status">Updating every few seconds while the campaign is {c.status}.</span>}
      </p>
      <div className="sms-bubble">{c.body}</div>
      {analytics.isPending && <QueryState query={analytics} />}
      <ErrorMessage error={analytics.error} />
      {a && (
        <>
          <section className="kpis" aria-label="Results">
            <Kpi label="Recipients" value={a.recipients} sub={a.invalidNumbers ? `${a.invalidNumbers} left out: invalid number` : undefined} />
            <Kpi label="Sent" value={a.sent} sub={a.queued ? `${a.queued} queued` : undefined} />
            <Kpi label="Delivered" value={a.delivered} sub={a.sent ? formatPercent(a.delivered / a.sent) : undefined} />
            <Kpi label="Failed" value={a.failed + a.undelivered} sub={a.undelivered ? `${a.undelivered} undelivered` : handed ? formatPercent(a.failed / handed) : undefined} />
            <Kpi label="Opted out" value={a.optedOut} sub={a.cancelled ? `${a.cancelled} cancelled` : undefined} />
            <Kpi label="Segments" value={a.segments} />
            <Kpi label="Cost (estimate)" value={formatMoney(a.cost.estimate, a.cost.currency)} sub={`${formatMoney(a.cost.perSegment, a.cost.currency)} per segment`} />
          </section>
          <div className="grid-2">
            <section className="card">
              <BarChart
                title="Where the messages are"
                data={{ queued: a.queued, sent: a.sent - a.delivered - a.undelivered, delivered: a.delivered, undelivered: a.undelivered, failed: a.failed, cancelled: a.cancelled }}
                colors={{ queued: '#6366f1', sent: '#0891b2', undelivered: '#f59e0b' }}
              />
            </section>
            <section className="card" aria-labelledby="codes-h">
              <h2 id="codes-h">Twilio error codes</h2>
              {a.errorCodes.length === 0 && <p className="muted">No message has failed.</p>}
              {a.errorCodes.length > 0 && (
                <table className="table">
                  <thead><tr><th scope="col">Code</th><th scope="col" className="num">Messages</th></tr></thead>
                  <tbody>
                    {a.errorCodes.map((e) => (
                      <tr key={e.code}><td><a href={`https://www.twilio.com/docs/api/errors/${e.code}`} target="_blank" rel="noreferrer">{e.code}</a></td><td className="num">{e.count}</td></tr>
                    ))}
                  </tbody>
                </table>
              )}
            </section>
          </div>
        </>
      )}
      <SmsMessages id={c.id} live={live} draft={c.status === 'draft'} />
      <ConfirmDialog open={confirming} title="Cancel this campaign?" confirmLabel="Cancel campaign" onConfirm={() => cancel.mutate()} onCancel={() => setConfirming(false)} busy={cancel.isPending} error={cancel.error}>
        <p>Messages not yet sent will not go out. Messages already sent stay sent.</p>
      </ConfirmDialog>
    </>
  );
}

const formatMoney = (n: number, currency: string) => {
  try {
    return n.toLocaleString(undefined, { style: 'currency', currency, maximumFractionDigits: n < 1 ? 4 : 2 });
  } catch {
    return `${n.toFixed(4)} ${currency}`;
  }
};

const MESSAGE_STATUSES = ['queued', 'sending', 'sent', 'delivered', 'undelivered', 'failed', 'cancelled'] as const;
type MessageStatus = (typeof MESSAGE_STATUSES)[number];

/** The campaign's messages, oldest first, a page of 50 at a time, filtered by status. */
function SmsMessages({ id, live, draft }: { id: string; live: boolean; draft: boolean }) {
  const [status, setStatus] = useState<MessageStatus | ''>('');
  const [cursor, setCursor] = useState<string | undefined>();
  const messages = useQuery({
    queryKey: ['sms-campaigns', id, 'messages', status, cursor],
    queryFn: () => unwrap(api.GET('/api/sms/campaigns/{id}/messages', { params: { path: { id }, query: { limit: 50, cursor, ...(status && { status }) } } })),
    refetchInterval: live ? POLL_MS : false,
    placeholderData: keepPreviousData,
  });
  const rows = messages.data?.data ?? [];
  return (
    <section className="card table-card" aria-labelledby="sms-messages-h">
      <h2 id="sms-messages-h" className="pad">Messages</h2>
      <form className="filters" role="search" aria-label="Filter messages" onSubmit={(e) => e.preventDefault()}>
        <Field label="Status">
          {(p) => (
            <select {...p} value={status} onChange={(e) => { setStatus(e.target.value as MessageStatus | ''); setCursor(undefined); }}>
              <option value="">Any</option>
              {MESSAGE_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
            </select>
          )}
        </Field>
      </form>
      <ErrorMessage error={messages.error} />
      {messages.data && rows.length === 0 && <Empty title={status ? `No ${status} messages` : draft ? 'Not sent yet' : 'No messages yet'} />}
      {rows.length > 0 && (
        <table className={`table${messages.isPlaceholderData ? ' is-stale' : ''}`}>
          <caption className="sr-only">Messages of this campaign</caption>
          <thead><tr><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col" className="num">Segments</th><th scope="col">Sent</th><th scope="col">Delivered</th></tr></thead>
          <tbody>
            {rows.map((m) => (
              <tr key={m.id}>
                <td>{m.customerId ? <Link to={`/customers/${m.customerId}`}>{m.toPhone}</Link> : m.toPhone}</td>
                <td>
                  <StatusBadge status={m.status} />
                  {(m.errorCode || m.error) && <div className="muted small">{m.errorCode ? `Error ${m.errorCode}` : ''}{m.errorCode && m.error ? ': ' : ''}{m.error ?? ''}</div>}
                </td>
                <td className="num">{m.segments ?? '—'}</td>
                <td className="nowrap">{m.sentAt ? formatDate(m.sentAt) : '—'}</td>
                <td className="nowrap">{m.deliveredAt ? formatDate(m.deliveredAt) : '—'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <Pager cursor={cursor} nextCursor={messages.data?.nextCursor} onFirst={() => setCursor(undefined)} onNext={setCursor} label="Message pages" />
    </section>
  );
}
