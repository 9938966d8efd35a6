import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../api/client';
import { EmailFrame } from '../components/EmailFrame';
import { Empty, ErrorMessage, formatDate, Loading, PageHeader, SubNav } from '../components/ui';
import { OUTBOX_TABS } from '../lib/tabs';
import { parseMail } from '../lib/mime';

/**
 * The development outbox: what the platform would have mailed without SMTP_URL. Each message is
 * fetched raw (GET /api/email/outbox/:id) and shown in a sandboxed frame, never as part of our page.
 */
export default function Outbox() {
  const [cursor, setCursor] = useState<string | undefined>();
  const [selected, setSelected] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ['outbox', cursor],
    queryFn: () => unwrap(api.GET('/api/email/outbox', { params: { query: { limit: 50, cursor } } })),
    placeholderData: keepPreviousData,
    refetchInterval: 5000,
  });
  const current = selected ?? list.data?.data[0]?.id ?? null;
  return (
    <>
      <PageHeader title="Outbox" />
      <SubNav label="Outbox" links={OUTBOX_TABS} />
      <p className="muted">Without an SMTP server configured, email lands here instead of being sent: campaigns and test sends of this organization.</p>
      <ErrorMessage error={list.error} />
      {list.isPending && <Loading />}
      {list.data && list.data.data.length === 0 && (
        <div className="card"><Empty title="The outbox is empty"><p>Send a test or a campaign and it shows up here.</p></Empty></div>
      )}
      {list.data && list.data.data.length > 0 && (
        <div className="outbox">
          <div className="card outbox-list">
            <ul aria-label="Messages">
              {list.data.data.map((m) => (
                <li key={m.id}>
                  <button type="button" className={m.id === current ? 'is-selected' : ''} aria-current={m.id === current || undefined} onClick={() => setSelected(m.id)}>
                    <span className="outbox-subject">{m.subject || '(no subject)'}</span>
                    <span className="outbox-meta">{m.to} · {formatDate(m.date)}</span>
                  </button>
                </li>
              ))}
            </ul>
            <nav className="pager" aria-label="Outbox pages">
              {cursor ? <button type="button" className="btn btn-ghost" onClick={() => setCursor(undefined)}>← Newest</button> : <span />}
              {list.data.nextCursor && <button type="button" className="btn btn-secondary" onClick={() => setCursor(list.data.nextCursor ?? undefined)}>Older →</button>}
            </nav>
          </div>
          {current && <Message id={current} />}
        </div>
      )}
    </>
  );
}

function Message({ id }: { id: string }) {
  const [view, setView] = useState<'html' | 'text' | 'raw'>('html');
  const msg = useQuery({
    queryKey: ['outbox', 'message', id],
    queryFn: () => unwrap(api.GET('/api/email/outbox/{id}', { params: { path: { id } }, parseAs: 'text' })),
    staleTime: Infinity,
  });
  const mail = msg.data ? parseMail(String(msg.data)) : null;
  return (
    <section className="card outbox-message stack" aria-label="Message">
      {msg.isPending && <Loading />}
      <ErrorMessage error={msg.error} />
      {mail && (
        <>
          <dl className="props mail-headers">
            <dt>Subject</dt><dd>{mail.headers.subject}</dd>
            <dt>From</dt><dd>{mail.headers.from}</dd>
            <dt>To</dt><dd>{mail.headers.to}</dd>
            <dt>Date</dt><dd>{mail.headers.date}</dd>
          </dl>
          <div className="tabs" role="group" aria-label="Show as">
            {(['html', 'text', 'raw'] as const).map((v) => (
              <button type="button" key={v} aria-pressed={view === v} onClick={() => setView(v)}>{v === 'html' ? 'HTML' : v === 'text' ? 'Text' : 'Source'}</button>
            ))}
          </div>
          {view === 'html' && (mail.html ? <EmailFrame html={mail.html} title={`Message: ${mail.headers.subject ?? ''}`} /> : <p className="muted">No HTML part.</p>)}
          {view === 'text' && <pre className="mail-text">{mail.text ?? '(no text part)'}</pre>}
          {view === 'raw' && <pre className="mail-text">{String(msg.data)}</pre>}
        </>
      )}
    </section>
  );
}
