import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Pager, useCursor } from '../../components/Pager';
import { Button, Empty, ErrorMessage, Field, formatDate, Loading, PageHeader } from '../../components/ui';

type Kind = 'campaign_performance' | 'customer_growth' | 'messages_by_channel' | 'conversations';
export const KIND_LABELS: Record<string, string> = {
  campaign_performance: 'Campaign performance (email and SMS)',
  customer_growth: 'Customer growth per day',
  messages_by_channel: 'Messages by channel per day',
  conversations: 'Conversation volume and CSAT per day',
};

export const describeRange = (r: { lastDays: number } | { from: string; to: string }) => ('lastDays' in r ? `Last ${r.lastDays} days` : `${r.from} to ${r.to}`);

export default function ReportList() {
  const { cursor, setCursor, reset } = useCursor();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const list = useQuery({ queryKey: ['reports', cursor], queryFn: () => unwrap(api.GET('/api/reports', { params: { query: { cursor, limit: 50 } } })), placeholderData: keepPreviousData });
  const [name, setName] = useState('');
  const [kind, setKind] = useState<Kind>('campaign_performance');
  const [lastDays, setLastDays] = useState(30);
  const create = useMutation({
    mutationFn: () => unwrap(api.POST('/api/reports', { body: { name, kind, range: { lastDays } } })),
    onSuccess: async (r) => {
      await qc.invalidateQueries({ queryKey: ['reports'] });
      await navigate(`/reports/${r.id}`);
    },
  });
  return (
    <>
      <PageHeader title="Reports" />
      <p className="muted">Saved reports over your campaigns, customers and messages, as charts and CSV.</p>
      <section className="card table-card" aria-label="Saved reports">
        {list.isPending && <Loading />}
        <ErrorMessage error={list.error} />
        {list.data && list.data.data.length === 0 && <Empty title="No reports yet">Create one below.</Empty>}
        {list.data && list.data.data.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Range</th><th scope="col">Updated</th></tr></thead>
            <tbody>
              {list.data.data.map((r) => (
                <tr key={r.id}>
                  <td><Link to={`/reports/${r.id}`}>{r.name}</Link></td>
                  <td>{KIND_LABELS[r.kind] ?? r.kind}</td>
                  <td className="nowrap">{describeRange(r.range)}</td>
                  <td className="nowrap">{formatDate(r.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <Pager cursor={cursor} nextCursor={list.data?.nextCursor} onFirst={reset} onNext={setCursor} />
      </section>
      <form
        className="card"
        aria-label="New report"
        onSubmit={(e) => {
          e.preventDefault();
          create.mutate();
        }}
      >
        <h2>New report</h2>
        <Field label="Name">{(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />}</Field>
        <Field label="Kind">
          {(p) => (
            <select {...p} value={kind} onChange={(e) => setKind(e.target.value as Kind)}>
              {Object.entries(KIND_LABELS).map(([k, l]) => <option key={k} value={k}>{l}</option>)}
            </select>
          )}
        </Field>
        <Field label="Last days" hint="Today included; a run can use other dates.">
          {(p) => <input {...p} type="number" min={1} max={366} value={lastDays} onChange={(e) => setLastDays(Number(e.target.value))} required />}
        </Field>
        <p className="row"><Button type="submit" busy={create.isPending} disabled={!name.trim()}>Create report</Button></p>
        <ErrorMessage error={create.error} />
      </form>
    </>
  );
}
