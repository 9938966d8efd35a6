import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useId, useRef, useState } from 'react';
import { Link, useParams, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Button, ErrorMessage, formatDate, isNotFound, NotFoundState, PageHeader, QueryState, StatusBadge } from '../../components/ui';
import { appendMessage, channelLabel, chatKeys, customerName, useAgents, useChatLive, useTeams, type Conversation, type Message } from '../../lib/chat';

type Patch = { status?: 'open' | 'pending' | 'snoozed' | 'resolved'; snoozedUntil?: string | null; assigneeId?: string | null; teamId?: string | null; labels?: string[] };

/** One conversation: the thread with notes, the reply box, status, assignment, labels, and the customer beside it. */
export default function ConversationView() {
  const { id = '' } = useParams();
  const [params] = useSearchParams();
  const from = params.get('from');
  useChatLive();
  const conversation = useQuery({ queryKey: chatKeys.conversation(id), queryFn: () => unwrap(api.GET('/api/chat/conversations/{id}', { params: { path: { id } } })) });
  const backLink = <Link className="back" to={`/inbox${from ? `?${from}` : ''}`}>← Inbox</Link>;
  if (!conversation.data) {
    return (
      <>
        <PageHeader title={isNotFound(conversation.error) ? 'Not found' : 'Conversation'} back={backLink} />
        {isNotFound(conversation.error) ? <NotFoundState what="conversation" /> : <QueryState query={conversation} what="conversation" />}
      </>
    );
  }
  const c = conversation.data;
  return (
    <>
      <PageHeader title={customerName(c)} back={backLink}>
        <StatusBadge status={c.status} />
        <span className="tag">{channelLabel(c.channel)}</span>
      </PageHeader>
      {c.subject && <p className="muted">Subject: {c.subject}</p>}
      <div className="conversation">
        <div className="stack">
          <Thread conversation={c} />
          <Reply conversation={c} />
        </div>
        <aside className="stack" aria-label="Conversation details">
          <Actions conversation={c} />
          <CustomerSidebar id={c.id} />
        </aside>
      </div>
    </>
  );
}

function usePatch(c: Conversation) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: Patch) => unwrap(api.PATCH('/api/chat/conversations/{id}', { params: { path: { id: c.id } }, body })),
    onSuccess: (next) => {
      qc.setQueryData(chatKeys.conversation(c.id), next);
      void qc.invalidateQueries({ queryKey: chatKeys.conversations });
    },
  });
}

function Thread({ conversation: c }: { conversation: Conversation }) {
  const messages = useQuery({
    queryKey: chatKeys.messages(c.id),
    queryFn: () => unwrap(api.GET('/api/chat/conversations/{id}/messages', { params: { path: { id: c.id }, query: { limit: 200 } } })),
  });
  const end = useRef<HTMLDivElement>(null);
  const count = messages.data?.data.length ?? 0;
  useEffect(() => {
    end.current?.scrollIntoView({ block: 'nearest' });
  }, [count]);
  return (
    <section className="card thread-card" aria-labelledby="thread-h">
      <h2 id="thread-h">Messages</h2>
      <QueryState query={{ isPending: messages.isPending, error: messages.error }} />
      <div role="log" aria-live="polite" aria-label="Conversation messages" className="thread">
        <ol className="plain-list">
          {messages.data?.data.map((m) => <MessageItem key={m.id} m={m} />)}
        </ol>
        <div ref={end} />
      </div>
      {c.csatScore != null && <p className="muted small">Customer rating: <strong>{c.csatScore} / 5</strong></p>}
    </section>
  );
}

