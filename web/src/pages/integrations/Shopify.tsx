import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api, ApiError, unwrap } from '../../api/client';
import { Button, ConfirmDialog, Empty, ErrorMessage, Field, formatDate, formatNumber, Loading, PageHeader, QueryState, StatusBadge } from '../../components/ui';
import { useSession } from '../../lib/session';

const SHOP = /^[a-z0-9][a-z0-9-]*\.myshopify\.com$/i;
const cleanShop = (s: string) => s.trim().replace(/^https?:\/\//i, '').replace(/\/+$/, '').toLowerCase();

/** Integrations → Shopify: connect a store (custom-app token or the OAuth install), sync its customers, its webhooks, disconnect. */
export default function Shopify() {
  const qc = useQueryClient();
  const session = useSession();
  const isAdmin = session.data?.role === 'owner' || session.data?.role === 'admin';
  const status = useQuery({ queryKey: ['shopify'], queryFn: () => unwrap(api.GET('/api/integrations/shopify')) });
  const refresh = () => qc.invalidateQueries({ queryKey: ['shopify'] });
  const [shopError, setShopError] = useState<string | undefined>();
  const [tokenError, setTokenError] = useState<string | undefined>();
  const [confirming, setConfirming] = useState(false);
  const connect = useMutation({
    mutationFn: (body: { shop: string; accessToken: string }) => unwrap(api.POST('/api/integrations/shopify/connect', { body })),
    onSuccess: refresh,
  });
  const disconnect = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/integrations/shopify')),
    onSuccess: async () => {
      setConfirming(false);
      await refresh();
    },
  });
  const connected = status.data?.connected;
  return (
    <>
      <PageHeader title="Shopify" />
      <p className="muted">Bring a Shopify store&apos;s customers and orders into this organization: customers sync on demand, and the store&apos;s webhooks keep them current.</p>
      {!status.data ? (
        <QueryState query={status} what="integration" />
      ) : connected ? (
        <>
          <section className="card stack" aria-labelledby="shop-h">
            <div className="row spread">
              <h2 id="shop-h">{status.data.shopName ?? status.data.shop}</h2>
              <StatusBadge status="connected" />
            </div>
            <dl className="facts">
              <dt>Shop</dt><dd className="mono">{status.data.shop}</dd>
              <dt>Connected</dt><dd>{formatDate(status.data.connectedAt)} ({status.data.method === 'oauth' ? 'app install' : 'custom-app token'})</dd>
              {status.data.scopes && (<><dt>Scopes</dt><dd className="mono small">{status.data.scopes}</dd></>)}
            </dl>
            {isAdmin && <div className="row"><Button variant="danger" onClick={() => setConfirming(true)}>Disconnect</Button></div>}
          </section>
          <CustomerSync isAdmin={isAdmin} />
          {isAdmin && <Webhooks />}
        </>
      ) : (
        <section className="card stack" aria-labelledby="connect-h">
          <h2 id="connect-h">Connect a store</h2>
          {status.data.shop && <p className="muted">The store {status.data.shop} was disconnected (or uninstalled the app).</p>}
          {!isAdmin ? (
            <Empty title="No store connected">Ask an owner or admin to connect one.</Empty>
          ) : (
            <>
              <form
                className="stack"
                noValidate
                onSubmit={(e) => {
                  e.preventDefault();
                  const f = new FormData(e.currentTarget);
                  const shop = cleanShop(String(f.get('shop') ?? ''));
                  const accessToken = String(f.get('accessToken') ?? '').trim();
                  const se = SHOP.test(shop) ? undefined : 'Enter the store\'s myshopify.com domain, e.g. your-store.myshopify.com';
                  const te = accessToken.length >= 8 ? undefined : 'Paste the Admin API access token of the store\'s custom app (it starts with shpat_)';
                  setShopError(se);
                  setTokenError(te);
                  if (!se && !te) connect.mutate({ shop, accessToken });
                }}
              >
                <Field label="Store domain" hint="your-store.myshopify.com" error={shopError}>{(p) => <input {...p} name="shop" autoComplete="off" />}</Field>
                <Field label="Admin API access token" hint="From the store's custom app (Settings → Apps → Develop apps). Stored encrypted, never shown again." error={tokenError}>
                  {(p) => <input {...p} name="accessToken" type="password" autoComplete="off" />}
                </Field>
                <ErrorMessage error={connect.error} />
                <div className="row"><Button type="submit" busy={connect.isPending}>Connect with token</Button></div>
              </form>
              <InstallLink />
            </>
          )}
        </section>
      )}
      <ConfirmDialog
        open={confirming}
        title="Disconnect the store?"
        confirmLabel="Disconnect"
        onConfirm={() => disconnect.mutate()}
        onCancel={() => setConfirming(false)}
        busy={disconnect.isPending}
        error={disconnect.error}
      >
        <p>Its access token is forgotten and its webhooks stop applying. The customers and orders already here stay.</p>
      </ConfirmDialog>
    </>
  );
}

