// Sibling pages shown as tabs (SubNav); here so that no page chunk imports another page's chunk.
export const OUTBOX_TABS = [
  { to: '/outbox', label: 'Email' },
  { to: '/outbox/twilio', label: 'SMS & calls' },
  { to: '/outbox/account', label: 'Account mail' },
];
export const SMS_TABS = [
  { to: '/sms', label: 'Campaigns' },
  { to: '/sms/inbound', label: 'Inbound messages' },
];
export const CALL_TABS = [
  { to: '/calls', label: 'Calls' },
  { to: '/calls/agents', label: 'Agents' },
];
export const INBOX_SETTINGS_TABS = [
  { to: '/settings/inboxes', label: 'Inboxes' },
  { to: '/settings/canned-responses', label: 'Canned responses' },
  { to: '/settings/teams', label: 'Teams' },
];
