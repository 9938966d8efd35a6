import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { ErrorMessage, formatDate, Loading } from '../../components/ui';

/** The customer page's timeline: their latest events, ours and the organization's. */
export function CustomerTimeline({ customerId }: { customerId: string }) {
  const events = useQuery({
    queryKey: ['customer-events', customerId],
    queryFn: () => unwrap(api.GET('/api/customers/{id}/events', { params: { path: { id: customerId }, query: { limit: 20 } } })),
  });
  return (
    <section className="card" aria-labelledby="timeline-title">
      <h2 id="timeline-title">Timeline</h2>
      {events.isPending && <Loading />}
      <ErrorMessage error={events.error} />
      {events.data && events.data.data.length === 0 && <p className="muted">No events yet.</p>}
      {events.data && events.data.data.length > 0 && (
        <ol className="timeline" aria-label="Latest events">
          {events.data.data.map((e) => (
            <li key={e.id}>
              <strong>{e.name}</strong> <span className="muted nowrap">{formatDate(e.timestamp)}</span>
              {Object.keys(e.properties).length > 0 && <div className="muted"><code>{JSON.stringify(e.properties).slice(0, 160)}</code></div>}
            </li>
          ))}
        </ol>
      )}
      {events.data?.nextCursor && <p><Link to={`/events?customer=${customerId}`}>All events of this customer</Link></p>}
    </section>
  );
}
