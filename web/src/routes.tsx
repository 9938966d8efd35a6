// Every page is its own chunk (React Router's lazy routes): the sign-in page loads only what it needs.
import { createBrowserRouter, type RouteObject } from 'react-router';
import { RouteError } from './components/RouteError';

const page = (load: () => Promise<{ default: React.ComponentType }>): Pick<RouteObject, 'lazy'> => ({
  lazy: async () => ({ Component: (await load()).default }),
});

export const router = createBrowserRouter([
  { path: '/sign-in', ...page(() => import('./pages/auth/SignIn')), errorElement: <RouteError /> },
  { path: '/sign-up', ...page(() => import('./pages/auth/SignUp')), errorElement: <RouteError /> },
  { path: '/verify-email', ...page(() => import('./pages/auth/VerifyEmail')), errorElement: <RouteError /> },
  { path: '/invitations/accept', ...page(() => import('./pages/auth/AcceptInvitation')), errorElement: <RouteError /> },
  { path: '/reset-password', ...page(() => import('./pages/auth/ResetPassword')), errorElement: <RouteError /> },
  {
    path: '/',
    ...page(() => import('./components/Shell')),
    errorElement: <RouteError />,
    children: [
      { index: true, ...page(() => import('./pages/Home')) },
      { path: 'customers', ...page(() => import('./pages/customers/CustomerList')) },
      { path: 'customers/new', ...page(() => import('./pages/customers/CustomerNew')) },
      { path: 'customers/import', ...page(() => import('./pages/customers/CustomerImport')) },
      { path: 'customers/:id', ...page(() => import('./pages/customers/CustomerPage')) },
      { path: 'campaigns', ...page(() => import('./pages/campaigns/CampaignList')) },
      { path: 'campaigns/new', ...page(() => import('./pages/campaigns/CampaignEditor')) },
      { path: 'campaigns/:id', ...page(() => import('./pages/campaigns/CampaignEditor')) },
      { path: 'campaigns/:id/results', ...page(() => import('./pages/campaigns/CampaignResults')) },
      { path: 'sms', ...page(() => import('./pages/sms/SmsCampaigns')) },
      { path: 'sms/new', ...page(() => import('./pages/sms/SmsEditor')) },
      { path: 'sms/:id', ...page(() => import('./pages/sms/SmsEditor')) },
      { path: 'events', ...page(() => import('./pages/events/EventList')) },
      { path: 'segments', ...page(() => import('./pages/segments/SegmentList')) },
      { path: 'segments/new', ...page(() => import('./pages/segments/SegmentEditor')) },
      { path: 'segments/:id', ...page(() => import('./pages/segments/SegmentEditor')) },
      { path: 'outbox', ...page(() => import('./pages/Outbox')) },
      { path: 'settings/members', ...page(() => import('./pages/settings/Members')) },
      { path: 'settings/api-keys', ...page(() => import('./pages/settings/ApiKeys')) },
      { path: 'settings/senders', ...page(() => import('./pages/settings/Senders')) },
      { path: 'settings/suppressions', ...page(() => import('./pages/settings/Suppressions')) },
      { path: 'account', ...page(() => import('./pages/settings/Account')) },
      { path: 'settings/audit-log', ...page(() => import('./pages/settings/AuditLog')) },
      { path: '*', ...page(() => import('./pages/NotFound')) },
    ],
  },
]);
