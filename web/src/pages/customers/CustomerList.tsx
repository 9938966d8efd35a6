import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Empty, ErrorMessage, formatDate, Loading, PageHeader } from '../../components/ui';

type Flag = 'true' | 'false';
const asFlag = (v: string | null): Flag | undefined => (v === 'true' || v === 'false' ? v : undefined);

/** Filters and the page cursor live in the URL, so a filtered view can be bookmarked and shared. */
export default function CustomerList() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const tag = params.get('tag') ?? '';
  const emailOptIn = asFlag(params.get('emailOptIn'));
  const smsOptIn = asFlag(params.get('smsOptIn'));
  const cursor = params.get('cursor') ?? undefined;
  const [search, setSearch] = useState(q);
  useEffect(() => setSearch(q), [q]);

  const query = { q: q || undefined, tag: tag || undefined, emailOptIn, smsOptIn, cursor, limit: 25 };
  const list = useQuery({
    queryKey: ['customers', 'list', query],
    queryFn: () => unwrap(api.GET('/api/customers', { params: { query } })),
    placeholderData: keepPreviousData,
  });

  const update = (changes: Record<string, string | undefined>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) (v ? next.set(k, v) : next.delete(k));
    if (!('cursor' in changes)) next.delete('cursor'); // a new filter starts on the first page
    setParams(next);
  };
  // Search as you type, once typing pauses.
  useEffect(() => {
    if (search === q) return;
    const t = setTimeout(() => update({ q: search.trim() || undefined }), 300);
    return () => clearTimeout(t);
  }, [search]); // eslint-disable-line react-hooks/exhaustive-deps

  const filtered = Boolean(q || tag || emailOptIn || smsOptIn);
  return (
    <>
      <PageHeader title="Customers">
        <Link className="btn btn-secondary" to="/customers/import">Import CSV</Link>
        <Link className="btn btn-primary" to="/customers/new">Add customer</Link>
      </PageHeader>
      <form className="filters card" role="search" onSubmit={(e) => { e.preventDefault(); update({ q: search.trim() || undefined }); }}>
        <div className="field grow">
          <label htmlFor="f-q">Search</label>
          <input id="f-q" type="search" placeholder="Name, email or phone" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <div className="field">
          <label htmlFor="f-tag">Tag</label>
          <input id="f-tag" defaultValue={tag} key={tag} onBlur={(e) => e.target.value.trim() !== tag && update({ tag: e.target.value.trim() || undefined })} onKeyDown={(e) => e.key === 'Enter' && (e.preventDefault(), update({ tag: e.currentTarget.value.trim() || undefined }))} />
        </div>
        <div className="field">
          <label htmlFor="f-email">Email consent</label>
          <select id="f-email" value={emailOptIn ?? ''} onChange={(e) => update({ emailOptIn: e.target.value || undefined })}>
            <option value="">Any</option>
            <option value="true">Opted in</option>
            <option value="false">Not opted in</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-sms">SMS consent</label>
          <select id="f-sms" value={smsOptIn ?? ''} onChange={(e) => update({ smsOptIn: e.target.value || undefined })}>
            <option value="">Any</option>
            <option value="true">Opted in</option>
            <option value="false">Not opted in</option>
          </select>
        </div>
        {filtered && <button type="button" className="btn btn-ghost" onClick={() => { setSearch(''); setParams(new URLSearchParams()); }}>Clear filters</button>}
      </form>

      <ErrorMessage error={list.error} />
      {list.isPending && <Loading />}
      {list.data && list.data.data.length === 0 && (
        <div className="card">
          {filtered ? (
            <Empty title="No customer matches these filters" />
          ) : (
            <Empty title="No customers yet">
              <p>Import a CSV file or add your first customer.</p>
              <div className="row center-row">
                <Link className="btn btn-primary" to="/customers/import">Import CSV</Link>
                <Link className="btn btn-secondary" to="/customers/new">Add customer</Link>
              </div>
            </Empty>
          )}
        </div>
      )}
      {list.data && list.data.data.length > 0 && (
        <div className="card table-card">
          <table className={`table ${list.isPlaceholderData ? 'is-stale' : ''}`}>
            <caption className="sr-only">Customers{filtered ? ' matching the filters' : ''}</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Phone</th>
                <th scope="col">Tags</th>
                <th scope="col">Consent</th>
                <th scope="col">Added</th>
              </tr>
            </thead>
            <tbody>
              {list.data.data.map((c) => (
                <tr key={c.id}>
                  <td><Link to={`/customers/${c.id}`}>{[c.firstName, c.lastName].filter(Boolean).join(' ') || <span className="muted">(no name)</span>}</Link></td>
                  <td>{c.email ?? '—'}</td>
                  <td>{c.phone ?? '—'}</td>
                  <td>{c.tags.map((t) => <span className="tag" key={t}>{t}</span>)}</td>
                  <td>
                    {c.emailOptIn && <span className="badge badge-sent">email</span>}
                    {c.smsOptIn && <span className="badge badge-sent">sms</span>}
                    {!c.emailOptIn && !c.smsOptIn && <span className="muted">none</span>}
                  </td>
                  <td className="nowrap">{formatDate(c.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <nav className="pager" aria-label="Pages">
            {cursor ? <button type="button" className="btn btn-ghost" onClick={() => update({ cursor: undefined })}>← First page</button> : <span />}
            {list.data.nextCursor && (
              <button type="button" className="btn btn-secondary" onClick={() => update({ cursor: list.data.nextCursor ?? undefined })}>Next page →</button>
            )}
          </nav>
        </div>
      )}
    </>
  );
}