/** The OAuth install: a top-level navigation to the API, which redirects to the shop's authorize page. */
function InstallLink() {
  const [shop, setShop] = useState('');
  const clean = cleanShop(shop);
  const valid = SHOP.test(clean);
  return (
    <div className="stack-sm">
      <h3>Or install the app</h3>
      <form className="row end" onSubmit={(e) => { e.preventDefault(); if (valid) window.location.assign(`/api/integrations/shopify/install?shop=${encodeURIComponent(clean)}`); }}>
        <div className="grow">
          <Field label="Store domain for the app install" error={shop && !valid ? 'Not a myshopify.com domain' : undefined}>
            {(p) => <input {...p} value={shop} onChange={(e) => setShop(e.target.value)} autoComplete="off" />}
          </Field>
        </div>
        <Button type="submit" variant="secondary" disabled={!valid}>Install on Shopify</Button>
      </form>
    </div>
  );
}

function CustomerSync({ isAdmin }: { isAdmin: boolean }) {
  const qc = useQueryClient();
  const sync = useQuery({
    queryKey: ['shopify', 'sync'],
    queryFn: async () => {
      try {
        return await unwrap(api.GET('/api/integrations/shopify/customers/sync'));
      } catch (err) {
        if (err instanceof ApiError && err.status === 404) return null;
        throw err;
      }
    },
    refetchInterval: (q) => (q.state.data && (q.state.data.status === 'queued' || q.state.data.status === 'running') ? 1000 : false),
  });
  const start = useMutation({
    mutationFn: () => unwrap(api.POST('/api/integrations/shopify/customers')),
    onSuccess: (s) => qc.setQueryData(['shopify', 'sync'], s),
  });
  const s = sync.data;
  const busy = s && (s.status === 'queued' || s.status === 'running');
  return (
    <section className="card stack" aria-labelledby="sync-h">
      <div className="row spread">
        <h2 id="sync-h">Customer sync</h2>
        {isAdmin && <Button onClick={() => start.mutate()} busy={start.isPending} disabled={Boolean(busy)}>{busy ? 'Syncing…' : 'Sync customers'}</Button>}
      </div>
      <ErrorMessage error={start.error} />
      {sync.isPending && <Loading />}
      <ErrorMessage error={sync.error} />
      {s === null && <Empty title="No sync yet">A sync reads every customer of the store; later changes arrive through webhooks.</Empty>}
      {s && (
        <div className="stack-sm" aria-live="polite">
          <div className="row"><StatusBadge status={s.status} /><span className="muted small">started {formatDate(s.startedAt ?? s.createdAt)}{s.finishedAt ? ` · finished ${formatDate(s.finishedAt)}` : ''}</span></div>
          {busy && <progress aria-label="Customer sync in progress" />}
          <dl className="facts">
            <dt>Customers seen</dt><dd>{formatNumber(s.customersSeen)}</dd>
            <dt>Created</dt><dd>{formatNumber(s.customersCreated)}</dd>
            <dt>Updated</dt><dd>{formatNumber(s.customersUpdated)}</dd>
            <dt>Pages</dt><dd>{formatNumber(s.pages)}{s.throttled ? ` (throttled ${s.throttled}×, waited for Shopify)` : ''}</dd>
          </dl>
          {s.error && <div className="alert alert-error" role="alert">{s.error}</div>}
        </div>
      )}
    </section>
  );
}

function Webhooks() {
  const qc = useQueryClient();
  const list = useQuery({ queryKey: ['shopify', 'webhooks'], queryFn: () => unwrap(api.GET('/api/integrations/shopify/webhooks')) });
  const register = useMutation({
    mutationFn: () => unwrap(api.POST('/api/integrations/shopify/webhooks')),
    onSuccess: (r) => qc.setQueryData(['shopify', 'webhooks'], r),
  });
  return (
    <section className="card stack" aria-labelledby="hooks-h">
      <div className="row spread">
        <h2 id="hooks-h">Webhook subscriptions</h2>
        <Button variant="secondary" onClick={() => register.mutate()} busy={register.isPending}>Register missing webhooks</Button>
      </div>
      <ErrorMessage error={register.error} />
      {register.data && register.data.errors.length > 0 && <div className="alert alert-error" role="alert">{register.data.errors.join('; ')}</div>}
      {register.data && register.data.created.length > 0 && <div className="alert alert-info" role="status">Subscribed: {register.data.created.join(', ')}</div>}
      {list.isPending && <Loading />}
      <ErrorMessage error={list.error} />
      {list.data && list.data.data.length === 0 && <Empty title="No webhook subscriptions">Register them so new customers and orders arrive here on their own.</Empty>}
      {list.data && list.data.data.length > 0 && (
        <table className="table">
          <thead><tr><th scope="col">Topic</th><th scope="col">Delivered to</th></tr></thead>
          <tbody>
            {list.data.data.map((w) => <tr key={w.id}><td className="mono">{w.topic}</td><td className="mono small break">{w.callbackUrl ?? '—'}</td></tr>)}
          </tbody>
        </table>
      )}
    </section>
  );
}
