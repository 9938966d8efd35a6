import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap, type Body } from '../../api/client';
import { EmailFrame } from '../../components/EmailFrame';
import { Button, ConfirmDialog, ErrorMessage, Field, formatNumber, Kpi, NotFoundState, PageHeader, QueryState, StatusBadge, isNotFound } from '../../components/ui';

type Article = Body<'/api/knowledge-base/articles/{id}', 'get'>;
interface Draft {
  title: string;
  description: string;
  body: string;
  slug: string;
}
const EMPTY: Draft = { title: '', description: '', body: '', slug: '' };
const LOCALE = /^[a-z]{2}(-[A-Z]{2})?$/;

/** Writes an article: its versions per locale (Markdown with a sanitized preview), category, publishing, counts. */
export default function ArticleEditor() {
  const { id } = useParams();
  const isNew = !id;
  const qc = useQueryClient();
  const navigate = useNavigate();
  const article = useQuery({
    queryKey: ['kb-article', id],
    enabled: !isNew,
    queryFn: () => unwrap(api.GET('/api/knowledge-base/articles/{id}', { params: { path: { id: id! } } })),
  });
  const categories = useQuery({ queryKey: ['kb-categories'], queryFn: () => unwrap(api.GET('/api/knowledge-base/categories', { params: { query: { limit: 200 } } })) });
  const [drafts, setDrafts] = useState<Record<string, Draft>>({ en: { ...EMPTY } });
  const [removed, setRemoved] = useState<string[]>([]);
  const [locale, setLocale] = useState('en');
  const [categoryId, setCategoryId] = useState('');
  const [newLocale, setNewLocale] = useState('');
  const [preview, setPreview] = useState<string | null>(null);
  const [confirmDelete, setConfirmDelete] = useState(false);

  useEffect(() => {
    const a = article.data;
    if (!a) return;
    setDrafts(Object.fromEntries(a.translations.map((t) => [t.locale, { title: t.title, description: t.description, body: t.body, slug: t.slug }])));
    setLocale((l) => (a.translations.some((t) => t.locale === l) ? l : a.translations[0]?.locale ?? 'en'));
    setCategoryId(a.categoryId ?? '');
    setRemoved([]);
  }, [article.data]);

  const current = drafts[locale] ?? EMPTY;
  const edit = (patch: Partial<Draft>) => setDrafts((d) => ({ ...d, [locale]: { ...current, ...patch } }));
  const translations = () =>
    Object.fromEntries(Object.entries(drafts).map(([l, d]) => [l, { title: d.title, description: d.description, body: d.body, ...(d.slug && { slug: d.slug }) }]));

  const done = async (a: { id: string }) => {
    await qc.invalidateQueries({ queryKey: ['kb-articles'] });
    qc.setQueryData(['kb-article', a.id], a);
    if (isNew) await navigate(`/help-center/${a.id}`, { replace: true });
  };
  const save = useMutation({
    mutationFn: () =>
      isNew
        ? unwrap(api.POST('/api/knowledge-base/articles', { body: { categoryId: categoryId || null, translations: translations() } }))
        : unwrap(
            api.PATCH('/api/knowledge-base/articles/{id}', {
              params: { path: { id: id! } },
              body: { categoryId: categoryId || null, translations: { ...translations(), ...Object.fromEntries(removed.map((l) => [l, null])) } },
            }),
          ),
    onSuccess: done,
  });
  const publish = useMutation({
    mutationFn: (to: 'publish' | 'unpublish') =>
      unwrap(to === 'publish'
        ? api.POST('/api/knowledge-base/articles/{id}/publish', { params: { path: { id: id! } } })
        : api.POST('/api/knowledge-base/articles/{id}/unpublish', { params: { path: { id: id! } } })),
    onSuccess: done,
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/knowledge-base/articles/{id}', { params: { path: { id: id! } } })),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['kb-articles'] });
      await navigate('/help-center');
    },
  });
  const render = useMutation({
    mutationFn: () => unwrap(api.POST('/api/knowledge-base/preview', { body: { body: current.body } })),
    onSuccess: (r) => setPreview(r.html),
  });

  if (!isNew && !article.data) return isNotFound(article.error) ? <NotFoundState what="article" /> : <QueryState query={article} what="article" />;
  const a = article.data as Article | undefined;
  const saved = a?.translations.find((t) => t.locale === locale);
  const addLocale = () => {
    if (!LOCALE.test(newLocale) || drafts[newLocale]) return;
    setDrafts((d) => ({ ...d, [newLocale]: { ...EMPTY } }));
    setRemoved((r) => r.filter((l) => l !== newLocale));
    setLocale(newLocale);
    setNewLocale('');
    setPreview(null);
  };
  const dropLocale = () => {
    const rest = Object.keys(drafts).filter((l) => l !== locale);
    if (!rest.length) return;
    if (a?.translations.some((t) => t.locale === locale)) setRemoved((r) => [...r, locale]);
    setDrafts((d) => Object.fromEntries(Object.entries(d).filter(([l]) => l !== locale)));
    setLocale(rest[0]);
    setPreview(null);
  };
  return (
    <>
      <PageHeader title={isNew ? 'New article' : current.title || 'Article'} back={<Link to="/help-center">← Help center</Link>}>
        {a && <StatusBadge status={a.status} />}
      </PageHeader>
      {a && (
        <div className="kpis" aria-label="Article counts">
          <Kpi label="Views" value={formatNumber(a.views)} />
          <Kpi label="Helpful" value={formatNumber(a.helpful)} />
          <Kpi label="Not helpful" value={formatNumber(a.notHelpful)} />
        </div>
      )}
      <form
        className="card stack"
        aria-label="Article"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <div className="row">
          <div className="tabs" role="group" aria-label="Locales">
            {Object.keys(drafts).sort().map((l) => (
              <button key={l} type="button" aria-pressed={l === locale} onClick={() => { setLocale(l); setPreview(null); }}>{l}</button>
            ))}
          </div>
          <Field label="Add a locale">{(p) => <input {...p} value={newLocale} placeholder="fr" maxLength={5} size={6} onChange={(e) => setNewLocale(e.target.value)} />}</Field>
          <Button variant="secondary" onClick={addLocale} disabled={!LOCALE.test(newLocale) || Boolean(drafts[newLocale])}>Add locale</Button>
          {Object.keys(drafts).length > 1 && <Button variant="ghost" onClick={dropLocale}>Remove {locale}</Button>}
        </div>
        <Field label={`Title (${locale})`}>{(p) => <input {...p} value={current.title} onChange={(e) => edit({ title: e.target.value })} required maxLength={200} />}</Field>
        <Field label="Description" hint="Shown under the title, in search results and to search engines.">
          {(p) => <input {...p} value={current.description} onChange={(e) => edit({ description: e.target.value })} maxLength={500} />}
        </Field>
        <Field label="Slug" hint="The article's address in this locale; made from the title when empty.">
          {(p) => <input {...p} value={current.slug} onChange={(e) => edit({ slug: e.target.value.toLowerCase() })} maxLength={80} pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?" />}
        </Field>
        <Field label="Category">
          {(p) => (
            <select {...p} value={categoryId} onChange={(e) => setCategoryId(e.target.value)}>
              <option value="">None</option>
              {(categories.data?.data ?? []).map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
            </select>
          )}
        </Field>
        <Field label="Body (Markdown)">
          {(p) => <textarea {...p} className="editor" rows={14} value={current.body} onChange={(e) => edit({ body: e.target.value })} maxLength={100000} />}
        </Field>
        <div className="row">
          <Button type="submit" busy={save.isPending} disabled={Object.values(drafts).some((d) => !d.title.trim())}>{isNew ? 'Save draft' : 'Save'}</Button>
          <Button variant="secondary" onClick={() => render.mutate()} busy={render.isPending}>Preview</Button>
          {a && (a.status === 'published'
            ? <Button variant="secondary" onClick={() => publish.mutate('unpublish')} busy={publish.isPending}>Unpublish</Button>
            : <Button variant="secondary" onClick={() => publish.mutate('publish')} busy={publish.isPending}>Publish</Button>)}
          {a && <Button variant="danger" onClick={() => setConfirmDelete(true)}>Delete</Button>}
          {a?.status === 'published' && saved && <a href={saved.url}>View on the help center</a>}
        </div>
        {save.isSuccess && !save.isPending && <p className="success" role="status">Saved.</p>}
        <ErrorMessage error={save.error ?? publish.error ?? render.error} />
      </form>
      {preview !== null && (
        <section className="card" aria-labelledby="preview-h">
          <h2 id="preview-h">Preview ({locale})</h2>
          <p className="muted small">The sanitized HTML the help center serves: scripts, event handlers and unsafe links are removed.</p>
          <EmailFrame html={`<h1>${escape(current.title)}</h1>${preview}`} title="Article preview" height={420} />
        </section>
      )}
      <ConfirmDialog open={confirmDelete} title="Delete this article?" confirmLabel="Delete article" onConfirm={() => remove.mutate()} onCancel={() => setConfirmDelete(false)} busy={remove.isPending} error={remove.error}>
        <p>Every locale goes, and the help center stops serving it.</p>
      </ConfirmDialog>
    </>
  );
}

const escape = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
