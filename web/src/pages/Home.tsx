import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { BarChart } from '../components/BarChart';
import { Empty, ErrorMessage, formatNumber, formatPercent, Loading, PageHeader } from '../components/ui';
import { useSession } from '../lib/session';

export default function Home() {
  const session = useSession();
  const stats = useQuery({ queryKey: ['stats'], queryFn: () => unwrap(api.GET('/api/dashboard/stats')) });
  const org = session.data?.organizations.find((o) => o.id === session.data?.activeOrganizationId);
  return (
    <>
      <PageHeader title={org ? org.name : 'Home'}>
        <Link className="btn btn-secondary" to="/customers/import">Import customers</Link>
        <Link className="btn btn-primary" to="/campaigns/new">New campaign</Link>
      </PageHeader>
      {stats.isPending && <Loading />}
      <ErrorMessage error={stats.error} />
      {stats.data && (
        <>
          <section className="kpis" aria-label="Key figures">
            <Kpi label="Customers" value={formatNumber(stats.data.customers.total)} sub={`${formatPercent(stats.data.rates.emailOptIn)} email opt-in`} />
            <Kpi label="Email campaigns" value={formatNumber(stats.data.emailCampaigns.total)} sub={`${stats.data.emailCampaigns.byStatus.sent ?? 0} sent`} />
            <Kpi label="Emails sent" value={formatNumber(stats.data.messages.email.total)} sub={`${formatPercent(stats.data.rates.emailDelivery)} delivered`} />
            <Kpi label="Open rate" value={formatPercent(stats.data.rates.emailOpen)} sub={`${formatPercent(stats.data.rates.emailClick)} click rate`} />
          </section>
          {stats.data.customers.total === 0 ? (
            <div className="card">
              <Empty title="No customers yet">
                <p>Import a CSV file or add customers one by one, then send your first campaign.</p>
                <div className="row center-row">
                  <Link className="btn btn-primary" to="/customers/import">Import a CSV</Link>
                  <Link className="btn btn-secondary" to="/customers/new">Add a customer</Link>
                </div>
              </Empty>
            </div>
          ) : (
            <div className="grid-2">
              <div className="card">
                <BarChart title="Email messages by status" data={nonZero(stats.data.messages.email.byStatus)} />
              </div>
              <div className="card">
                <BarChart title="Email campaigns by status" data={nonZero(stats.data.emailCampaigns.byStatus)} />
              </div>
              <div className="card">
                <BarChart
                  title="Engagement"
                  data={{ opened: Math.round(stats.data.rates.emailOpen * 100), clicked: Math.round(stats.data.rates.emailClick * 100), bounced: Math.round(stats.data.rates.emailBounce * 100), unsubscribed: Math.round(stats.data.rates.emailUnsubscribe * 100) }}
                />
                <p className="hint">Percent of messages delivered (opens, clicks) or sent (bounces, unsubscribes).</p>
              </div>
              <div className="card">
                <BarChart title="Consent" data={{ 'email opt-in': stats.data.customers.emailOptIn, 'SMS opt-in': stats.data.customers.smsOptIn, total: stats.data.customers.total }} />
              </div>
            </div>
          )}
        </>
      )}
    </>
  );
}

/** Statuses with a count, or all of them when every count is zero (an honest empty chart). */
function nonZero(by: Record<string, number>) {
  const some = Object.entries(by).filter(([, v]) => v > 0);
  return Object.fromEntries(some.length ? some : Object.entries(by));
}

function Kpi({ label, value, sub }: { label: string; value: string; sub: string }) {
  return (
    <div className="kpi card">
      <div className="kpi-label">{label}</div>
      <div className="kpi-value">{value}</div>
      <div className="kpi-sub">{sub}</div>
    </div>
  );
}
