import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, detailsByPath, unwrap } from '../../api/client';
import { BarChart } from '../../components/BarChart';
import { PeriodChart } from '../../components/PeriodChart';
import { Button, ConfirmDialog, ErrorMessage, Field, Kpi, Loading, NotFoundState, PageHeader, QueryState, isNotFound } from '../../components/ui';
import { useMembers } from '../../lib/members';
import { describeRange, KIND_LABELS } from './ReportList';

/** The figure each kind's chart shows per row, and the row's label. */
const CHART: Record<string, { title: string; label: (r: Record<string, string | number | null>) => string; value: string }> = {
  campaign_performance: { title: 'Sent per campaign', label: (r) => `${r.campaign} (${r.channel})`, value: 'sent' },
  customer_growth: { title: 'New customers per day', label: (r) => String(r.day), value: 'newCustomers' },
  messages_by_channel: { title: 'Messages sent per day', label: (r) => String(r.day), value: 'total' },
  conversations: { title: 'Conversations created per day', label: (r) => String(r.day), value: 'created' },
};

/** The totals shown as figures with their change against the previous period, per kind. */
const KPIS: Record<string, [string, string][]> = {
  campaign_performance: [['sent', 'Sent'], ['delivered', 'Delivered'], ['opened', 'Opened'], ['clicked', 'Clicked'], ['orders', 'Attributed orders'], ['revenue', 'Attributed revenue']],
  customer_growth: [['newCustomers', 'New customers'], ['unsubscribed', 'Unsubscribed'], ['totalCustomers', 'Customers at the end']],
  messages_by_channel: [['email', 'Email sent'], ['sms', 'SMS sent'], ['total', 'All messages']],
  conversations: [['created', 'Conversations'], ['resolved', 'Resolved'], ['csatAnswers', 'CSAT answers'], ['csatAverage', 'Average CSAT (1–5)'], ['satisfied', 'Satisfied (4–5)']],
};

/** "▲ 12% vs 100" against the previous period's figure (no percentage from zero). */
export function describeDelta(now: number | null | undefined, before: number | null | undefined): string {
  if (now === null || now === undefined) return before === null || before === undefined ? 'No figure in either period' : `Previous period: ${before.toLocaleString()}`;
  if (before === null || before === undefined) return 'No figure in the previous period';
  const diff = now - before;
  if (diff === 0) return `No change vs ${before.toLocaleString()}`;
  const arrow = diff > 0 ? '▲' : '▼';
  return before === 0 ? `${arrow} from 0 in the previous period` : `${arrow} ${Math.abs(Math.round((diff / before) * 100))}% vs ${before.toLocaleString()}`;
}

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
        {r.kind === 'campaign_performance' && ` · revenue from orders within ${r.attributionDays} ${r.attributionDays === 1 ? 'day' : 'days'} of a click`}
        {r.schedule ? ` · emailed every ${r.schedule.every} to ${r.schedule.recipients.length} ${r.schedule.recipients.length === 1 ? 'member' : 'members'}` : ' · not emailed'}
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
            <p className="muted small">Compared with the previous period, {results.data.previous.from} to {results.data.previous.to}.</p>
            <section className="kpis" aria-label="Totals against the previous period">
              {(KPIS[r.kind] ?? []).map(([k, label]) => (
                <Kpi key={k} label={label} value={results.data.totals[k] ?? '—'} sub={describeDelta(results.data.totals[k], results.data.previousTotals[k])} />
              ))}
            </section>
            {results.data.rows.length === 0 ? (
              <p className="muted">Nothing in this range.</p>
            ) : (
              <>
                {r.kind === 'campaign_performance' ? (
                  <BarChart title={chart.title} data={Object.fromEntries(results.data.rows.map((row) => [chart.label(row), Number(row[chart.value] ?? 0)]))} />
                ) : (
                  <PeriodChart
                    title={`${chart.title}, previous period dashed`}
                    days={results.data.rows.map((row) => String(row.day))}
                    current={results.data.rows.map((row) => (row[chart.value] === null ? null : Number(row[chart.value])))}
                    previous={results.data.previous.rows.map((row) => (row[chart.value] === null ? null : Number(row[chart.value])))}
                  />
                )}
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
      <ReportSettings key={r.id} report={r} />
      <ConfirmDialog open={confirming} title="Delete this report?" confirmLabel="Delete report" onConfirm={() => remove.mutate()} onCancel={() => setConfirming(false)} busy={remove.isPending} error={remove.error}>
        <p>The saved definition goes; campaigns, customers and messages stay.</p>
      </ConfirmDialog>
    </>
  );
}

