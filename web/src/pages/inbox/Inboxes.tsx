import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Button, Empty, ErrorMessage, Field, formatDate, Loading, PageHeader, SubNav } from '../../components/ui';
import { INBOX_SETTINGS_TABS } from '../../lib/tabs';

/** Settings → Inboxes: each inbox is one chat widget (its site token) with its own hours, greeting and CSAT. */
export default function Inboxes() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const list = useQuery({ queryKey: ['chat-inboxes'], queryFn: () => unwrap(api.GET('/api/chat/inboxes')) });
  const [name, setName] = useState('');
  const [greeting, setGreeting] = useState('Hi! How can we help?');
  const create = useMutation({
    mutationFn: () => unwrap(api.POST('/api/chat/inboxes', { body: { name, greeting, csatEnabled: true } })),
    onSuccess: async (inbox) => {
      await qc.invalidateQueries({ queryKey: ['chat-inboxes'] });
      await navigate(`/settings/inboxes/${inbox.id}`);
    },
  });
  return (
    <>
      <PageHeader title="Inboxes" />
      <SubNav label="Inbox settings" links={INBOX_SETTINGS_TABS} />
      <p className="muted">An inbox is a chat widget for one site: embed its snippet and visitors' messages arrive in the <Link to="/inbox">Inbox</Link>. SMS and email replies arrive there too.</p>
      <section className="card table-card" aria-labelledby="inboxes-h">
        <h2 id="inboxes-h" className="pad">Your inboxes</h2>
        {list.isPending && <Loading />}
        <ErrorMessage error={list.error} />
        {list.data && list.data.data.length === 0 && <Empty title="No inboxes yet">Create one below to get the widget snippet.</Empty>}
        {list.data && list.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">Name</th><th scope="col">Business hours</th><th scope="col">CSAT</th><th scope="col">Created</th></tr></thead>
            <tbody>
              {list.data.data.map((i) => (
                <tr key={i.id}>
                  <td><Link to={`/settings/inboxes/${i.id}`}>{i.name}</Link></td>
                  <td>{i.businessHours ? i.businessHours.timezone : 'Always online'}</td>
                  <td>{i.csatEnabled ? 'Asked on resolve' : 'Off'}</td>
                  <td className="nowrap">{formatDate(i.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <form
        className="card stack narrow-lg"
        aria-labelledby="new-inbox-h"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <h2 id="new-inbox-h">New inbox</h2>
        <Field label="Inbox name" hint="Shown at the top of the widget.">{(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} required maxLength={120} placeholder="Website" />}</Field>
        <Field label="Greeting">{(p) => <textarea {...p} value={greeting} onChange={(e) => setGreeting(e.target.value)} maxLength={500} rows={2} />}</Field>
        <ErrorMessage error={create.error} />
        <div className="row"><Button type="submit" busy={create.isPending} disabled={!name.trim()}>Create inbox</Button></div>
      </form>
    </>
  );
}
