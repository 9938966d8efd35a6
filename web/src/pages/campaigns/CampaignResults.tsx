import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useMemo, useRef, useState } from 'react';
import { Link, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager } from '../../components/Pager';
import { TimeChart } from '../../components/TimeChart';
import { Button, ConfirmDialog, Empty, ErrorMessage, formatDate, formatPercent, Kpi, MessageCells, PageHeader, QueryState, StatusBadge } from '../../components/ui';

const LIVE = new Set(['sending', 'scheduled']);
const POLL_MS = 2000;

/** A campaign's results: counts, per-link clicks, the recipients' timelines; refreshed while it is sending. */
export default function CampaignResults() {
  const { id = '' } = useParams();
  const qc = useQueryClient();
  const path = { id };
  const campaign = useQuery({
    queryKey: ['campaigns', id],
    queryFn: () => unwrap(api.GET('/api/email/campaigns/{id}', { params: { path } })),
    refetchInterval: (q) => (q.state.data && LIVE.has(q.state.data.status) ? POLL_MS : false),
  });
  const analytics = useQuery({
    queryKey: ['campaigns', id, 'analytics'],
    queryFn: () => unwrap(api.GET('/api/email/campaigns/{id}/analytics', { params: { path } })),
    enabled: Boolean(campaign.data),
    // Polls on its own evidence: while the send runs or messages are still pending.
    refetchInterval: (q) => (q.state.data && (LIVE.has(q.state.data.status) || q.state.data.pending > 0) ? POLL_MS : false),
  });
  const live = Boolean((campaign.data && LIVE.has(campaign.data.status)) || (analytics.data && (LIVE.has(analytics.data.status) || analytics.data.pending > 0)));
  // The poll that sees the send finish may have read the recipients just before: read everything once more.
  const wasLive = useRef(live);
  useEffect(() => {
    if (wasLive.current && !live) void qc.invalidateQueries({ queryKey: ['campaigns', id] });
    wasLive.current = live;
  }, [live, qc, id]);
  const [cursor, setCursor] = useState<string | undefined>();
  const messages = useQuery({
    queryKey: ['campaigns', id, 'messages', cursor],
    queryFn: () => unwrap(api.GET('/api/email/campaigns/{id}/messages', { params: { path, query: { limit: 50, cursor } } })),
    enabled: Boolean(campaign.data),
    refetchInterval: live ? POLL_MS : false,
    placeholderData: keepPreviousData,
  });
  const [confirming, setConfirming] = useState(false);
  const cancel = useMutation({
    mutationFn: () => unwrap(api.POST('/api/email-campaigns/{id}/cancel', { params: { path } })),
    onSuccess: async () => {
      setConfirming(false);
      await qc.invalidateQueries({ queryKey: ['campaigns'] });
    },
  });
  // The server's hourly counts over every recipient (not just the page on screen), as running totals.
  const series = useMemo(() => {
    const hours = analytics.data?.series ?? [];
    const line = (label: string, color: string, k: 'sent' | 'delivered' | 'opened' | 'clicked' | 'bounced' | 'unsubscribed') => {
      const points = hours.filter((h) => h[k] !== 0);
      return { label, color, times: points.map((h) => Date.parse(h.hour)), counts: points.map((h) => h[k]) };
    };
    return [
      line('Sent', '#4f46e5', 'sent'),
      line('Delivered', '#059669', 'delivered'),
      line('Opened', '#0891b2', 'opened'),
      line('Clicked', '#d97706', 'clicked'),
      line('Bounced', '#dc2626', 'bounced'),
      line('Unsubscribed', '#6b7280', 'unsubscribed'),
    ];
  }, [analytics.data]);

  const back = <Link className="back" to="/campaigns">← Campaigns</Link>;
  if (!campaign.data) {
    return (
      <>
        <PageHeader title="Campaign results" back={back} />
        <QueryState query={campaign} what="campaign" />
      </>
    );
  }
  const c = campaign.data;
  const a = analytics.data;
  return (
    <>
      <PageHeader title={c.name} back={back}>
        <StatusBadge status={c.status} />
        {live && <Button variant="danger" onClick={() => setConfirming(true)}>Cancel sending</Button>}
        {c.status === 'draft' && <Link className="btn btn-secondary" to={`/campaigns/${c.id}`}>Edit</Link>}
      </PageHeader>
      <p className="muted">
        {c.status === 'scheduled' && `Scheduled for ${formatDate(c.scheduledAt)}. `}
        {c.startedAt && `Started ${formatDate(c.startedAt)}. `}
        {c.sentAt && `Finished ${formatDate(c.sentAt)}. `}
        {live && <span role="status">Updating every few seconds while the campaign is {c.status}.</span>}
      </p>
      {c.error && <p className="alert alert-error">{c.error}</p>}
      <ErrorMessage error={analytics.error} />
      {a && (
        <section className="kpis" aria-label="Results">
          <Kpi label="Recipients" value={a.recipients} />
          <Kpi label="Sent" value={a.sent} sub={a.pending ? `${a.pending} pending` : undefined} />
          <Kpi label="Delivered" value={a.delivered} />
          <Kpi label="Opened" value={a.opens.unique} sub={a.rates.open !== undefined ? formatPercent(a.rates.open) : undefined} />
          <Kpi label="Clicked" value={a.clicks.unique} sub={a.rates.click !== undefined ? formatPercent(a.rates.click) : undefined} />
          <Kpi label="Bounced" value={a.bounced} />
          <Kpi label="Unsubscribed" value={a.unsubscribed} />
          <Kpi label="Failed" value={a.failed} />
        </section>
      )}
      <div className="grid-2">
        <section className="card">
          <TimeChart title="Over time (all recipients, by hour)" series={series} step={3_600_000} />
        </section>
        <section className="card" aria-labelledby="links-h">
          <h2 id="links-h">Clicks per link</h2>
          {a && a.links.length === 0 && <p className="muted">This campaign has no links.</p>}
          {a && a.links.length > 0 && (
            <table className="table">
              <thead><tr><th scope="col">Link</th><th scope="col" className="num">Clicks</th><th scope="col" className="num">Unique</th></tr></thead>
              <tbody>
                {a.links.map((l) => (
                  <tr key={l.url}><td className="break">{l.url}</td><td className="num">{l.clicks}</td><td className="num">{l.uniqueClicks}</td></tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </div>
      <section className="card table-card" aria-labelledby="recipients-h">
        <h2 id="recipients-h" className="pad">Recipients</h2>
        <ErrorMessage error={messages.error} />
        {messages.data && messages.data.data.length === 0 && <Empty title={c.status === 'draft' ? 'Not sent yet' : 'No recipients yet'} />}
        {messages.data && messages.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">Recipient</th><th scope="col">Status</th><th scope="col">Timeline</th></tr></thead>
            <tbody>
              {messages.data.data.map((m) => (
                <tr key={m.id}>
                  <td>{m.customerId ? <Link to={`/customers/${m.customerId}`}>{m.email}</Link> : m.email}</td>
                  <MessageCells status={m.status} error={m.error} timeline={m.timeline} />
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={cursor} nextCursor={messages.data?.nextCursor} onFirst={() => setCursor(undefined)} onNext={setCursor} label="Recipient pages" />
      </section>
      <ConfirmDialog open={confirming} title="Cancel this campaign?" confirmLabel="Cancel campaign" onConfirm={() => cancel.mutate()} onCancel={() => setConfirming(false)} busy={cancel.isPending} error={cancel.error}>
        <p>Messages not yet sent will not go out. Messages already sent stay sent.</p>
      </ConfirmDialog>
    </>
  );
}