type Report = { id: string; kind: string; attributionDays: number; schedule: { every: 'day' | 'week'; recipients: string[] } | null };

/** The schedule (every day or week, to chosen members) and, for campaign performance, the attribution window. */
function ReportSettings({ report }: { report: Report }) {
  const qc = useQueryClient();
  const members = useMembers();
  const [every, setEvery] = useState<'' | 'day' | 'week'>(report.schedule?.every ?? '');
  const [recipients, setRecipients] = useState<string[]>(report.schedule?.recipients ?? []);
  const [days, setDays] = useState(String(report.attributionDays));
  const [saved, setSaved] = useState(false);
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PATCH('/api/reports/{id}', {
          params: { path: { id: report.id } },
          body: { schedule: every ? { every, recipients } : null, ...(report.kind === 'campaign_performance' && { attributionDays: Number(days) }) },
        }),
      ),
    onSuccess: async () => {
      setSaved(true);
      await qc.invalidateQueries({ queryKey: ['reports'] });
    },
  });
  const errors = detailsByPath(save.error);
  const sorted = useMemo(() => [...members.list].sort((a, b) => a.name.localeCompare(b.name)), [members.list]);
  return (
    <form
      className="card stack"
      aria-labelledby="report-settings-h"
      onSubmit={(e) => {
        e.preventDefault();
        setSaved(false);
        save.mutate();
      }}
    >
      <h2 id="report-settings-h">Delivery{report.kind === 'campaign_performance' ? ' and attribution' : ''}</h2>
      <div className="form-grid">
        <Field label="Email this report" hint="The CSV attached, first one interval after saving" error={errors['schedule.every']}>
          {(p) => (
            <select {...p} value={every} onChange={(e) => { setEvery(e.target.value as '' | 'day' | 'week'); setSaved(false); }}>
              <option value="">Never</option>
              <option value="day">Every day</option>
              <option value="week">Every week</option>
            </select>
          )}
        </Field>
        {report.kind === 'campaign_performance' && (
          <Field label="Attribution window (days)" hint="An order counts to the campaign its customer clicked last, within this many days before it" error={errors.attributionDays}>
            {(p) => <input {...p} type="number" min={1} max={90} required value={days} onChange={(e) => { setDays(e.target.value); setSaved(false); }} />}
          </Field>
        )}
      </div>
      {every && (
        <fieldset className="checks">
          <legend>Recipients</legend>
          {sorted.map((m) => (
            <label key={m.userId}>
              <input
                type="checkbox"
                checked={recipients.includes(m.userId)}
                onChange={(e) => {
                  setSaved(false);
                  setRecipients((r) => (e.target.checked ? [...r, m.userId] : r.filter((x) => x !== m.userId)));
                }}
              />
              {m.name} <span className="muted small">{m.email}</span>
            </label>
          ))}
          {errors['schedule.recipients'] && <p className="field-error">{errors['schedule.recipients']}</p>}
        </fieldset>
      )}
      <ErrorMessage error={save.error} />
      <div className="row">
        <Button type="submit" busy={save.isPending} disabled={Boolean(every) && recipients.length === 0}>Save delivery</Button>
        {saved && <span role="status" className="muted">Saved.</span>}
        {every && recipients.length === 0 && <span className="muted small">Choose at least one recipient.</span>}
      </div>
    </form>
  );
}
