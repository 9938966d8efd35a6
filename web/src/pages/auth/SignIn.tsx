import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Button, ErrorMessage, Field } from '../../components/ui';
import { nextPath } from '../../lib/session';
import { AuthLayout } from './AuthLayout';

export default function SignIn() {
  const [search] = useSearchParams();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const signIn = useMutation({
    mutationFn: (body: { email: string; password: string }) => unwrap(api.POST('/api/auth/sign-in', { body })),
    onSuccess: async () => {
      qc.clear();
      await navigate(nextPath(search), { replace: true });
    },
  });
  return (
    <AuthLayout
      title="Sign in"
      subtitle={search.get('next') ? 'Sign in to continue where you were.' : 'Welcome back.'}
      footer={<>New here? <Link to={`/sign-up${search.get('next') ? `?next=${encodeURIComponent(search.get('next')!)}` : ''}`}>Create an account</Link></>}
    >
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          signIn.mutate({ email: String(f.get('email')), password: String(f.get('password')) });
        }}
      >
        <Field label="Email">{(p) => <input {...p} name="email" type="email" autoComplete="username" required autoFocus />}</Field>
        <Field label="Password">{(p) => <input {...p} name="password" type="password" autoComplete="current-password" required />}</Field>
        <ErrorMessage error={signIn.error} />
        <Button type="submit" busy={signIn.isPending} className="btn-block">Sign in</Button>
        <p className="center"><Link to="/reset-password">Forgot your password?</Link></p>
      </form>
    </AuthLayout>
  );
}
