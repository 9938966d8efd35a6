import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { Button, Empty, ErrorMessage, Field, Loading, PageHeader, SubNav } from '../../components/ui';
import { INBOX_SETTINGS_TABS } from '../../lib/tabs';

const KEY = ['chat-canned'];

/** Settings → Canned responses: saved replies an agent inserts by typing `/shortcut` in the reply box. */
export default function CannedResponses() {
  const qc = useQueryClient();
  const list = useQuery({ queryKey: KEY, queryFn: () => unwrap(api.GET('/api/chat/canned-responses')) });
  const [shortcut, setShortcut] = useState('');
  const [body, setBody] = useState('');
  const [editing, setEditing] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: () => unwrap(api.POST('/api/chat/canned-responses', { body: { shortcut, body } })),
    onSuccess: () => {
      setShortcut('');
      setBody('');
      return qc.invalidateQueries({ queryKey: KEY });
    },
  });
  const update = useMutation({
    mutationFn: (v: { id: string; shortcut: string; body: string }) => unwrap(api.PATCH('/api/chat/canned-responses/{id}', { params: { path: { id: v.id } }, body: { shortcut: v.shortcut, body: v.body } })),
    onSuccess: () => {
      setEditing(null);
      return qc.invalidateQueries({ queryKey: KEY });
    },
  });
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/chat/canned-responses/{id}', { params: { path: { id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: KEY }),
  });
  return (
    <>
      <PageHeader title="Canned responses" />
      <SubNav label="Inbox settings" links={INBOX_SETTINGS_TABS} />
      <p className="muted">Type <kbd>/</kbd> and the shortcut in a reply to insert the text.</p>
      <section className="card table-card" aria-labelledby="canned-h">
        <h2 id="canned-h" className="pad">Saved replies</h2>
        {list.isPending && <Loading />}
        <ErrorMessage error={list.error ?? remove.error} />
        {list.data && list.data.data.length === 0 && <Empty title="No canned responses yet" />}
        {list.data && list.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">Shortcut</th><th scope="col">Text</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {list.data.data.map((r) =>
                editing === r.id ? (
                  <tr key={r.id}>
                    <td colSpan={3}>
                      <form
                        className="stack-sm"
                        aria-label={`Edit /${r.shortcut}`}
                        onSubmit={(e) => {
                          e.preventDefault();
                          const f = new FormData(e.currentTarget);
                          update.mutate({ id: r.id, shortcut: String(f.get('shortcut')), body: String(f.get('body')) });
                        }}
                      >
                        <Field label="Shortcut">{(p) => <input {...p} name="shortcut" defaultValue={r.shortcut} required maxLength={40} pattern="[A-Za-z0-9][A-Za-z0-9_\-]*" />}</Field>
                        <Field label="Text">{(p) => <textarea {...p} name="body" defaultValue={r.body} required maxLength={5000} rows={3} />}</Field>
                        <ErrorMessage error={update.error} />
                        <div className="row">
                          <Button type="submit" busy={update.isPending}>Save</Button>
                          <Button variant="ghost" onClick={() => setEditing(null)}>Cancel</Button>
                        </div>
                      </form>
                    </td>
                  </tr>
                ) : (
                  <tr key={r.id}>
                    <td className="nowrap"><code>/{r.shortcut}</code></td>
                    <td className="pre-wrap">{r.body}</td>
                    <td className="nowrap">
                      <Button variant="ghost" onClick={() => setEditing(r.id)} aria-label={`Edit /${r.shortcut}`}>Edit</Button>
                      <Button variant="ghost" onClick={() => remove.mutate(r.id)} aria-label={`Delete /${r.shortcut}`}>Delete</Button>
                    </td>
                  </tr>
                ),
              )}
            </tbody>
          </table>
        )}
      </section>
      <form
        className="card stack narrow-lg"
        aria-labelledby="new-canned-h"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <h2 id="new-canned-h">New canned response</h2>
        <Field label="Shortcut" hint="Letters, digits, - and _; typed after a slash.">{(p) => <input {...p} value={shortcut} onChange={(e) => setShortcut(e.target.value)} required maxLength={40} pattern="[A-Za-z0-9][A-Za-z0-9_\-]*" placeholder="thanks" />}</Field>
        <Field label="Text">{(p) => <textarea {...p} value={body} onChange={(e) => setBody(e.target.value)} required maxLength={5000} rows={3} placeholder="Thanks for your patience!" />}</Field>
        <ErrorMessage error={create.error} />
        <div className="row"><Button type="submit" busy={create.isPending}>Add canned response</Button></div>
      </form>
    </>
  );
}
