import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager } from '../../components/Pager';
import { Empty, ErrorMessage, Field, formatDate, Loading, PageHeader, StatusBadge } from '../../components/ui';
import { CHANNELS, channelLabel, chatKeys, customerName, STATUSES, useAgents, useChatLive } from '../../lib/chat';
import { useSession } from '../../lib/session';

const VIEWS = [
  { value: 'mine', label: 'Mine' },
  { value: 'unassigned', label: 'Unassigned' },
  { value: 'all', label: 'All' },
] as const;

/** The shared inbox: conversations by status, whose, label and channel (all kept in the URL), updated live. */
export default function Inbox() {
  const [params, setParams] = useSearchParams();
  const status = (STATUSES as readonly string[]).includes(params.get('status') ?? '') ? (params.get('status') as (typeof STATUSES)[number]) : 'open';
  const view = params.get('view') ?? 'all';
  const label = params.get('label') ?? '';
  const channel = params.get('channel') ?? '';
  const cursor = params.get('cursor') ?? undefined;
  const session = useSession();
  const me = session.data?.user.id;
  const connected = useChatLive();

  const set = (changes: Record<string, string | null>) => {
    const next = new URLSearchParams(params);
    for (const [k, v] of Object.entries(changes)) {
      if (v) next.set(k, v);
      else next.delete(k);
    }
    if (!('cursor' in changes)) next.delete('cursor');
    setParams(next);
  };

  const query = {
    status,
    ...(view === 'mine' && me ? { assigneeId: me } : {}),
    ...(view === 'unassigned' ? { assigned: 'false' as const } : {}),
    ...(label ? { label } : {}),
    ...(channel ? { channel: channel as 'web' | 'sms' | 'email' } : {}),
    ...(cursor ? { cursor } : {}),
    limit: 50,
  };
  const list = useQuery({
    queryKey: [...chatKeys.conversations, query],
    queryFn: () => unwrap(api.GET('/api/chat/conversations', { params: { query } })),
    placeholderData: keepPreviousData,
    enabled: view !== 'mine' || !!me,
  });
  const rows = list.data?.data ?? [];
  const back = params.toString();

  return (
    <>
      <PageHeader title="Inbox">
        <Availability />
      </PageHeader>
      <p className="muted small" role="status">{connected ? 'Live: new conversations and messages appear as they arrive.' : 'Connecting to live updates…'}</p>
      <div className="tabs" role="group" aria-label="Status">
        {STATUSES.map((s) => (
          <button key={s} type="button" aria-pressed={status === s} onClick={() => set({ status: s === 'open' ? null : s })} className="cap">{s}</button>
        ))}
      </div>
      <section className="card table-card" aria-label="Conversations">
        <div className="filters">
          <Field label="Show">
            {(p) => (
              <select {...p} value={view} onChange={(e) => set({ view: e.target.value === 'all' ? null : e.target.value })}>
                {VIEWS.map((v) => <option key={v.value} value={v.value}>{v.label}</option>)}
              </select>
            )}
          </Field>
          <Field label="Channel">
            {(p) => (
              <select {...p} value={channel} onChange={(e) => set({ channel: e.target.value || null })}>
                <option value="">Every channel</option>
                {CHANNELS.map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
              </select>
            )}
          </Field>
          <form
            className="row end"
            onSubmit={(e) => {
              e.preventDefault();
              set({ label: String(new FormData(e.currentTarget).get('label') ?? '').trim() || null });
            }}
          >
            <Field label="Label">{(p) => <input {...p} name="label" defaultValue={label} key={label} maxLength={50} placeholder="billing" />}</Field>
            <button type="submit" className="btn btn-secondary">Filter</button>
          </form>
        </div>
        {list.isPending && <Loading />}
        <ErrorMessage error={list.error} />
        {list.data && rows.length === 0 && <Empty title={`No ${status} conversations`}>New conversations from the chat widget, SMS and email show up here.</Empty>}
        {rows.length > 0 && (
          <table className={`table${list.isPlaceholderData ? ' is-stale' : ''}`}>
            <caption className="sr-only">Conversations, latest activity first</caption>
            <thead><tr><th scope="col">Customer</th><th scope="col">Last message</th><th scope="col">Channel</th><th scope="col">Assignee</th><th scope="col">Updated</th></tr></thead>
            <tbody>
              {rows.map((c) => (
                <tr key={c.id} className={c.unread ? 'is-unread' : undefined}>
                  <td>
                    <Link to={`/inbox/${c.id}${back ? `?from=${encodeURIComponent(back)}` : ''}`}>{customerName(c)}</Link>
                    {c.status !== status && <StatusBadge status={c.status} />}
                    {c.labels.length > 0 && <div>{c.labels.map((l) => <span className="tag" key={l}>{l}</span>)}</div>}
                  </td>
                  <td className="preview-cell">{c.subject && <strong>{c.subject} </strong>}{c.lastMessagePreview ?? ''}</td>
                  <td className="nowrap">{channelLabel(c.channel)}</td>
                  <td className="nowrap">{c.assignee ? c.assignee.name : <span className="muted">Unassigned</span>}</td>
                  <td className="nowrap">{formatDate(c.lastMessageAt ?? c.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={cursor} nextCursor={list.data?.nextCursor} onFirst={() => set({ cursor: null })} onNext={(c) => set({ cursor: c })} label="Conversation pages" />
      </section>
    </>
  );
}

/** The agent's own availability for round-robin assignment. */
function Availability() {
  const qc = useQueryClient();
  const session = useSession();
  const agents = useAgents();
  const me = agents.data?.data.find((a) => a.id === session.data?.user.id);
  const toggle = useMutation({
    mutationFn: (available: boolean) => unwrap(api.PUT('/api/chat/agents/me', { body: { available } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['chat-agents'] }),
  });
  if (!me) return null;
  return (
    <div className="stack-sm">
      <label className="row availability">
        <input type="checkbox" checked={me.available} disabled={toggle.isPending} onChange={(e) => toggle.mutate(e.target.checked)} />
        {me.available ? 'Available for new conversations' : 'Away (not assigned new conversations)'}
      </label>
      <ErrorMessage error={toggle.error} />
    </div>
  );
}
