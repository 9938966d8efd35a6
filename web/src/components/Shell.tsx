import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import { Link, Navigate, NavLink, Outlet, useLocation, useNavigate } from 'react-router';
import { api, ApiError, unwrap } from '../api/client';
import { sessionKey, useSession } from '../lib/session';
import { Button, ErrorMessage, Field, Loading } from './ui';

const NAV = [
  { to: '/', label: 'Home', end: true },
  { to: '/inbox', label: 'Inbox' },
  { to: '/customers', label: 'Customers' },
  { to: '/events', label: 'Events' },
  { to: '/segments', label: 'Segments' },
  { to: '/reports', label: 'Reports' },
  { to: '/campaigns', label: 'Email campaigns' },
  { to: '/outbox', label: 'Outbox' },
  { to: '/help-center', label: 'Help center' },
];
const CHANNELS = [
  { to: '/sms', label: 'SMS' },
  { to: '/calls', label: 'Calls' },
  { to: '/ivr', label: 'IVR flows' },
  { to: '/numbers', label: 'Phone numbers' },
  { to: '/social/posts', label: 'Social posts' },
  { to: '/social/accounts', label: 'Social accounts' },
];
const INTEGRATIONS = [{ to: '/integrations/shopify', label: 'Shopify' }];
const SETTINGS = [
  { to: '/settings/organization', label: 'Organization' },
  { to: '/settings/members', label: 'Members' },
  { to: '/settings/api-keys', label: 'API keys' },
  { to: '/settings/senders', label: 'Senders' },
  { to: '/settings/suppressions', label: 'Suppressions' },
  { to: '/settings/twilio', label: 'Twilio' },
  { to: '/settings/sms', label: 'SMS settings' },
  { to: '/settings/billing', label: 'Billing' },
  { to: '/settings/webhooks', label: 'Webhooks' },
  { to: '/settings/inboxes', label: 'Inboxes' },
  { to: '/settings/audit-log', label: 'Audit log' },
];

/** The signed-in frame: navigation, organization switcher, account menu; the page in the middle. */
export default function Shell() {
  const session = useSession();
  const location = useLocation();
  // After client-side navigation, screen readers and keyboards start at the new page's content.
  const mainRef = useRef<HTMLElement>(null);
  const firstPath = useRef(location.pathname);
  useEffect(() => {
    if (location.pathname !== firstPath.current) {
      firstPath.current = '';
      mainRef.current?.focus({ preventScroll: true });
    }
  }, [location.pathname]);
  if (session.isPending) return <Loading label="Loading your workspace…" />;
  if (session.error instanceof ApiError && session.error.status === 401) {
    return <Navigate to={`/sign-in?next=${encodeURIComponent(location.pathname + location.search)}`} replace />;
  }
  if (session.error) return <main className="auth-page"><ErrorMessage error={session.error} /></main>;
  const s = session.data;
  return (
    <div className="shell">
      <a href="#main" className="skip-link">Skip to content</a>
      <aside className="sidebar">
        <div className="sidebar-inner">
        <div className="brand" aria-label="Switchboard">
          <img src="/favicon.svg" alt="" width="28" height="28" />
          <span>Switchboard</span>
        </div>
        {s.organizations.length > 0 && <OrgSwitcher />}
        <nav aria-label="Main">
          <ul>
            {NAV.map((n) => (
              <li key={n.to}>
                <NavLink to={n.to} end={n.end}>{n.label}</NavLink>
              </li>
            ))}
          </ul>
          <p className="nav-heading" id="channels-nav">Channels</p>
          <ul aria-labelledby="channels-nav">
            {CHANNELS.map((n) => (
              <li key={n.to}>
                <NavLink to={n.to}>{n.label}</NavLink>
              </li>
            ))}
          </ul>
          <p className="nav-heading" id="integrations-nav">Integrations</p>
          <ul aria-labelledby="integrations-nav">
            {INTEGRATIONS.map((n) => (
              <li key={n.to}>
                <NavLink to={n.to}>{n.label}</NavLink>
              </li>
            ))}
          </ul>
          <p className="nav-heading" id="settings-nav">Settings</p>
          <ul aria-labelledby="settings-nav">
            {SETTINGS.map((n) => (
              <li key={n.to}>
                <NavLink to={n.to}>{n.label}</NavLink>
              </li>
            ))}
          </ul>
        </nav>
        <AccountBox />
        </div>
      </aside>
      <main id="main" className="main" tabIndex={-1} ref={mainRef}>
        {!s.user.emailVerified && <VerifyBanner email={s.user.email} />}
        {s.activeOrganizationId ? <Outlet /> : <CreateOrganization />}
      </main>
    </div>
  );
}