function MessageItem({ m }: { m: Message }) {
  const who = m.authorType === 'customer' ? 'Customer' : m.authorType === 'system' ? 'Automatic' : (m.author?.name ?? 'Agent');
  const kind = m.private ? 'note' : m.direction === 'inbound' ? 'in' : m.authorType === 'system' ? 'sys' : 'out';
  return (
    <li className={`chat-msg chat-msg-${kind}`}>
      <div className="chat-meta">
        <strong>{who}</strong>
        {m.private && <span className="note-flag">Private note: not sent to the customer</span>}
        <time dateTime={m.createdAt}>{formatDate(m.createdAt)}</time>
        {m.deliveryStatus && !m.private && <StatusBadge status={m.deliveryStatus} />}
      </div>
      <div className="chat-body">{m.body}</div>
      {m.deliveryError && <div className="small error-text">{m.deliveryError}</div>}
    </li>
  );
}

/** The reply box: `/shortcut` inserts a canned response; the note toggle keeps the text among agents. */
function Reply({ conversation: c }: { conversation: Conversation }) {
  const qc = useQueryClient();
  const [body, setBody] = useState('');
  const [note, setNote] = useState(false);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  const listId = useId();
  const canned = useQuery({ queryKey: ['chat-canned'], queryFn: () => unwrap(api.GET('/api/chat/canned-responses')), staleTime: 30_000 });
  const send = useMutation({
    mutationFn: () => unwrap(api.POST('/api/chat/conversations/{id}/messages', { params: { path: { id: c.id } }, body: { body, private: note } })),
    onSuccess: (m) => {
      appendMessage(qc, m);
      setBody('');
      void qc.invalidateQueries({ queryKey: chatKeys.conversations });
    },
  });

  // The `/word` just before the caret, if any: the canned responses whose shortcut starts with it.
  const caret = ref.current?.selectionStart ?? body.length;
  const token = /(^|\s)\/([\w-]*)$/.exec(body.slice(0, caret));
  const matches = token && !dismissed ? (canned.data?.data ?? []).filter((r) => r.shortcut.toLowerCase().startsWith(token[2].toLowerCase())).slice(0, 8) : [];
  const open = matches.length > 0;
  const insert = (text: string) => {
    if (!token) return;
    const start = caret - token[2].length - 1;
    const next = body.slice(0, start) + text + body.slice(caret);
    setBody(next);
    requestAnimationFrame(() => {
      ref.current?.focus();
      ref.current?.setSelectionRange(start + text.length, start + text.length);
    });
  };

  return (
    <form
      className={`card stack-sm reply${note ? ' reply-note' : ''}`}
      aria-label={note ? 'Write a private note' : 'Write a reply'}
      onSubmit={(e) => {
        e.preventDefault();
        if (body.trim()) send.mutate();
      }}
    >
      <div className="row">
        <div className="tabs" role="group" aria-label="Message kind">
          <button type="button" aria-pressed={!note} onClick={() => setNote(false)}>Reply</button>
          <button type="button" aria-pressed={note} onClick={() => setNote(true)}>Private note</button>
        </div>
        <span className="muted small">{note ? 'Only your team sees notes.' : `Sent to the customer by ${channelLabel(c.channel)}.`}</span>
      </div>
      <label htmlFor="reply-body" className="sr-only">{note ? 'Note' : 'Reply'}</label>
      <div className="combo">
        <textarea
          id="reply-body"
          ref={ref}
          rows={4}
          maxLength={10_000}
          value={body}
          placeholder={note ? 'A note for your team…' : 'Type a reply, or / for a canned response…'}
          aria-autocomplete="list"
          aria-controls={open ? listId : undefined}
          aria-activedescendant={open ? `${listId}-${Math.min(active, matches.length - 1)}` : undefined}
          onChange={(e) => {
            setBody(e.target.value);
            setActive(0);
            setDismissed(false);
          }}
          onKeyDown={(e) => {
            if (open) {
              if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
                e.preventDefault();
                setActive((a) => (a + (e.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length);
                return;
              }
              if (e.key === 'Enter' || e.key === 'Tab') {
                e.preventDefault();
                insert(matches[Math.min(active, matches.length - 1)].body);
                return;
              }
              if (e.key === 'Escape') {
                e.preventDefault();
                setDismissed(true);
                return;
              }
            }
            if (e.key === 'Enter' && (e.metaKey || e.ctrlKey)) {
              e.preventDefault();
              e.currentTarget.form?.requestSubmit();
            }
          }}
        />
        {open && (
          <ul id={listId} role="listbox" aria-label="Canned responses" className="combo-list">
            {matches.map((r, i) => (
              <li
                key={r.id}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={i === Math.min(active, matches.length - 1)}
                onMouseDown={(e) => {
                  e.preventDefault();
                  insert(r.body);
                }}
              >
                <code>/{r.shortcut}</code> <span className="muted">{r.body.slice(0, 80)}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
      <ErrorMessage error={send.error} />
      <div className="row">
        <Button type="submit" busy={send.isPending} disabled={!body.trim()}>{note ? 'Add note' : 'Send reply'}</Button>
        <span className="muted small"><kbd>Ctrl</kbd> + <kbd>Enter</kbd> sends</span>
      </div>
    </form>
  );
}

function Actions({ conversation: c }: { conversation: Conversation }) {
  const qc = useQueryClient();
  const patch = usePatch(c);
  const agents = useAgents();
  const teams = useTeams();
  const [until, setUntil] = useState('');
  const [label, setLabel] = useState('');
  const roundRobin = useMutation({
    mutationFn: () => unwrap(api.POST('/api/chat/conversations/{id}/assign', { params: { path: { id: c.id } }, body: { strategy: 'round-robin' } })),
    onSuccess: (next) => {
      qc.setQueryData(chatKeys.conversation(c.id), next);
      void qc.invalidateQueries({ queryKey: chatKeys.conversations });
    },
  });
  return (
    <section className="card stack" aria-labelledby="actions-h">
      <h2 id="actions-h">Status and assignment</h2>
      <div className="row">
        {c.status !== 'resolved' && <Button onClick={() => patch.mutate({ status: 'resolved' })} busy={patch.isPending && patch.variables?.status === 'resolved'}>Resolve</Button>}
        {c.status !== 'pending' && <Button variant="secondary" onClick={() => patch.mutate({ status: 'pending' })}>Mark pending</Button>}
        {c.status !== 'open' && <Button variant="secondary" onClick={() => patch.mutate({ status: 'open' })}>Reopen</Button>}
      </div>
      {c.status === 'snoozed' && c.snoozedUntil && <p className="small">Snoozed until {formatDate(c.snoozedUntil)}</p>}
      <form
        className="row end"
        onSubmit={(e) => {
          e.preventDefault();
          if (until) patch.mutate({ status: 'snoozed', snoozedUntil: new Date(until).toISOString() });
        }}
      >
        <div className="field grow">
          <label htmlFor="snooze-until">Snooze until</label>
          <input id="snooze-until" type="datetime-local" value={until} onChange={(e) => setUntil(e.target.value)} required />
        </div>
        <Button type="submit" variant="secondary">Snooze</Button>
      </form>
      <div className="field">
        <label htmlFor="assignee">Agent</label>
        <select id="assignee" value={c.assignee?.id ?? ''} onChange={(e) => patch.mutate({ assigneeId: e.target.value || null })}>
          <option value="">Unassigned</option>
          {agents.data?.data.map((a) => <option key={a.id} value={a.id}>{a.name}{a.available ? '' : ' (away)'}</option>)}
        </select>
      </div>
      <div className="field">
        <label htmlFor="team">Team</label>
        <select id="team" value={c.teamId ?? ''} onChange={(e) => patch.mutate({ teamId: e.target.value || null })}>
          <option value="">No team</option>
          {teams.data?.data.map((t) => <option key={t.id} value={t.id}>{t.name}</option>)}
        </select>
      </div>
      <div className="row">
        <Button variant="secondary" onClick={() => roundRobin.mutate()} busy={roundRobin.isPending}>Assign round-robin</Button>
        <span className="muted small">Next available agent{c.teamId ? ' of the team' : ''}</span>
      </div>
      <ErrorMessage error={roundRobin.error} />
      <div className="stack-sm">
        <h3>Labels</h3>
        {c.labels.length === 0 && <p className="muted small">No labels</p>}
        <ul className="row plain-row" aria-label="Labels">
          {c.labels.map((l) => (
            <li key={l} className="tag">
              {l} <button type="button" className="link-button" aria-label={`Remove label ${l}`} onClick={() => patch.mutate({ labels: c.labels.filter((x) => x !== l) })}>×</button>
            </li>
          ))}
        </ul>
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            const l = label.trim().toLowerCase();
            if (l && !c.labels.includes(l)) patch.mutate({ labels: [...c.labels, l] }, { onSuccess: () => setLabel('') });
          }}
        >
          <input aria-label="New label" className="grow-input" value={label} onChange={(e) => setLabel(e.target.value)} maxLength={50} placeholder="billing" />
          <Button type="submit" variant="secondary">Add label</Button>
        </form>
      </div>
      <ErrorMessage error={patch.error} />
    </section>
  );
}

function CustomerSidebar({ id }: { id: string }) {
  const sidebar = useQuery({ queryKey: chatKeys.sidebar(id), queryFn: () => unwrap(api.GET('/api/chat/conversations/{id}/sidebar', { params: { path: { id } } })) });
  if (!sidebar.data) return <QueryState query={sidebar} />;
  const { customer, orders, pastConversations, campaignsReceived } = sidebar.data;
  return (
    <section className="card stack" aria-labelledby="customer-h">
      <h2 id="customer-h">Customer</h2>
      {!customer && <p className="muted">An anonymous visitor: not linked to a customer.</p>}
      {customer && (
        <>
          <p>
            <Link to={`/customers/${customer.id}`}>{[customer.firstName, customer.lastName].filter(Boolean).join(' ') || customer.email || customer.phone || 'Customer'}</Link>
          </p>
          <dl className="facts small">
            {customer.email && <><dt>Email</dt><dd className="break">{customer.email}</dd></>}
            {customer.phone && <><dt>Phone</dt><dd>{customer.phone}</dd></>}
            <dt>Email consent</dt><dd>{customer.emailOptIn ? 'Subscribed' : 'Not subscribed'}</dd>
            <dt>SMS consent</dt><dd>{customer.smsOptIn ? 'Subscribed' : 'Not subscribed'}</dd>
          </dl>
          {customer.tags.length > 0 && <div aria-label="Tags">{customer.tags.map((t) => <span key={t} className="tag">{t}</span>)}</div>}
        </>
      )}
      <div className="stack-sm">
        <h3>Orders</h3>
        {orders.length === 0 ? <p className="muted small">None</p> : (
          <ul className="plain-list small">
            {orders.map((o) => <li key={o.id}>{o.number ? `#${o.number}` : 'Order'} · {o.total} {o.currency} · {formatDate(o.orderedAt)}</li>)}
          </ul>
        )}
      </div>
      <div className="stack-sm">
        <h3>Past conversations</h3>
        {pastConversations.length === 0 ? <p className="muted small">None</p> : (
          <ul className="plain-list small">
            {pastConversations.map((p) => (
              <li key={p.id}>
                <Link to={`/inbox/${p.id}`}>{p.subject || p.lastMessagePreview || 'Conversation'}</Link>
                <div className="muted">{channelLabel(p.channel)} · {p.status} · {formatDate(p.lastMessageAt)}</div>
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="stack-sm">
        <h3>Campaigns received</h3>
        {campaignsReceived.length === 0 ? <p className="muted small">None</p> : (
          <ul className="plain-list small">
            {campaignsReceived.map((k) => <li key={`${k.channel}-${k.campaignId}`}>{k.name} · {channelLabel(k.channel)} · {k.status} · {formatDate(k.at)}</li>)}
          </ul>
        )}
      </div>
    </section>
  );
}
