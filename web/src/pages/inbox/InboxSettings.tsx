import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Button, ConfirmDialog, ErrorMessage, Field, PageHeader, QueryState } from '../../components/ui';
import type { Inbox } from '../../lib/chat';

const DAYS = [
  ['mon', 'Monday'],
  ['tue', 'Tuesday'],
  ['wed', 'Wednesday'],
  ['thu', 'Thursday'],
  ['fri', 'Friday'],
  ['sat', 'Saturday'],
  ['sun', 'Sunday'],
] as const;
type Day = (typeof DAYS)[number][0];
type Hours = NonNullable<Inbox['businessHours']>;
interface DayRow {
  open: boolean;
  start: string;
  end: string;
}

const localZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';

function rowsOf(h: Inbox['businessHours']): Record<Day, DayRow> {
  return Object.fromEntries(
    DAYS.map(([d]) => {
      const first = h?.days[d]?.[0];
      return [d, first ? { open: true, start: first.start, end: first.end } : { open: !h && !['sat', 'sun'].includes(d), start: '09:00', end: '17:00' }];
    }),
  ) as Record<Day, DayRow>;
}

/** One inbox: its settings, the embed snippet, identity verification and the inbound email address. */
export default function InboxSettings() {
  const { id = '' } = useParams();
  const inbox = useQuery({ queryKey: ['chat-inboxes', id], queryFn: () => unwrap(api.GET('/api/chat/inboxes/{id}', { params: { path: { id } } })) });
  const back = <Link className="back" to="/settings/inboxes">← Inboxes</Link>;
  if (!inbox.data) {
    return (
      <>
        <PageHeader title="Inbox" back={back} />
        <QueryState query={inbox} what="inbox" />
      </>
    );
  }
  const i = inbox.data;
  return (
    <>
      <PageHeader title={i.name} back={back} />
      <div className="grid-2">
        <SettingsForm inbox={i} key={i.id} />
        <div className="stack">
          <Embed inbox={i} />
          <Identity inbox={i} />
          {i.emailInboundUrl && <InboundEmail url={i.emailInboundUrl} />}
          <DeleteInbox inbox={i} />
        </div>
      </div>
    </>
  );
}

