import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Empty, ErrorMessage, formatDate, Loading, PageHeader } from '../../components/ui';

export default function SegmentList() {
  const { cursor, setCursor, reset } = useCursor();
  const list = useQuery({ queryKey: ['segments', cursor], queryFn: () => unwrap(api.GET('/api/segments', { params: { query: { cursor, limit: 50 } } })), placeholderData: keepPreviousData });
  return (
    <>
      <PageHeader title="Segments">
        <Link className="btn btn-primary" to="/segments/new">New segment</Link>
      </PageHeader>
      <p className="muted">Saved groups of customers by who they are and what they did (events), counted live.</p>
      <section className="card table-card" aria-label="Saved segments">
        {list.isPending && <Loading />}
        <ErrorMessage error={list.error} />
        {list.data && list.data.data.length === 0 && <Empty title="No segments yet">Create one to count and find customers by their events.</Empty>}
        {list.data && list.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">Name</th><th scope="col">Updated</th></tr></thead>
            <tbody>
              {list.data.data.map((s) => (
                <tr key={s.id}><td><Link to={`/segments/${s.id}`}>{s.name}</Link></td><td className="nowrap">{formatDate(s.updatedAt)}</td></tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={cursor} nextCursor={list.data?.nextCursor} onFirst={reset} onNext={setCursor} />
      </section>
    </>
  );
}
