import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, isNotFoundError, unwrap } from '../api/client';
import { EmailFrame } from '../components/EmailFrame';
import { MailHeaders, OutboxList } from '../components/OutboxList';
import { Empty, ErrorMessage, formatDate, Loading, PageHeader, SubNav } from '../components/ui';
import { parseMail } from '../lib/mime';
import { OUTBOX_TABS } from '../lib/tabs';

/**
 * The development mailbox: without SMTP_URL, account mail (verification, password reset, invitations)
 * is kept on the server; this page shows the signed-in person the mail addressed to them — and only
 * that — with its links, so the whole sign-up flow works without a mail server.
 */
export default function AccountMail() {
  const [cursor, setCursor] = useState<string | undefined>();
  const [selected, setSelected] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ['dev-mail', cursor],
    queryFn: () => unwrap(api.GET('/api/auth/dev-mail', { params: { query: { limit: 50, cursor } } })),
    placeholderData: keepPreviousData,
    refetchInterval: 5000,
    retry: false,
  });
  const current = selected ?? list.data?.data[0]?.id ?? null;
  return (
    <>
      <PageHeader title="Outbox" />
      <SubNav label="Outbox" links={OUTBOX_TABS} />
      {isNotFoundError(list.error) ? (
        <div className="card"><Empty title="The development mailbox is off"><p>Account mail is sent by the configured mail server: look in your real inbox.</p></Empty></div>
      ) : (
        <>
          <p className="muted">In development, mail about your account — address confirmation, password reset, invitations — stays here. Only mail addressed to you is shown.</p>
          <ErrorMessage error={list.error} />
        </>
      )}
      {list.isPending && <Loading />}
      {list.data && list.data.data.length === 0 && (
        <div className="card"><Empty title="No account mail for you yet" /></div>
      )}
      {list.data && list.data.data.length > 0 && (
        <div className="outbox">
          <OutboxList
            label="Account mail"
            items={list.data.data}
            current={current}
            onSelect={setSelected}
            title={(m) => m.subject || '(no subject)'}
            meta={(m) => formatDate(m.date)}
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

/** Links of the dashboard itself (verify, reset, accept) open here; API links are shown as text. */
function linksOf(text: string) {
  const out: { href: string; path: string | null }[] = [];
  for (const href of new Set(text.match(/https?:\/\/[^\s<>"]+/g) ?? [])) {
    let path: string | null = null;
    try {
      const u = new URL(href);
      if (!u.pathname.startsWith('/api/')) path = u.pathname + u.search;
    } catch {
      // not a URL after all
    }
    out.push({ href, path });
  }
  return out;
}

const ACTIONS: [RegExp, string][] = [[/^\/verify-email/, 'Confirm the address'], [/^\/reset-password/, 'Choose a new password'], [/^\/invitations\/accept/, 'Accept the invitation']];
const actionOf = (path: string) => ACTIONS.find(([re]) => re.test(path))?.[1] ?? 'Open';

function Message({ id }: { id: string }) {
  const msg = useQuery({
    queryKey: ['dev-mail', 'message', id],
    queryFn: () => unwrap(api.GET('/api/auth/dev-mail/{id}', { params: { path: { id } }, parseAs: 'text' })),
    staleTime: Infinity,
  });
  const mail = msg.data ? parseMail(String(msg.data)) : null;
  const links = mail ? linksOf(mail.text ?? '').filter((l) => l.path) : [];
  return (
    <section className="card outbox-message stack" aria-label="Message">
      {msg.isPending && <Loading />}
      <ErrorMessage error={msg.error} />
      {mail && (
        <>
          <MailHeaders headers={mail.headers} />
          {links.length > 0 && (
            <div className="alert alert-info stack-sm">
              <strong>Links in this message</strong>
              <ul className="plain-list">
                {links.map((l) => <li key={l.href}><Link to={l.path!}>{actionOf(l.path!)}</Link> <span className="muted small break">{l.path!.replace(/token=([^&]{6})[^&]*/, 'token=$1…')}</span></li>)}
              </ul>
            </div>
          )}
          {mail.html ? <EmailFrame html={mail.html} title={`Message: ${mail.headers.subject ?? ''}`} height={320} /> : <pre className="mail-text">{mail.text}</pre>}
        </>
      )}
    </section>
  );
}