function SettingsForm({ inbox: i }: { inbox: Inbox }) {
  const qc = useQueryClient();
  const [name, setName] = useState(i.name);
  const [greeting, setGreeting] = useState(i.greeting ?? '');
  const [outOfHoursReply, setReply] = useState(i.outOfHoursReply ?? '');
  const [csatEnabled, setCsat] = useState(i.csatEnabled);
  const [limited, setLimited] = useState(!!i.businessHours);
  const [timezone, setTimezone] = useState(i.businessHours?.timezone ?? localZone());
  const [days, setDays] = useState(() => rowsOf(i.businessHours));
  const save = useMutation({
    mutationFn: () => {
      const businessHours: Hours | null = limited
        ? { timezone, days: Object.fromEntries(DAYS.map(([d]) => [d, days[d].open ? [{ start: days[d].start, end: days[d].end }] : []])) as Hours['days'] }
        : null;
      return unwrap(api.PATCH('/api/chat/inboxes/{id}', { params: { path: { id: i.id } }, body: { name, greeting, outOfHoursReply, csatEnabled, businessHours } }));
    },
    onSuccess: (next) => {
      qc.setQueryData(['chat-inboxes', i.id], next);
      void qc.invalidateQueries({ queryKey: ['chat-inboxes'], exact: true });
    },
  });
  const setDay = (d: Day, change: Partial<DayRow>) => setDays((all) => ({ ...all, [d]: { ...all[d], ...change } }));
  return (
    <form
      className="card stack"
      aria-labelledby="settings-h"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <h2 id="settings-h">Settings</h2>
      <Field label="Inbox name">{(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} required maxLength={120} />}</Field>
      <Field label="Greeting" hint="The first thing visitors read when they open the chat.">{(p) => <textarea {...p} value={greeting} onChange={(e) => setGreeting(e.target.value)} maxLength={500} rows={2} />}</Field>
      <label className="row"><input type="checkbox" checked={csatEnabled} onChange={(e) => setCsat(e.target.checked)} /> Ask the customer to rate the conversation (1–5) when it is resolved</label>
      <fieldset className="stack-sm">
        <legend>Business hours</legend>
        <label className="row"><input type="checkbox" checked={limited} onChange={(e) => setLimited(e.target.checked)} /> Online only within business hours</label>
        {limited && (
          <>
            <Field label="Time zone" hint="An IANA zone, e.g. Europe/Paris.">{(p) => <input {...p} value={timezone} onChange={(e) => setTimezone(e.target.value)} required maxLength={64} />}</Field>
            <table className="table hours">
              <caption className="sr-only">Opening hours per day</caption>
              <thead><tr><th scope="col">Day</th><th scope="col">Open</th><th scope="col">From</th><th scope="col">To</th></tr></thead>
              <tbody>
                {DAYS.map(([d, label]) => (
                  <tr key={d}>
                    <th scope="row">{label}</th>
                    <td><input type="checkbox" aria-label={`Open on ${label}`} checked={days[d].open} onChange={(e) => setDay(d, { open: e.target.checked })} /></td>
                    <td><input type="time" aria-label={`${label} opens at`} value={days[d].start} disabled={!days[d].open} onChange={(e) => setDay(d, { start: e.target.value })} /></td>
                    <td><input type="time" aria-label={`${label} closes at`} value={days[d].end} disabled={!days[d].open} onChange={(e) => setDay(d, { end: e.target.value })} /></td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Field label="Out-of-hours reply" hint="Sent automatically to a message that arrives outside these hours.">
              {(p) => <textarea {...p} value={outOfHoursReply} onChange={(e) => setReply(e.target.value)} maxLength={1000} rows={3} placeholder="Thanks! We're away now and will reply in the morning." />}
            </Field>
          </>
        )}
      </fieldset>
      <ErrorMessage error={save.error} />
      <div className="row">
        <Button type="submit" busy={save.isPending}>Save settings</Button>
        {save.isSuccess && <span role="status" className="muted">Saved.</span>}
      </div>
    </form>
  );
}

function CopyField({ label, value, multiline }: { label: string; value: string; multiline?: boolean }) {
  const [copied, setCopied] = useState(false);
  const id = `copy-${label.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <div className="stack-sm">
      <label htmlFor={id}>{label}</label>
      {multiline ? (
        <textarea id={id} className="mono code-box" readOnly value={value} rows={value.split('\n').length} onFocus={(e) => e.currentTarget.select()} />
      ) : (
        <input id={id} className="mono" readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
      )}
      <div className="row">
        <Button
          variant="secondary"
          onClick={async () => {
            await navigator.clipboard.writeText(value);
            setCopied(true);
          }}
        >
          {copied ? 'Copied' : `Copy ${label.toLowerCase()}`}
        </Button>
        <span role="status" className="sr-only">{copied ? `${label} copied to the clipboard` : ''}</span>
      </div>
    </div>
  );
}

function Embed({ inbox: i }: { inbox: Inbox }) {
  const qc = useQueryClient();
  const [confirm, setConfirm] = useState(false);
  const rotate = useMutation({
    mutationFn: () => unwrap(api.POST('/api/chat/inboxes/{id}/rotate-token', { params: { path: { id: i.id } } })),
    onSuccess: (next) => {
      qc.setQueryData(['chat-inboxes', i.id], next);
      setConfirm(false);
    },
  });
  const snippet = `<script src="${location.origin}/widget.js" data-site-token="${i.siteToken}" async></script>`;
  return (
    <section className="card stack" aria-labelledby="embed-h">
      <h2 id="embed-h">Embed the chat widget</h2>
      <p className="muted">Paste this before <code>&lt;/body&gt;</code> on every page of your site. The site token is public: it can only open conversations in this inbox.</p>
      <CopyField label="Embed snippet" value={snippet} multiline />
      <p><a href={`/widget/demo?token=${encodeURIComponent(i.siteToken)}`} target="_blank" rel="noopener">Try it on the demo page (opens in a new tab)</a></p>
      <div className="row">
        <Button variant="secondary" onClick={() => setConfirm(true)}>Rotate the site token</Button>
      </div>
      <ConfirmDialog open={confirm} title="Rotate the site token?" confirmLabel="Rotate" onConfirm={() => rotate.mutate()} onCancel={() => setConfirm(false)} busy={rotate.isPending} error={rotate.error}>
        <p>The widget on your site stops working until you replace the snippet with the new one.</p>
      </ConfirmDialog>
    </section>
  );
}

function Identity({ inbox: i }: { inbox: Inbox }) {
  if (!i.identitySecret) {
    return (
      <section className="card stack" aria-labelledby="identity-h">
        <h2 id="identity-h">Identity verification</h2>
        <p className="muted">An admin of the organization sees the identity secret here.</p>
      </section>
    );
  }
  const node = `// On your server, never in the browser: the identity secret stays secret.
import { createHmac } from 'node:crypto';

const userHash = createHmac('sha256', process.env.SWITCHBOARD_IDENTITY_SECRET)
  .update(user.email) // or String(user.id) with data-user-id
  .digest('hex');

// <script src="${location.origin}/widget.js" data-site-token="${i.siteToken}"
//   data-email="\${user.email}" data-user-hash="\${userHash}" async></script>`;
  return (
    <section className="card stack" aria-labelledby="identity-h">
      <h2 id="identity-h">Identity verification</h2>
      <p className="muted">To show signed-in users as your customers, sign their email (or id) with this secret on your server. A visitor whose hash does not match stays anonymous: nobody can claim to be someone else.</p>
      <CopyField label="Identity secret" value={i.identitySecret} />
      <CopyField label="Node.js example" value={node} multiline />
    </section>
  );
}

function InboundEmail({ url }: { url: string }) {
  return (
    <section className="card stack" aria-labelledby="email-h">
      <h2 id="email-h">Email replies</h2>
      <p className="muted">Point SendGrid Inbound Parse at this URL (it contains a secret): customers' email replies thread into their conversations.</p>
      <CopyField label="Inbound Parse URL" value={url} />
    </section>
  );
}

function DeleteInbox({ inbox: i }: { inbox: Inbox }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [confirm, setConfirm] = useState(false);
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/chat/inboxes/{id}', { params: { path: { id: i.id } } })),
    onSuccess: async () => {
      qc.removeQueries({ queryKey: ['chat-inboxes', i.id] });
      await qc.invalidateQueries({ queryKey: ['chat-inboxes'] });
      await navigate('/settings/inboxes');
    },
  });
  return (
    <section className="card stack" aria-labelledby="delete-h">
      <h2 id="delete-h">Delete this inbox</h2>
      <div className="row"><Button variant="danger" onClick={() => setConfirm(true)}>Delete inbox</Button></div>
      <ConfirmDialog open={confirm} title={`Delete ${i.name}?`} confirmLabel="Delete" onConfirm={() => remove.mutate()} onCancel={() => setConfirm(false)} busy={remove.isPending} error={remove.error}>
        <p>The widget stops working on your site.</p>
      </ConfirmDialog>
    </section>
  );
}
