import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap, type Body } from '../../api/client';
import { AudienceCount, SegmentSelect } from '../../components/Audience';
import { EmailFrame } from '../../components/EmailFrame';
import { Button, ConfirmDialog, ErrorMessage, Field, PageHeader, QueryState, StatusBadge } from '../../components/ui';
import { useSession } from '../../lib/session';
import type { PreviewCustomer } from './preview';

type Campaign = Body<'/api/email/campaigns/{id}', 'get'>;
interface Draft {
  name: string;
  subject: string;
  preheader: string;
  replyTo: string;
  fromName: string;
  fromEmail: string;
  tags: string;
  segmentId: string;
  html: string;
}

const EMPTY: Draft = {
  name: '',
  subject: 'Hello {{ customer.firstName | default: "there" }}',
  preheader: '',
  replyTo: '',
  fromName: '',
  fromEmail: '',
  tags: '',
  segmentId: '',
  html: '<h1>Hi {{ customer.firstName | default: "there" }},</h1>\n<p>Here is what is new this month.</p>\n<p><a href="https://example.com/new">See what is new</a></p>',
};

const toDraft = (c: Campaign): Draft => ({
  name: c.name,
  subject: c.subject,
  preheader: c.preheader ?? '',
  replyTo: c.replyTo ?? '',
  fromName: c.fromName ?? '',
  fromEmail: c.fromEmail ?? '',
  tags: (c.audience.tags ?? []).join(', '),
  segmentId: c.audience.segmentId ?? '',
  html: c.html,
});

const toBody = (d: Draft) => ({
  name: d.name.trim(),
  subject: d.subject,
  preheader: d.preheader.trim() || null,
  replyTo: d.replyTo.trim() || null,
  fromName: d.fromName.trim() || null,
  fromEmail: d.fromEmail.trim() || null,
  html: d.html,
  audience: { tags: d.tags.split(',').map((t) => t.trim()).filter(Boolean), ...(d.segmentId && { segmentId: d.segmentId }) },
});

export default function CampaignEditor() {
  const { id } = useParams();
  const campaign = useQuery({
    queryKey: ['campaigns', id],
    queryFn: () => unwrap(api.GET('/api/email/campaigns/{id}', { params: { path: { id: id! } } })),
    enabled: Boolean(id),
  });
  const back = <Link className="back" to="/campaigns">← Campaigns</Link>;
  if (id && !campaign.data) {
    return (
      <>
        <PageHeader title="Campaign" back={back} />
        <QueryState query={campaign} what="campaign" />
      </>
    );
  }
  return <Editor key={id ?? 'new'} campaign={campaign.data} back={back} />;
}

