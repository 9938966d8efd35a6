import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { api, unwrap } from '../api/client';
import { EmailFrame } from '../components/EmailFrame';
import { MailHeaders, OutboxList } from '../components/OutboxList';
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
          <OutboxList
            label="Messages"
            items={list.data.data}
            current={current}
            onSelect={setSelected}
            title={(m) => m.subject || '(no subject)'}
            meta={(m) => `${m.to} · ${formatDate(m.date)}`}
            cursor={cursor}
            nextCursor={list.data.nextCursor}
            onCursor={setCursor}
          />
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
          <MailHeaders headers={mail.headers} />
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