function OrgSwitcher() {
  const { data } = useSession();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [creating, setCreating] = useState(false);
  const sw = useMutation({
    mutationFn: (organizationId: string) => unwrap(api.POST('/api/organizations/current/switch', { body: { organizationId } })),
    onSuccess: async () => {
      qc.clear();
      await navigate('/');
    },
  });
  if (!data) return null;
  return (
    <div className="org-switcher">
      <label htmlFor="org-switcher">Organization</label>
      <select
        id="org-switcher"
        value={data.activeOrganizationId ?? ''}
        disabled={sw.isPending}
        onChange={(e) => (e.target.value === '__new' ? setCreating(true) : sw.mutate(e.target.value))}
      >
        {data.organizations.map((o) => (
          <option key={o.id} value={o.id}>{o.name}</option>
        ))}
        <option value="__new">+ New organization…</option>
      </select>
      <ErrorMessage error={sw.error} />
      {creating && <CreateOrganization onDone={() => setCreating(false)} compact />}
    </div>
  );
}

function CreateOrganization({ onDone, compact }: { onDone?: () => void; compact?: boolean }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const create = useMutation({
    mutationFn: (name: string) => unwrap(api.POST('/api/organizations', { body: { name } })),
    onSuccess: async () => {
      qc.clear();
      onDone?.();
      await navigate('/');
    },
  });
  return (
    <form
      className={compact ? 'stack-sm' : 'card narrow stack'}
      onSubmit={(e) => {
        e.preventDefault();
        create.mutate(String(new FormData(e.currentTarget).get('name')));
      }}
    >
      {!compact && <h1>Create an organization</h1>}
      {!compact && <p>Customers, campaigns and members belong to an organization. Create one to get started.</p>}
      <Field label="Organization name">{(p) => <input {...p} name="name" required maxLength={200} autoFocus={compact} />}</Field>
      <ErrorMessage error={create.error} />
      <div className="row">
        <Button type="submit" busy={create.isPending}>Create</Button>
        {onDone && <Button variant="ghost" onClick={onDone}>Cancel</Button>}
      </div>
    </form>
  );
}

function AccountBox() {
  const { data } = useSession();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const signOut = useMutation({
    mutationFn: () => unwrap(api.POST('/api/auth/sign-out')),
    onSuccess: async () => {
      qc.clear();
      await navigate('/sign-in');
    },
  });
  if (!data) return null;
  return (
    <div className="account">
      <NavLink className="account-name" to="/account">{data.user.name}</NavLink>
      <div className="account-email">{data.user.email}</div>
      {data.role && <div className="account-email">{data.role}</div>}
      <Button variant="ghost" onClick={() => signOut.mutate()} busy={signOut.isPending}>Sign out</Button>
      <ErrorMessage error={signOut.error} />
    </div>
  );
}

function VerifyBanner({ email }: { email: string }) {
  const resend = useMutation({ mutationFn: () => unwrap(api.POST('/api/auth/verify-email/resend')) });
  // In development the mail stays on the server: point at the development mailbox when there is one.
  const devMail = useQuery({ queryKey: ['dev-mail', 'banner'], queryFn: () => unwrap(api.GET('/api/auth/dev-mail', { params: { query: { limit: 1 } } })), retry: false, staleTime: Infinity });
  return (
    <div className="banner" role="status">
      <span>Confirm your address <strong>{email}</strong>: open the link we mailed you{devMail.isSuccess && <> (in development it is in the <Link to="/outbox/account">account mail outbox</Link>)</>}.</span>
      {resend.isSuccess ? <span>Sent again.</span> : <Button variant="secondary" onClick={() => resend.mutate()} busy={resend.isPending}>Send the link again</Button>}
      <ErrorMessage error={resend.error} />
    </div>
  );
}

export { sessionKey };
