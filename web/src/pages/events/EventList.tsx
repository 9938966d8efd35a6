import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useMemo } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager } from '../../components/Pager';
import { TimeChart } from '../../components/TimeChart';
import { Empty, ErrorMessage, formatDate, formatNumber, Loading, PageHeader } from '../../components/ui';

type Interval = 'hour' | 'day' | 'week';
const RANGES: Record<Interval, number> = { hour: 2 * 86_400_000, day: 30 * 86_400_000, week: 26 * 7 * 86_400_000 };
const STEPS: Record<Interval, number> = { hour: 3_600_000, day: 86_400_000, week: 7 * 86_400_000 };
const isoDate = (d: Date) => d.toISOString().slice(0, 10);

/** Recent events with filters, and the chosen event's counts over time. */
export default function EventList() {
  const [params, setParams] = useSearchParams();
  const event = params.get('event') ?? undefined;
  const customerId = params.get('customer') ?? undefined;
  const cursor = params.get('cursor') ?? undefined;
  const interval = (['hour', 'day', 'week'] as const).find((i) => i === params.get('interval')) ?? 'day';
  const set = (k: string, v?: string) => {
    const next = new URLSearchParams(params);
    if (v) next.set(k, v);
    else next.delete(k);
    if (k !== 'cursor') next.delete('cursor');
    setParams(next);
  };
  const query = { event, customerId, cursor, limit: 50 };
  const list = useQuery({ queryKey: ['events', query], queryFn: () => unwrap(api.GET('/api/analytics/events', { params: { query } })), placeholderData: keepPreviousData });
  // The range ends at the next whole hour so that the query key (and the chart) stays put between renders.
  const to = useMemo(() => new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000 + 3_600_000).toISOString(), []);
  const from = new Date(new Date(to).getTime() - RANGES[interval]).toISOString();
  const countsQuery = { event: event ?? '', interval, from, to };
  const counts = useQuery({
    queryKey: ['event-counts', countsQuery],
    queryFn: () => unwrap(api.GET('/api/analytics/events/counts', { params: { query: countsQuery } })),
    enabled: Boolean(event),
  });
  const series = useMemo(() => {
    if (!counts.data) return [];
    // TimeChart draws running totals of event times: each bucket contributes its count at its start.
    const times: number[] = [];
    for (const b of counts.data.buckets) for (let i = 0; i < Math.min(b.count, 10_000); i++) times.push(new Date(b.start).getTime());
    return [{ label: counts.data.event, color: '#2563eb', times }];
  }, [counts.data]);
  return (
    <>
      <PageHeader title="Events" />
      <p className="muted">
        What customers do, as your apps send it to <code>POST /api/analytics/events</code>, and what our channels record (email delivered, opened and clicked, SMS delivered, calls, orders).
      </p>
      <div className="card filters" role="search">
        <div className="field grow">
          <label htmlFor="ev-name">Event name</label>
          <input id="ev-name" type="search" defaultValue={event} key={event} placeholder="Order Completed" onKeyDown={(e) => e.key === 'Enter' && set('event', e.currentTarget.value.trim() || undefined)} onBlur={(e) => e.target.value.trim() !== (event ?? '') && set('event', e.target.value.trim() || undefined)} />
        </div>
        <div className="field">
          <label htmlFor="ev-interval">Chart by</label>
          <select id="ev-interval" value={interval} onChange={(e) => set('interval', e.target.value)}>
            <option value="hour">Hour (2 days)</option><option value="day">Day (30 days)</option><option value="week">Week (26 weeks)</option>
          </select>
        </div>
        {customerId && (
          <p className="field">
            Customer <Link to={`/customers/${customerId}`}>{customerId.slice(0, 8)}…</Link> <button type="button" className="btn btn-ghost" onClick={() => set('customer')}>Show all</button>
          </p>
        )}
      </div>
      {event && (
        <section className="card" aria-label="Event counts">
          {counts.isPending && <Loading />}
          <ErrorMessage error={counts.error} />
          {counts.data && (
            <>
              <h2>
                {counts.data.event}: {formatNumber(counts.data.total)} since {formatDate(from)}
              </h2>
              <TimeChart title={`${counts.data.event} per ${interval}, running total`} series={series} step={STEPS[interval]} />
            </>
          )}
        </section>
      )}
      <section className="card table-card" aria-label="Recent events">
        {list.isPending && <Loading />}
        <ErrorMessage error={list.error} />
        {list.data && list.data.data.length === 0 && <Empty title={event || customerId ? 'No event matches' : 'No events yet'}>Send some with an API key: see the API guide.</Empty>}
        {list.data && list.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">Event</th><th scope="col">Customer</th><th scope="col">Properties</th><th scope="col">Source</th><th scope="col">When</th></tr></thead>
            <tbody>
              {list.data.data.map((e) => (
                <tr key={e.id}>
                  <td><button type="button" className="btn btn-ghost" onClick={() => set('event', e.name)}>{e.name}</button></td>
                  <td>{e.customerId ? <Link to={`/customers/${e.customerId}`}>{e.customerId.slice(0, 8)}…</Link> : '—'}</td>
                  <td className="muted"><code>{JSON.stringify(e.properties).slice(0, 120)}</code></td>
                  <td><span className="badge">{e.source === 'internal' ? 'ours' : 'API'}</span></td>
                  <td className="nowrap">{formatDate(e.timestamp)}</td>
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
