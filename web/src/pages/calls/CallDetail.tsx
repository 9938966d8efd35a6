import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { api, detailsByPath, unwrap } from '../../api/client';
import { Button, ErrorMessage, Field, formatDate, formatDuration, PageHeader, QueryState, StatusBadge } from '../../components/ui';
import { useMembers } from '../../lib/members';

const LIVE = new Set(['queued', 'initiated', 'ringing', 'in-progress']);
type Call = Awaited<ReturnType<typeof load>>;
const load = (id: string) => unwrap(api.GET('/api/call-center/calls/{id}', { params: { path: { id } } }));

const STEP_LABELS: Record<string, string> = {
  say: 'Said', play: 'Played audio', menu: 'Menu', input: 'Pressed', invalid: 'Pressed a key that is not an option', no_input: 'No key pressed',
  timeout: 'Menu timed out', dial: 'Forwarded', dial_result: 'Forward ended', voicemail: 'Voicemail', recorded: 'Message recorded', hangup: 'Hung up', replay: 'Menu replayed',
};

/** One call: its status over time, the caller's path through the IVR, the voicemail, the notes and disposition. */
export default function CallDetail() {
  const { id = '' } = useParams();
  const call = useQuery({ queryKey: ['calls', id], queryFn: () => load(id), refetchInterval: (q) => (q.state.data && LIVE.has(q.state.data.status) && Date.now() - Date.parse(q.state.data.createdAt) < 15 * 60_000 ? 2000 : false) });
  const back = <Link className="back" to="/calls">← Calls</Link>;
  if (!call.data) {
    return (
      <>
        <PageHeader title="Call" back={back} />
        <QueryState query={call} what="call" />
      </>
    );
  }
  const c = call.data;
  const title = c.direction === 'inbound' ? `Call from ${c.from}` : `Call to ${c.to}`;
  const timeline = [
    { label: 'Created', at: c.createdAt },
    c.startedAt && { label: 'Started', at: c.startedAt },
    c.answeredAt && { label: 'Answered', at: c.answeredAt },
    c.endedAt && { label: `Ended (${c.status})`, at: c.endedAt },
  ].filter(Boolean) as { label: string; at: string }[];
  return (
    <>
      <PageHeader title={title} back={back}>
        <StatusBadge status={c.status} />
      </PageHeader>
      {LIVE.has(c.status) && <p className="muted" role="status">The call is {c.status}; this page follows it.</p>}
      {c.errorCode && <p className="alert alert-error">Twilio error {c.errorCode}.</p>}
      <div className="grid-2">
        <section className="card" aria-labelledby="call-h">
          <h2 id="call-h">Details</h2>
          <dl className="props">
            <dt>Direction</dt><dd>{c.direction === 'inbound' ? 'Inbound' : 'Outbound'}</dd>
            <dt>From</dt><dd className="mono">{c.from}</dd>
            <dt>To</dt><dd className="mono">{c.to}</dd>
            <dt>Customer</dt><dd>{c.customerId ? <Link to={`/customers/${c.customerId}`}>Open the customer</Link> : <span className="muted">Not matched</span>}</dd>
            {c.agentNumber && <><dt>Agent phone</dt><dd className="mono">{c.agentNumber}</dd></>}
            <dt>Duration</dt><dd>{formatDuration(c.durationSeconds)}</dd>
            {c.ivrFlowId && <><dt>IVR flow</dt><dd><Link to={`/ivr/${c.ivrFlowId}`}>Version {c.ivrFlowVersion}</Link></dd></>}
            {c.providerCallId && <><dt>Twilio SID</dt><dd className="mono small">{c.providerCallId}</dd></>}
          </dl>
        </section>
        <section className="card" aria-labelledby="status-h">
          <h2 id="status-h">Status</h2>
          <ol className="status-steps">
            {timeline.map((t) => (
              <li key={t.label}><span className="step-kind">{t.label}</span><time dateTime={t.at} className="muted small">{formatDate(t.at)}</time></li>
            ))}
          </ol>
        </section>
      </div>
      {(c.recordingUrl || c.transcription) && (
        <section className="card stack" aria-labelledby="vm-h">
          <h2 id="vm-h">Voicemail</h2>
          {c.recordingUrl && <p><a href={c.recordingUrl} target="_blank" rel="noreferrer">Listen to the recording</a>{c.recordingDurationSeconds !== null && <span className="muted"> · {formatDuration(c.recordingDurationSeconds)}</span>}</p>}
          {c.transcription ? <blockquote className="transcript" aria-label="Transcription">{c.transcription}</blockquote> : <p className="muted">No transcription.</p>}
        </section>
      )}
      {c.steps.length > 0 && (
        <section className="card" aria-labelledby="steps-h">
          <h2 id="steps-h">Path through the IVR</h2>
          <ol className="status-steps">
            {c.steps.map((s) => (
              <li key={s.seq}>
                <span><span className="step-kind">{STEP_LABELS[s.kind] ?? s.kind}</span>{s.digits && <> <kbd>{s.digits}</kbd></>}{s.nodeId && <span className="muted small"> · node <code>{s.nodeId}</code></span>}</span>
                <time dateTime={s.at} className="muted small">{formatDate(s.at)}</time>
              </li>
            ))}
          </ol>
        </section>
      )}
      <NotesForm call={c} />
    </>
  );
}

