import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { BarChart } from '../../components/BarChart';
import { Button, ConfirmDialog, ErrorMessage, Field, Loading, NotFoundState, PageHeader, QueryState, isNotFound } from '../../components/ui';
import { describeRange, KIND_LABELS } from './ReportList';

/** The figure each kind's chart shows per row, and the row's label. */
const CHART: Record<string, { title: string; label: (r: Record<string, string | number | null>) => string; value: string }> = {
  campaign_performance: { title: 'Sent per campaign', label: (r) => `${r.campaign} (${r.channel})`, value: 'sent' },
  customer_growth: { title: 'New customers per day', label: (r) => String(r.day), value: 'newCustomers' },
  messages_by_channel: { title: 'Messages sent per day', label: (r) => String(r.day), value: 'total' },
};

export default function ReportView() {
  const { id } = useParams();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [applied, setApplied] = useState<{ from: string; to: string } | undefined>();
  const [confirming, setConfirming] = useState(false);
  const report = useQuery({ queryKey: ['reports', 'one', id], queryFn: () => unwrap(api.GET('/api/reports/{id}', { params: { path: { id: id! } } })) });
  const results = useQuery({
    queryKey: ['reports', 'results', id, applied],
    queryFn: () => unwrap(api.GET('/api/reports/{id}/results', { params: { path: { id: id! }, query: applied ?? {} } })),
    enabled: report.isSuccess,
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/reports/{id}', { params: { path: { id: id! } } })),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['reports'] });
      await navigate('/reports');
    },
  });
  if (isNotFound(report.error)) return <NotFoundState what="report" />;
  if (!report.data) return <QueryState query={report} what="report" />;
  const r = report.data;
  const chart = CHART[r.kind];
  const csvHref = `/api/reports/${encodeURIComponent(r.id)}/results.csv${applied ? `?from=${applied.from}&to=${applied.to}` : ''}`;
  return (
    <>
      <PageHeader title={r.name} back={<Link className="back" to="/reports">← Reports</Link>}>
        <Button variant="danger" onClick={() => setConfirming(true)}>Delete</Button>
      </PageHeader>
      <p className="muted">
        {KIND_LABELS[r.kind]} · saved range: {describeRange(r.range)}
        {r.schedule && ` · emailed every ${r.schedule.every} to ${r.schedule.recipients.length} ${r.schedule.recipients.length === 1 ? 'member' : 'members'}`}
      </p>
      <form
        className="card row end"
        aria-label="Date range"
        onSubmit={(e) => {
          e.preventDefault();
          setApplied(from && to ? { from, to } : undefined);
        }}
      >
        <Field label="From">{(p) => <input {...p} type="date" value={from} onChange={(e) => setFrom(e.target.value)} />}</Field>
        <Field label="To">{(p) => <input {...p} type="date" value={to} onChange={(e) => setTo(e.target.value)} />}</Field>
        <Button type="submit" variant="secondary">{from && to ? 'Run for these dates' : 'Run for the saved range'}</Button>
        <a className="btn btn-secondary" href={csvHref} download>Download CSV</a>
      </form>
      <section className="card" aria-label="Results" aria-live="polite">
        {results.isPending && <Loading label="Running…" />}
        <ErrorMessage error={results.error} />
        {results.data && (
          <>
            <h2>{results.data.from} to {results.data.to}</h2>
            {results.data.rows.length === 0 ? (
              <p className="muted">Nothing in this range.</p>
            ) : (
              <>
                <BarChart title={chart.title} data={Object.fromEntries(results.data.rows.map((row) => [chart.label(row), Number(row[chart.value] ?? 0)]))} />
                                  <table className="table">
                    <thead><tr>{results.data.columns.filter((c) => c !== 'campaignId').map((c) => <th scope="col" key={c}>{c}</th>)}</tr></thead>
                    <tbody>
                      {results.data.rows.map((row, i) => (
                        <tr key={i}>{results.data.columns.filter((c) => c !== 'campaignId').map((c) => <td key={c}>{row[c] ?? '—'}</td>)}</tr>
                      ))}
                    </tbody>
                  </table>
              </>
            )}
          </>
        )}
      </section>
      <ConfirmDialog open={confirming} title="Delete this report?" confirmLabel="Delete report" onConfirm={() => remove.mutate()} onCancel={() => setConfirming(false)} busy={remove.isPending} error={remove.error}>
        <p>The saved definition goes; campaigns, customers and messages stay.</p>
      </ConfirmDialog>
    </>
  );
}
