import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, detailsByPath, unwrap } from '../../api/client';
import { Pager } from '../../components/Pager';
import { Button, Empty, ErrorMessage, Field, formatDate, formatDuration, Loading, PageHeader, StatusBadge, SubNav } from '../../components/ui';
import { useMembers } from '../../lib/members';
import { useSession } from '../../lib/session';
import { CALL_TABS } from '../../lib/tabs';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const CALL_STATUSES = ['queued', 'initiated', 'ringing', 'in-progress', 'completed', 'busy', 'no-answer', 'failed', 'canceled'] as const;
type Status = (typeof CALL_STATUSES)[number];
const LIVE = new Set(['queued', 'initiated', 'ringing', 'in-progress']);
/** A call still moving (and recent: a development call never hears back from Twilio) is worth polling for. */
export const isLive = (c: { status: string; createdAt: string }) => LIVE.has(c.status) && Date.now() - Date.parse(c.createdAt) < 15 * 60_000;

/** The call log: inbound and outbound calls, filtered by the URL's query (shareable), newest first; place a call. */
export default function Calls() {
  const [params, setParams] = useSearchParams();
  const members = useMembers();
  const rawCustomer = params.get('customer')?.trim() || undefined;
  const filters = {
    direction: (params.get('direction') || undefined) as 'inbound' | 'outbound' | undefined,
    status: (params.get('status') || undefined) as Status | undefined,
    agentUserId: params.get('agent') || undefined,
    from: params.get('from') || undefined,
    to: params.get('to') || undefined,
    customerId: rawCustomer && UUID.test(rawCustomer) ? rawCustomer : undefined,
    cursor: params.get('cursor') || undefined,
  };
  const list = useQuery({
    queryKey: ['calls', filters],
    queryFn: () => unwrap(api.GET('/api/call-center/calls', { params: { query: { limit: 25, ...filters } } })),
    placeholderData: keepPreviousData,
    refetchInterval: (q) => (q.state.data?.data.some(isLive) ? 3000 : false),
  });
  const set = (key: string, value: string | undefined) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    if (key !== 'cursor') next.delete('cursor');
    setParams(next, { replace: key !== 'cursor' });
  };
  const filtered = Boolean(filters.direction || filters.status || filters.agentUserId || filters.from || filters.to || rawCustomer);
  const customer = useQuery({
    queryKey: ['customer', filters.customerId],
    enabled: Boolean(filters.customerId),
    queryFn: () => unwrap(api.GET('/api/customers/{id}', { params: { path: { id: filters.customerId! } } })),
    retry: false,
  });
  const customerName = customer.data && ([customer.data.firstName, customer.data.lastName].filter(Boolean).join(' ') || customer.data.email || customer.data.phone);
  const [placing, setPlacing] = useState(false);
  return (
    <>
      <PageHeader title="Calls">
        <Button onClick={() => setPlacing((p) => !p)} aria-expanded={placing}>Place a call</Button>
      </PageHeader>
      <SubNav label="Call center" links={CALL_TABS} />
      {placing && <PlaceCall onClose={() => setPlacing(false)} />}
      <div className="card table-card">
        <form className="filters" role="search" aria-label="Filter calls" onSubmit={(e) => e.preventDefault()}>
          <Field label="Direction">
            {(p) => (
              <select {...p} value={filters.direction ?? ''} onChange={(e) => set('direction', e.target.value)}>
                <option value="">Both</option><option value="inbound">Inbound</option><option value="outbound">Outbound</option>
              </select>
            )}
          </Field>
          <Field label="Status">
            {(p) => (
              <select {...p} value={filters.status ?? ''} onChange={(e) => set('status', e.target.value)}>
                <option value="">Any</option>
                {CALL_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
              </select>
            )}
          </Field>
          <Field label="Agent">
            {(p) => (
              <select {...p} value={filters.agentUserId ?? ''} onChange={(e) => set('agent', e.target.value)}>
                <option value="">Anyone</option>
                {members.list.map((m) => <option key={m.userId} value={m.userId}>{m.name}</option>)}
              </select>
            )}
          </Field>
          <Field label="Customer" hint={customerName ? `Calls with ${customerName}` : rawCustomer && !filters.customerId ? 'Not a customer id' : customer.isError ? 'No such customer' : "A customer's id (the customer page's Calls link fills it in)"}>
            {(p) => (
              <input
                {...p}
                key={rawCustomer ?? ''}
                defaultValue={rawCustomer ?? ''}
                placeholder="Customer id"
                autoComplete="off"
                spellCheck={false}
                onBlur={(e) => e.target.value.trim() !== (rawCustomer ?? '') && set('customer', e.target.value.trim() || undefined)}
                onKeyDown={(e) => {
                  if (e.key === 'Enter') {
                    e.preventDefault();
                    set('customer', e.currentTarget.value.trim() || undefined);
                  }
                }}
              />
            )}
          </Field>
          <Field label="From date">{(p) => <input {...p} type="date" value={filters.from ?? ''} onChange={(e) => set('from', e.target.value)} />}</Field>
          <Field label="Before date">{(p) => <input {...p} type="date" value={filters.to ?? ''} onChange={(e) => set('to', e.target.value)} />}</Field>
          {filtered && <Button variant="ghost" onClick={() => setParams(new URLSearchParams(), { replace: true })}>Clear filters</Button>}
        </form>
        <ErrorMessage error={list.error} />
        {list.isPending && <Loading />}
        {list.data && list.data.data.length === 0 && (
          <Empty title={filtered ? 'No calls match these filters' : 'No calls yet'}>
            {!filtered && <p>Calls to your numbers and calls placed from here show up in this log.</p>}
          </Empty>
        )}
        {list.data && list.data.data.length > 0 && (
          <table className={`table${list.isPlaceholderData ? ' is-stale' : ''}`}>
            <caption className="sr-only">Calls</caption>
            <thead><tr><th scope="col">Call</th><th scope="col">Status</th><th scope="col">Agent</th><th scope="col" className="num">Duration</th><th scope="col">Started</th></tr></thead>
            <tbody>
              {list.data.data.map((c) => (
                <tr key={c.id}>
                  <td>
                    <Link to={`/calls/${c.id}`}>{c.direction === 'inbound' ? `From ${c.from}` : `To ${c.to}`}</Link>
                    <div className="muted small">{c.direction === 'inbound' ? `Inbound to ${c.to}` : `Outbound from ${c.from}`}{c.disposition ? ` · ${c.disposition}` : ''}</div>
                  </td>
                  <td><StatusBadge status={c.status} />{c.transcription && <div className="muted small">Voicemail</div>}</td>
                  <td>{members.nameOf(c.agentUserId) ?? <span className="muted">—</span>}</td>
                  <td className="num">{formatDuration(c.durationSeconds)}</td>
                  <td className="nowrap">{formatDate(c.startedAt ?? c.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={filters.cursor} nextCursor={list.data?.nextCursor} onFirst={() => set('cursor', undefined)} onNext={(c) => set('cursor', c)} label="Call pages" />
      </div>
    </>
  );
}

/** Places an outbound call: Twilio rings the agent's phone first, then bridges to the customer. */
function PlaceCall({ onClose }: { onClose: () => void }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const session = useSession();
  const me = session.data?.user.id;
  const agents = useQuery({ queryKey: ['agents'], queryFn: () => unwrap(api.GET('/api/call-center/agents', { params: { query: { limit: 200 } } })) });
  const numbers = useQuery({ queryKey: ['phone-numbers', 'all'], queryFn: () => unwrap(api.GET('/api/phone-numbers', { params: { query: { limit: 200 } } })) });
  const myPhone = agents.data?.data.find((a) => a.userId === me)?.phoneNumber;
  const voice = numbers.data?.data.filter((n) => n.voiceEnabled) ?? [];
  const place = useMutation({
    mutationFn: (body: { mode: 'outbound'; to: string; agentNumber?: string; from?: string }) => unwrap(api.POST('/api/call-center/calls', { body })),
    onSuccess: async (c) => {
      await qc.invalidateQueries({ queryKey: ['calls'] });
      await navigate(`/calls/${c.id}`);
    },
  });
  const errors = detailsByPath(place.error);
  return (
    <form
      className="card stack"
      aria-labelledby="place-h"
      onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const agentNumber = String(f.get('agentNumber') ?? '').trim();
        const from = String(f.get('from') ?? '');
        place.mutate({ mode: 'outbound', to: String(f.get('to')).trim(), ...(agentNumber && { agentNumber }), ...(from && { from }) });
      }}
    >
      <h2 id="place-h">Place a call</h2>
      <p className="muted small">Your phone rings first; when you answer, the customer is called and sees the organization's number.</p>
      {numbers.data && voice.length === 0 && <p className="alert alert-info">Add a voice-enabled <Link to="/numbers">phone number</Link> to call from first.</p>}
      <div className="form-grid">
        <Field label="Customer's number" hint="E.164, e.g. +14155550123" error={errors.to}>{(p) => <input {...p} name="to" required inputMode="tel" autoComplete="off" autoFocus />}</Field>
        <Field label="Your phone" hint={myPhone ? 'Your agent phone; change it under Agents.' : 'Rung first. Save it under Agents to skip this.'} error={errors.agentNumber}>
          {(p) => <input {...p} name="agentNumber" inputMode="tel" defaultValue={myPhone ?? ''} key={myPhone ?? ''} required={!myPhone} autoComplete="tel" />}
        </Field>
        <Field label="Call from" error={errors.from}>
          {(p) => (
            <select {...p} name="from">
              {voice.map((n) => <option key={n.id} value={n.number}>{n.number}{n.friendlyName ? ` · ${n.friendlyName}` : ''}</option>)}
              {voice.length === 0 && <option value="">No voice number</option>}
            </select>
          )}
        </Field>
      </div>
      <ErrorMessage error={place.error} />
      <div className="row">
        <Button type="submit" busy={place.isPending}>Call</Button>
        <Button variant="ghost" onClick={onClose}>Cancel</Button>
      </div>
    </form>
  );
}