function Editor({ campaign, back }: { campaign?: Campaign; back: React.ReactNode }) {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const session = useSession();
  const [draft, setDraft] = useState<Draft>(campaign ? toDraft(campaign) : EMPTY);
  const [dirty, setDirty] = useState(false);
  const editable = !campaign || campaign.status === 'draft';
  const set = (k: keyof Draft) => (e: React.ChangeEvent<HTMLInputElement | HTMLTextAreaElement>) => {
    setDraft((d) => ({ ...d, [k]: e.target.value }));
    setDirty(true);
  };

  const save = useMutation({
    mutationFn: async (d: Draft) =>
      campaign
        ? unwrap(api.PATCH('/api/email/campaigns/{id}', { params: { path: { id: campaign.id } }, body: toBody(d) }))
        : unwrap(api.POST('/api/email/campaigns', { body: toBody(d) })),
    onSuccess: async (c) => {
      setDirty(false);
      qc.setQueryData(['campaigns', c.id], c);
      await qc.invalidateQueries({ queryKey: ['campaigns', 'list'] });
      if (!campaign) await navigate(`/campaigns/${c.id}`, { replace: true });
    },
  });

  return (
    <>
      <PageHeader title={campaign ? campaign.name : 'New campaign'} back={back}>
        {campaign && <StatusBadge status={campaign.status} />}
        {campaign && campaign.status !== 'draft' && <Link className="btn btn-secondary" to={`/campaigns/${campaign.id}/results`}>Results</Link>}
      </PageHeader>
      {!editable && <p className="alert alert-info">This campaign is {campaign?.status}; its content can no longer change.</p>}
      <div className="editor">
        <form
          className="card stack"
          aria-label="Campaign"
          onSubmit={(e) => {
            e.preventDefault();
            save.mutate(draft);
          }}
        >
          <fieldset disabled={!editable} className="stack plain">
            <Field label="Campaign name" hint="Only your team sees it.">{(p) => <input {...p} value={draft.name} onChange={set('name')} required maxLength={200} />}</Field>
            <Field label="Subject">{(p) => <input {...p} value={draft.subject} onChange={set('subject')} maxLength={998} />}</Field>
            <Field label="Preheader" hint="The line mail clients show after the subject.">{(p) => <input {...p} value={draft.preheader} onChange={set('preheader')} maxLength={500} />}</Field>
            <div className="grid-2">
              <Field label="From name">{(p) => <input {...p} value={draft.fromName} onChange={set('fromName')} maxLength={200} />}</Field>
              <Field label="From address" hint="Empty: the platform's default sender. Otherwise a verified sender.">
                {(p) => <input {...p} type="email" value={draft.fromEmail} onChange={set('fromEmail')} maxLength={254} />}
              </Field>
            </div>
            <Field label="Reply-to address" hint="Empty: replies go to the From address.">{(p) => <input {...p} type="email" value={draft.replyTo} onChange={set('replyTo')} maxLength={254} />}</Field>
            <Field label="Audience tags" hint={<>Comma-separated. Opted-in customers with any of these tags; empty: every opted-in customer. <AudienceCount channel="email" tags={draft.tags} segmentId={draft.segmentId} /></>}>
              {(p) => <input {...p} value={draft.tags} onChange={set('tags')} placeholder="newsletter, vip" />}
            </Field>
            <SegmentSelect value={draft.segmentId} onChange={(segmentId) => setDraft((d) => ({ ...d, segmentId }))} />
            <Field label="HTML body" hint={<>Liquid: <code>{'{{ customer.firstName }}'}</code>, <code>{'{{ customer.attributes.city }}'}</code>, <code>{'{{ unsubscribe_url }}'}</code>.</>}>
              {(p) => <textarea {...p} className="mono" rows={14} value={draft.html} onChange={set('html')} spellCheck={false} />}
            </Field>
          </fieldset>
          <ErrorMessage error={save.error} title="Not saved" />
          {editable && (
            <div className="row">
              <Button type="submit" busy={save.isPending} disabled={campaign && !dirty}>{campaign ? (dirty ? 'Save changes' : 'Saved') : 'Create draft'}</Button>
            </div>
          )}
        </form>
        <Preview draft={draft} />
      </div>
      {campaign && editable && !dirty && (
        <div className="grid-2">
          <TestSend campaignId={campaign.id} defaultTo={session.data?.user.email ?? ''} />
          <SendPanel campaign={campaign} />
        </div>
      )}
      {campaign && editable && dirty && <p className="muted">Save your changes to test-send or send this campaign.</p>}
    </>
  );
}

