import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, Navigate, useLocation, useNavigate, useSearchParams } from 'react-router';
import { api, ApiError, unwrap } from '../../api/client';
import { Button, ErrorMessage, Loading } from '../../components/ui';
import { useSession } from '../../lib/session';
import { AuthLayout } from './AuthLayout';

/** The invitation mail's link: sign in (or up) with the invited address, then accept. */
export default function AcceptInvitation() {
  const [search] = useSearchParams();
  const token = search.get('token') ?? '';
  const location = useLocation();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const session = useSession();
  const accept = useMutation({
    mutationFn: () => unwrap(api.POST('/api/invitations/{token}/accept', { params: { path: { token } } })),
    onSuccess: async () => {
      qc.clear();
      await navigate('/', { replace: true });
    },
  });
  if (session.isPending) return <Loading />;
  if (session.error instanceof ApiError && session.error.status === 401) {
    return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  }
  return (
    <AuthLayout title="Join the organization" footer={<Link to="/">Go to the dashboard</Link>}>
      {!token && <p role="alert">This link has no invitation token. Open the link from the mail exactly as it was sent.</p>}
      {session.data && (
        <>
          <p>You are signed in as <strong>{session.data.user.email}</strong>. The invitation must be for this address, and the address confirmed.</p>
          {!session.data.user.emailVerified && <p className="alert alert-info">Confirm this address first: open the link in the mail we sent when you signed up.</p>}
          <ErrorMessage error={session.error ?? accept.error} />
          <Button onClick={() => accept.mutate()} busy={accept.isPending} disabled={!token} className="btn-block">Accept the invitation</Button>
        </>
      )}
    </AuthLayout>
  );
}
