import { useMutation } from '@tanstack/react-query';
import { useEffect, useRef } from 'react';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { ErrorMessage, Loading } from '../../components/ui';
import { AuthLayout } from './AuthLayout';

/** Confirms an address with the token of the mailed link (POST /api/auth/verify-email). */
export default function VerifyEmail() {
  const [search] = useSearchParams();
  const token = search.get('token') ?? '';
  const confirm = useMutation({ mutationFn: (t: string) => unwrap(api.POST('/api/auth/verify-email', { body: { token: t } })) });
  const { mutate } = confirm;
  // A token works once: send it once, even when React runs the effect twice (StrictMode).
  const sent = useRef<string | null>(null);
  useEffect(() => {
    if (token && sent.current !== token) {
      sent.current = token;
      mutate(token);
    }
  }, [token, mutate]);
  return (
    <AuthLayout title="Confirm your email" footer={<Link to="/">Go to the dashboard</Link>}>
      {!token && <p role="alert">This link has no token. Open the link from the mail exactly as it was sent.</p>}
      {confirm.isPending && <Loading label="Confirming…" />}
      {confirm.isSuccess && <p role="status" className="success">Your address is confirmed. Thank you.</p>}
      <ErrorMessage error={confirm.error} />
    </AuthLayout>
  );
}
