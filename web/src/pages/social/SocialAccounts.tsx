import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useSearchParams } from 'react-router';
import { api, unwrap, type Body } from '../../api/client';
import { Button, ConfirmDialog, Empty, ErrorMessage, formatDate, Loading, PageHeader, StatusBadge } from '../../components/ui';

export type SocialAccount = Body<'/api/social/accounts', 'get'>['data'][number];
type Platform = SocialAccount['platform'];
export const PLATFORM_NAMES: Record<string, string> = { x: 'X', facebook: 'Facebook Page', instagram: 'Instagram', linkedin: 'LinkedIn' };

export const useSocialAccounts = () =>
  useQuery({ queryKey: ['social', 'accounts'], queryFn: () => unwrap(api.GET('/api/social/accounts', { params: { query: { limit: 200 } } })) });

/** Social → Accounts: connect through each platform's consent page, see which accounts need reconnecting, refresh, disconnect. */
export default function SocialAccounts() {
  const qc = useQueryClient();
  const [params, setParams] = useSearchParams();
  const platforms = useQuery({ queryKey: ['social', 'platforms'], queryFn: () => unwrap(api.GET('/api/social/platforms')) });
  const accounts = useSocialAccounts();
  const connect = useMutation({
    mutationFn: (platform: Platform) => unwrap(api.POST('/api/social/accounts', { body: { platform } })),
    // The platform asks the person, then sends the browser back to our callback, which returns here.
    onSuccess: (r) => window.location.assign(r.authorizeUrl),
  });
  const refresh = useMutation({
    mutationFn: (id: string) => unwrap(api.POST('/api/social/accounts/{id}', { params: { path: { id } } })),
    onSettled: () => qc.invalidateQueries({ queryKey: ['social', 'accounts'] }),
  });
  const [removing, setRemoving] = useState<{ id: string; handle: string } | null>(null);
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/social/accounts/{id}', { params: { path: { id } } })),
    onSuccess: async () => {
      setRemoving(null);
      await qc.invalidateQueries({ queryKey: ['social'] });
    },
  });
  const connected = params.get('connected');
  const failed = params.get('error');
  const offered = platforms.data?.data.filter((p) => p.configured) ?? [];
  return (
    <>
      <PageHeader title="Social accounts" />
      {connected && (
        <div className="alert alert-info" role="status">
          {connected === '1' ? 'The account is connected.' : `${connected} accounts are connected.`}{' '}
          <button type="button" className="btn btn-ghost" onClick={() => setParams({})}>Dismiss</button>
        </div>
      )}
      {failed && <ErrorMessage error={`The account was not connected: ${failed}`} />}
      <section className="card stack" aria-labelledby="connect-h">
        <h2 id="connect-h">Connect an account</h2>
        {platforms.isPending && <Loading />}
        <ErrorMessage error={platforms.error} />
        {platforms.data && offered.length === 0 && <p className="muted">No platform is configured on this server. See the README's “Social publishing” section.</p>}
        <div className="row">
          {offered.map((p) => (
            <Button key={p.platform} variant="secondary" busy={connect.isPending && connect.variables === p.platform} onClick={() => connect.mutate(p.platform)}>
              Connect {p.name}
            </Button>
          ))}
        </div>
        <ErrorMessage error={connect.error} />
      </section>
      <section className="card table-card" aria-labelledby="accounts-h">
        <h2 id="accounts-h" className="pad">Accounts</h2>
        {accounts.isPending && <Loading />}
        <ErrorMessage error={accounts.error} />
        {refresh.isSuccess && <p className="pad success" role="status">Token refreshed for {refresh.data.handle}.</p>}
        <div className="pad"><ErrorMessage error={refresh.error} title="Refresh failed" /></div>
        {accounts.data && accounts.data.data.length === 0 && <Empty title="No social accounts yet">Connect one above to schedule posts.</Empty>}
        {accounts.data && accounts.data.data.length > 0 && (
          <table className="table">
            <thead>
              <tr><th scope="col">Platform</th><th scope="col">Account</th><th scope="col">Status</th><th scope="col">Token expires</th><th scope="col">Refreshed</th><th scope="col"><span className="sr-only">Actions</span></th></tr>
            </thead>
            <tbody>
              {accounts.data.data.map((a) => (
                <tr key={a.id}>
                  <td>{PLATFORM_NAMES[a.platform] ?? a.platform}</td>
                  <td>{a.handle}{a.displayName && a.displayName !== a.handle && <div className="small muted">{a.displayName}</div>}</td>
                  <td>
                    {a.status === 'needs_reconnection' ? <span className="badge badge-failed">needs reconnection</span> : <StatusBadge status={a.status} />}
                    {a.statusReason && <div className="small error-text">{a.statusReason}</div>}
                  </td>
                  <td className="nowrap">{formatDate(a.tokenExpiresAt)}</td>
                  <td className="nowrap">{formatDate(a.refreshedAt)}</td>
                  <td className="num nowrap">
                    {a.status === 'needs_reconnection' ? (
                      <Button variant="primary" onClick={() => connect.mutate(a.platform)} aria-label={`Reconnect ${a.handle}`}>Reconnect</Button>
                    ) : (
                      <Button variant="ghost" busy={refresh.isPending && refresh.variables === a.id} onClick={() => refresh.mutate(a.id)} aria-label={`Refresh the token of ${a.handle}`}>Refresh</Button>
                    )}
                    <Button variant="ghost" onClick={() => setRemoving({ id: a.id, handle: a.handle })} aria-label={`Disconnect ${a.handle}`}>Disconnect</Button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <ConfirmDialog
        open={removing !== null}
        title="Disconnect this account?"
        confirmLabel="Disconnect"
        onConfirm={() => removing && remove.mutate(removing.id)}
        onCancel={() => { setRemoving(null); remove.reset(); }}
        busy={remove.isPending}
        error={remove.error}
      >
        <p>“{removing?.handle}” is disconnected and its tokens are deleted, with its drafts and scheduled posts.</p>
      </ConfirmDialog>
    </>
  );
}
