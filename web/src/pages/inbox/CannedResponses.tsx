import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../../api/client';
import { EditableTable } from '../../components/EditableTable';
import { Button, ErrorMessage, Field, PageHeader, SubNav } from '../../components/ui';
import { INBOX_SETTINGS_TABS } from '../../lib/tabs';

const KEY = ['chat-canned'];

/** Settings → Canned responses: saved replies an agent inserts by typing `/shortcut` in the reply box. */
export default function CannedResponses() {
  const qc = useQueryClient();
  const list = useQuery({ queryKey: KEY, queryFn: () => unwrap(api.GET('/api/chat/canned-responses')) });
  const [shortcut, setShortcut] = useState('');
  const [body, setBody] = useState('');
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
    onSuccess: () => qc.invalidateQueries({ queryKey: KEY }),
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
      <EditableTable
        title="Saved replies"
        headingId="canned-h"
        columns={['Shortcut', 'Text']}
        query={list}
        emptyTitle="No canned responses yet"
        nameOf={(r) => `/${r.shortcut}`}
        cells={(r) => (
          <>
            <td className="nowrap"><code>/{r.shortcut}</code></td>
            <td className="pre-wrap">{r.body}</td>
          </>
        )}
        editFields={(r) => (
          <>
            <Field label="Shortcut">{(p) => <input {...p} name="shortcut" defaultValue={r.shortcut} required maxLength={40} pattern="[A-Za-z0-9][A-Za-z0-9_\-]*" />}</Field>
            <Field label="Text">{(p) => <textarea {...p} name="body" defaultValue={r.body} required maxLength={5000} rows={3} />}</Field>
          </>
        )}
        onSave={{
          run: (r, form) => {
            const f = new FormData(form);
            return update.mutateAsync({ id: r.id, shortcut: String(f.get('shortcut')), body: String(f.get('body')) });
          },
          busy: update.isPending,
          error: update.error,
        }}
        onDelete={{ run: (r) => remove.mutate(r.id), error: remove.error }}
      />
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
