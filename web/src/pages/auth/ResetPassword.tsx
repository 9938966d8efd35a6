import { useMutation } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Button, ErrorMessage, Field } from '../../components/ui';
import { AuthLayout } from './AuthLayout';

/** Asks for a reset mail, then sets the new password with the mailed token (in the link or pasted). */
export default function ResetPassword() {
  const [search] = useSearchParams();
  const request = useMutation({ mutationFn: (email: string) => unwrap(api.POST('/api/auth/password-reset', { body: { email } })) });
  const confirm = useMutation({
    mutationFn: (body: { token: string; password: string }) => unwrap(api.POST('/api/auth/password-reset/confirm', { body })),
  });
  if (confirm.isSuccess) {
    return (
      <AuthLayout title="Password changed">
        <p role="status" className="success">Your new password is set and every session has ended.</p>
        <Link className="btn btn-primary btn-block" to="/sign-in">Sign in</Link>
      </AuthLayout>
    );
  }
  return (
    <AuthLayout title="Reset your password" footer={<Link to="/sign-in">Back to sign in</Link>}>
      {!search.get('token') && (
        <form
          className="stack"
          onSubmit={(e) => {
            e.preventDefault();
            request.mutate(String(new FormData(e.currentTarget).get('email')));
          }}
        >
          <Field label="Email" hint="We mail a token that works once, for an hour.">{(p) => <input {...p} name="email" type="email" autoComplete="email" required />}</Field>
          <ErrorMessage error={request.error} />
          {request.isSuccess && <p role="status" className="success">If an account has this address, a reset token is on its way.</p>}
          <Button type="submit" variant="secondary" busy={request.isPending}>Mail me a reset token</Button>
        </form>
      )}
      <form
        className="stack section"
        onSubmit={(e) => {
          e.preventDefault();
          const f = new FormData(e.currentTarget);
          confirm.mutate({ token: String(f.get('token')).trim(), password: String(f.get('password')) });
        }}
      >
        <Field label="Reset token" hint="From the mail.">{(p) => <input {...p} name="token" required defaultValue={search.get('token') ?? ''} autoComplete="one-time-code" />}</Field>
        <Field label="New password" hint="At least 10 characters, not a common password.">
          {(p) => <input {...p} name="password" type="password" autoComplete="new-password" required minLength={10} />}
        </Field>
        <ErrorMessage error={confirm.error} />
        <Button type="submit" busy={confirm.isPending}>Set new password</Button>
      </form>
    </AuthLayout>
  );
}