/** Renders the draft for a customer of the organization as the user types. */
function Preview({ draft }: { draft: Draft }) {
  const customers = useQuery({ queryKey: ['customers', 'list', { limit: 50, preview: true }], queryFn: () => unwrap(api.GET('/api/customers', { params: { query: { limit: 50 } } })) });
  const [customerId, setCustomerId] = useState('');
  const [out, setOut] = useState<{ subject: string; html: string } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const list = customers.data?.data ?? [];
  const chosen = list.find((c) => c.id === customerId) ?? list[0];
  useEffect(() => {
    let live = true;
    const sample: PreviewCustomer = chosen
      ? { email: chosen.email, firstName: chosen.firstName, lastName: chosen.lastName, phone: chosen.phone, tags: chosen.tags, attributes: chosen.attributes }
      : { email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', phone: null, tags: [], attributes: {} };
    const t = setTimeout(async () => {
      try {
        const { renderPreview } = await import('./preview');
        const r = await renderPreview(draft, sample);
        if (live) {
          setOut(r);
          setError(null);
        }
      } catch (e) {
        if (live) setError(e instanceof Error ? e.message : String(e));
      }
    }, 200);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [draft, chosen]);
  return (
    <section className="card stack preview" aria-labelledby="preview-h">
      <div className="preview-head">
        <h2 id="preview-h">Preview</h2>
        <div className="field inline">
          <label htmlFor="preview-customer">For</label>
          <select id="preview-customer" value={chosen?.id ?? ''} onChange={(e) => setCustomerId(e.target.value)} disabled={list.length === 0}>
            {list.length === 0 && <option value="">Sample customer (Ada)</option>}
            {list.map((c) => (
              <option key={c.id} value={c.id}>{[c.firstName, c.lastName].filter(Boolean).join(' ') || c.email || c.phone}</option>
            ))}
          </select>
        </div>
      </div>
      {error ? (
        <p className="alert alert-error" role="alert">Template error: {error}</p>
      ) : (
        out && (
          <>
            <p className="preview-subject"><span className="muted">Subject:</span> {out.subject || <em>(empty)</em>}</p>
            <EmailFrame html={out.html} title="Email preview" />
          </>
        )
      )}
    </section>
  );
}

function TestSend({ campaignId, defaultTo }: { campaignId: string; defaultTo: string }) {
  const test = useMutation({ mutationFn: (to: string) => unwrap(api.POST('/api/email/campaigns/{id}/test', { params: { path: { id: campaignId } }, body: { to } })) });
  return (
    <form
      className="card stack"
      aria-labelledby="test-h"
      onSubmit={(e) => {
        e.preventDefault();
        test.mutate(String(new FormData(e.currentTarget).get('to')));
      }}
    >
      <h2 id="test-h">Send a test</h2>
      <Field label="To" hint="A confirmed address of a member of this organization.">{(p) => <input {...p} name="to" type="email" required defaultValue={defaultTo} />}</Field>
      <ErrorMessage error={test.error} title="Test not sent" />
      {test.isSuccess && <p className="success" role="status">Test sent to {test.variables}. Find it in the outbox.</p>}
      <div className="row"><Button type="submit" variant="secondary" busy={test.isPending}>Send test</Button></div>
    </form>
  );
}

function SendPanel({ campaign }: { campaign: Campaign }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [confirm, setConfirm] = useState<'now' | 'later' | null>(null);
  const [when, setWhen] = useState('');
  const send = useMutation({
    mutationFn: async (at: string | null) => {
      const path = { id: campaign.id };
      // Scheduling is the campaign's scheduledAt; sending then waits for it (202 either way).
      if (at || campaign.scheduledAt) await unwrap(api.PATCH('/api/email/campaigns/{id}', { params: { path }, body: { scheduledAt: at } }));
      return unwrap(api.POST('/api/email-campaigns/{id}/send', { params: { path } }));
    },
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['campaigns'] });
      await navigate(`/campaigns/${campaign.id}/results`);
    },
  });
  const at = when ? new Date(when) : null;
  return (
    <section className="card stack" aria-labelledby="send-h">
      <h2 id="send-h">Send</h2>
      <p className="muted">
        {campaign.audience.tags?.length ? <>To opted-in customers tagged {campaign.audience.tags.map((t) => <span className="tag" key={t}>{t}</span>)}</> : 'To every opted-in customer of this organization'}
        {campaign.audience.segmentId && ' who are in the chosen segment when the send starts'}
        {' '}(suppressed addresses are skipped).
      </p>
      <div className="row">
        <Button onClick={() => setConfirm('now')}>Send now</Button>
      </div>
      <div className="row end">
        <Field label="Or schedule for">{(p) => <input {...p} type="datetime-local" value={when} onChange={(e) => setWhen(e.target.value)} />}</Field>
        <Button variant="secondary" disabled={!at || at.getTime() <= Date.now()} onClick={() => setConfirm('later')}>Schedule</Button>
      </div>
      <ConfirmDialog
        open={confirm !== null}
        title={confirm === 'later' ? 'Schedule this campaign?' : 'Send this campaign now?'}
        confirmLabel={confirm === 'later' ? 'Schedule' : 'Send now'}
        tone="primary"
        onConfirm={() => send.mutate(confirm === 'later' && at ? at.toISOString() : null)}
        onCancel={() => { setConfirm(null); send.reset(); }}
        busy={send.isPending}
        error={send.error}
      >
        <p>
          “{campaign.name}” goes out {confirm === 'later' && at ? `on ${at.toLocaleString()}` : 'right away'}. It cannot be edited afterwards
          {confirm === 'later' ? ', but you can cancel it until then.' : '.'}
        </p>
      </ConfirmDialog>
    </section>
  );
}
