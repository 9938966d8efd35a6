import { useMutation, useQuery } from '@tanstack/react-query';
import { useId } from 'react';
import { useSearchParams } from 'react-router';
import { api, unwrap, type Body } from '../../api/client';
import { Button, ErrorMessage, formatDate, formatNumber, PageHeader, QueryState, StatusBadge } from '../../components/ui';
import { useSession } from '../../lib/session';

type BillingData = Body<'/api/billing', 'get'>;
type Usage = BillingData['usage'][number];

const LIMIT_LABELS: Record<Usage['limit'], string> = {
  customers: 'Customers',
  emailsPerMonth: 'Emails this month',
  smsPerMonth: 'SMS this month',
  members: 'Members and pending invitations',
  phoneNumbers: 'Phone numbers',
};

/** One limit: a labelled progress bar (role progressbar with its values), or "unlimited". */
function UsageBar({ u }: { u: Usage }) {
  const id = useId();
  const label = LIMIT_LABELS[u.limit];
  const full = u.allowed !== null && u.used >= u.allowed;
  return (
    <div className="usage-row">
      <div className="row spread">
        <span id={id} className="usage-label">{label}</span>
        <span className={`usage-value${full ? ' error-text' : ''}`}>
          {formatNumber(u.used)} {u.allowed === null ? '(unlimited)' : `of ${formatNumber(u.allowed)}`}
        </span>
      </div>
      {u.allowed !== null && (
        <div
          className="usage-track"
          role="progressbar"
          aria-labelledby={id}
          aria-valuemin={0}
          aria-valuemax={u.allowed}
          aria-valuenow={Math.min(u.used, u.allowed)}
          aria-valuetext={`${u.used} of ${u.allowed}${full ? ', limit reached' : ''}`}
        >
          <span className={`usage-fill${full ? ' usage-full' : ''}`} style={{ width: `${u.allowed === 0 ? 100 : Math.min(100, (u.used / u.allowed) * 100)}%` }} />
        </div>
      )}
    </div>
  );
}

/** Settings → Billing: the plan in force, usage against each limit, upgrade through Stripe Checkout, manage through the portal. */
export default function Billing() {
  const session = useSession();
  const [params] = useSearchParams();
  const billing = useQuery({ queryKey: ['billing'], queryFn: () => unwrap(api.GET('/api/billing')) });
  const checkout = useMutation({
    mutationFn: (plan: string) => unwrap(api.POST('/api/billing/checkout', { body: { plan } })),
    onSuccess: (s) => window.location.assign(s.url),
  });
  const portal = useMutation({
    mutationFn: () => unwrap(api.POST('/api/billing/portal')),
    onSuccess: (s) => window.location.assign(s.url),
  });
  const isAdmin = session.data?.role === 'owner' || session.data?.role === 'admin';
  const b = billing.data;
  return (
    <>
      <PageHeader title="Billing" />
      {params.get('checkout') === 'success' && <div className="alert alert-info" role="status">Thank you: your subscription starts as soon as Stripe confirms the payment.</div>}
      {params.get('checkout') === 'cancelled' && <div className="alert alert-info" role="status">Checkout was cancelled; nothing changed.</div>}
      {!b ? (
        <QueryState query={billing} what="billing page" />
      ) : (
        <>
          <section className="card stack" aria-labelledby="plan-h">
            <div className="row spread">
              <h2 id="plan-h">{b.planLabel} plan</h2>
              {b.status !== 'none' && <StatusBadge status={b.status} />}
            </div>
            {b.subscribedPlan !== b.plan && (
              <div className="alert alert-error" role="alert">
                The {b.subscribedPlan} subscription is {b.status}: the free plan&apos;s limits apply until it is paid. Nothing has been deleted.
              </div>
            )}
            {b.grace?.active && (
              <div className="alert alert-error" role="alert">
                A payment failed. The {b.planLabel} plan stays in force until {formatDate(b.grace.until)}; update the payment method to keep it.
              </div>
            )}
            <dl className="facts">
              <dt>Usage period</dt>
              <dd>{formatDate(b.usagePeriod.start)} – {formatDate(b.usagePeriod.end)} (monthly limits reset on the 1st, UTC)</dd>
              {b.currentPeriodEnd && (<><dt>Subscription renews</dt><dd>{formatDate(b.currentPeriodEnd)}</dd></>)}
            </dl>
          </section>

          <section className="card stack" aria-labelledby="usage-h">
            <h2 id="usage-h">Usage</h2>
            {b.usage.map((u) => <UsageBar key={u.limit} u={u} />)}
          </section>

          <section className="card stack" aria-labelledby="plans-h">
            <h2 id="plans-h">Plans</h2>
            {!b.stripeConfigured && (
              <div className="alert alert-info" role="note">
                Online payment is not set up on this server (Stripe is not configured). An operator can change this organization&apos;s plan
                with <code>npm run cli -- plan set &lt;organization&gt; &lt;plan&gt;</code>.
              </div>
            )}
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Plan</th>
                  {b.usage.map((u) => <th scope="col" key={u.limit}>{LIMIT_LABELS[u.limit]}</th>)}
                  <th scope="col"><span className="sr-only">Actions</span></th>
                </tr>
              </thead>
              <tbody>
                {b.plans.map((p) => (
                  <tr key={p.name}>
                    <th scope="row">{p.label}{p.name === b.plan && <span className="muted small"> (current)</span>}</th>
                    {b.usage.map((u) => <td key={u.limit} className="num">{p.limits[u.limit] === null ? 'Unlimited' : formatNumber(p.limits[u.limit]!)}</td>)}
                    <td className="num">
                      {p.purchasable && p.name !== b.plan && b.stripeConfigured && isAdmin && (
                        <Button variant="secondary" onClick={() => checkout.mutate(p.name)} busy={checkout.isPending && checkout.variables === p.name}>
                          Upgrade to {p.label}
                        </Button>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            <ErrorMessage error={checkout.error} />
            {b.stripeConfigured && b.stripeCustomer && isAdmin && (
              <div className="row">
                <Button variant="secondary" onClick={() => portal.mutate()} busy={portal.isPending}>Manage billing in Stripe</Button>
                <span className="muted small">Payment method, invoices, cancellation.</span>
              </div>
            )}
            <ErrorMessage error={portal.error} />
            {!isAdmin && <p className="muted small">Only owners and admins can change the plan.</p>}
          </section>
        </>
      )}
    </>
  );
}