function NotesForm({ call }: { call: Call }) {
  const qc = useQueryClient();
  const members = useMembers();
  const save = useMutation({
    mutationFn: (body: { notes: string | null; disposition: string | null; agentUserId: string | null }) => unwrap(api.PATCH('/api/call-center/calls/{id}', { params: { path: { id: call.id } }, body })),
    onSuccess: (c) => {
      qc.setQueryData(['calls', call.id], c);
      void qc.invalidateQueries({ queryKey: ['calls'], exact: false, predicate: (q) => q.queryKey[1] !== call.id });
    },
  });
  const errors = detailsByPath(save.error);
  return (
    <form
      className="card stack"
      aria-labelledby="notes-h"
      onSubmit={(e) => {
        e.preventDefault();
        const f = new FormData(e.currentTarget);
        const notes = String(f.get('notes')).trim();
        const disposition = String(f.get('disposition')).trim();
        save.mutate({ notes: notes || null, disposition: disposition || null, agentUserId: String(f.get('agentUserId')) || null });
      }}
    >
      <h2 id="notes-h">Notes and outcome</h2>
      <div className="form-grid">
        <Field label="Disposition" hint="How the call ended for the business." error={errors.disposition}>
          {(p) => (
            <>
              <input {...p} name="disposition" list="dispositions" maxLength={64} defaultValue={call.disposition ?? ''} />
              <datalist id="dispositions">{['resolved', 'callback', 'voicemail', 'no answer', 'sale', 'escalated'].map((d) => <option key={d} value={d} />)}</datalist>
            </>
          )}
        </Field>
        <Field label="Agent" error={errors.agentUserId}>
          {(p) => (
            <select {...p} name="agentUserId" defaultValue={call.agentUserId ?? ''} key={members.list.length}>
              <option value="">Nobody</option>
              {members.list.map((m) => <option key={m.userId} value={m.userId}>{m.name}</option>)}
            </select>
          )}
        </Field>
      </div>
      <Field label="Notes" error={errors.notes}>{(p) => <textarea {...p} name="notes" rows={4} maxLength={10000} defaultValue={call.notes ?? ''} />}</Field>
      <ErrorMessage error={save.error} />
      <div className="row">
        <Button type="submit" busy={save.isPending}>Save notes</Button>
        {save.isSuccess && <span className="muted" role="status">Saved {formatDate(save.data.updatedAt)}.</span>}
      </div>
    </form>
  );
}
