import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Button, ErrorMessage, Field } from '../../components/ui';
import { nextPath } from '../../lib/session';
import { AuthLayout } from './AuthLayout';

export default function SignUp() {
  const navigate = useNavigate();
  const [search] = useSearchParams();
  const invited = search.get('next')?.startsWith('/invitations/') ?? false;
  const qc = useQueryClient();
  const signUp = useMutation({
    mutationFn: (body: { name: string; email: string; password: string; organizationName?: string }) => unwrap(api.POST('/api/auth/sign-up', { body })),
    onSuccess: async () => {
      qc.clear();
      await navigate(nextPath(search), { replace: true });
    },
  });
  return (
    <AuthLayout title="Create your account" subtitle="Start with your organization; invite your team later." footer={<>Already have an account? <Link to={`/sign-in${search.get('next') ? `?next=${encodeURIComponent(search.get('next')!)}` : ''}`}>Sign in</Link></>}>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          signUp.mutate({ name: String(f.get('name')), email: String(f.get('email')), password: String(f.get('password')), organizationName: String(f.get('organizationName') ?? '').trim() || undefined });
        }}
      >
        <Field label="Your name">{(p) => <input {...p} name="name" autoComplete="name" required maxLength={200} autoFocus />}</Field>
        <Field label="Work email">{(p) => <input {...p} name="email" type="email" autoComplete="email" required maxLength={254} />}</Field>
        <Field label="Password" hint="At least 10 characters, not a common password.">
          {(p) => <input {...p} name="password" type="password" autoComplete="new-password" required minLength={10} maxLength={256} />}
        </Field>
        {!invited && <Field label="Organization name">{(p) => <input {...p} name="organizationName" autoComplete="organization" required maxLength={200} />}</Field>}
        <ErrorMessage error={signUp.error} />
        <Button type="submit" busy={signUp.isPending} className="btn-block">Create account</Button>
      </form>
    </AuthLayout>
  );
}
