import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Button, Empty, ErrorMessage, Field, formatDate, formatNumber, Loading, PageHeader, StatusBadge } from '../../components/ui';

type Status = 'draft' | 'published';

/** Help center: the organization's articles (filters, counts), its categories, and the link to the public site. */
export default function ArticleList() {
  const { cursor, setCursor, reset } = useCursor();
  const [status, setStatus] = useState<Status | ''>('');
  const [locale, setLocale] = useState('');
  const [categoryId, setCategoryId] = useState('');
  const [q, setQ] = useState('');
  const org = useQuery({ queryKey: ['organization'], queryFn: () => unwrap(api.GET('/api/organizations/current')) });
  const categories = useQuery({ queryKey: ['kb-categories'], queryFn: () => unwrap(api.GET('/api/knowledge-base/categories', { params: { query: { limit: 200 } } })) });
  const validLocale = /^[a-z]{2}(-[A-Z]{2})?$/.test(locale);
  const query = { limit: 50, cursor, ...(status && { status }), ...(validLocale && { locale }), ...(categoryId && { categoryId }), ...(q.trim() && { q: q.trim() }) };
  const list = useQuery({
    queryKey: ['kb-articles', query],
    queryFn: () => unwrap(api.GET('/api/knowledge-base/articles', { params: { query } })),
    placeholderData: keepPreviousData,
  });
  const categoryName = new Map((categories.data?.data ?? []).map((c) => [c.id, c.name]));
  const filter = (fn: () => void) => {
    fn();
    reset();
  };
  return (
    <>
      <PageHeader title="Help center">
        <Link className="btn btn-primary" to="/help-center/new">New article</Link>
      </PageHeader>
      <p className="muted">
        Articles in Markdown, per language, published on your public help center
        {org.data && <> at <a href={`/help/${org.data.slug}`}>/help/{org.data.slug}</a></>} and suggested by the chat widget.
      </p>
      <form className="filters" role="search" aria-label="Filter articles" onSubmit={(e) => e.preventDefault()}>
        <Field label="Title contains">{(p) => <input {...p} type="search" value={q} maxLength={200} onChange={(e) => filter(() => setQ(e.target.value))} />}</Field>
        <Field label="Status">
          {(p) => (
            <select {...p} value={status} onChange={(e) => filter(() => setStatus(e.target.value as Status | ''))}>
              <option value="">Any</option>
              <option value="draft">Draft</option>
              <option value="published">Published</option>
            </select>
          )}
        </Field>
        <Field label="Locale">{(p) => <input {...p} value={locale} placeholder="en" maxLength={5} size={6} onChange={(e) => filter(() => setLocale(e.target.value))} />}</Field>
        <Field label="Category">
          {(p) => (
            <select {...p} value={categoryId} onChange={(e) => filter(() => setCategoryId(e.target.value))}>
              <option value="">Any</option>
              {(categories.data?.data ?? []).map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
            </select>
          )}
        </Field>
      </form>
      <section className="card table-card" aria-label="Articles">
        {list.isPending && <Loading />}
        <ErrorMessage error={list.error} />
        {list.data && list.data.data.length === 0 && <Empty title="No articles">Write one with “New article”.</Empty>}
        {list.data && list.data.data.length > 0 && (
          <table className="table">
            <thead>
              <tr><th scope="col">Title</th><th scope="col">Locales</th><th scope="col">Category</th><th scope="col">Status</th><th scope="col">Views</th><th scope="col">Helpful</th><th scope="col">Updated</th></tr>
            </thead>
            <tbody>
              {list.data.data.map((a) => (
                <tr key={a.id}>
                  <td><Link to={`/help-center/${a.id}`}>{a.translations[0]?.title ?? '(untitled)'}</Link></td>
                  <td>{a.translations.map((t) => t.locale).join(', ')}</td>
                  <td>{a.categoryId ? categoryName.get(a.categoryId) ?? '—' : '—'}</td>
                  <td><StatusBadge status={a.status} /></td>
                  <td>{formatNumber(a.views)}</td>
                  <td className="nowrap">{`${formatNumber(a.helpful)} yes · ${formatNumber(a.notHelpful)} no`}</td>
                  <td className="nowrap">{formatDate(a.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={cursor} nextCursor={list.data?.nextCursor} onFirst={reset} onNext={setCursor} />
      </section>
      <Categories />
    </>
  );
}

function Categories() {
  const qc = useQueryClient();
  const categories = useQuery({ queryKey: ['kb-categories'], queryFn: () => unwrap(api.GET('/api/knowledge-base/categories', { params: { query: { limit: 200 } } })) });
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const done = () => qc.invalidateQueries({ queryKey: ['kb-categories'] });
  const create = useMutation({
    mutationFn: () => unwrap(api.POST('/api/knowledge-base/categories', { body: { name, description, position: categories.data?.data.length ?? 0 } })),
    onSuccess: async () => {
      setName('');
      setDescription('');
      await done();
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/knowledge-base/categories/{id}', { params: { path: { id } } })),
    onSuccess: done,
  });
  return (
    <section className="card stack" aria-labelledby="cat-h">
      <h2 id="cat-h">Categories</h2>
      {categories.data && categories.data.data.length === 0 && <p className="muted">No categories yet: articles are listed together.</p>}
      {categories.data && categories.data.data.length > 0 && (
        <ul className="plain-list">
          {categories.data.data.map((c) => (
            <li key={c.id} className="row">
              <span className="grow"><strong>{c.name}</strong> <span className="muted small">/{c.slug} · {c.articles} article{c.articles === 1 ? '' : 's'}</span></span>
              <Button variant="ghost" onClick={() => remove.mutate(c.id)} busy={remove.isPending && remove.variables === c.id} aria-label={`Delete category ${c.name}`}>Delete</Button>
            </li>
          ))}
        </ul>
      )}
      <ErrorMessage error={remove.error} />
      <form
        className="row"
        aria-label="Add a category"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <Field label="Category name">{(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} required maxLength={120} />}</Field>
        <Field label="Category description">{(p) => <input {...p} value={description} onChange={(e) => setDescription(e.target.value)} maxLength={500} />}</Field>
        <div><Button type="submit" busy={create.isPending} disabled={!name.trim()}>Add category</Button></div>
      </form>
      <ErrorMessage error={create.error} />
    </section>
  );
}
