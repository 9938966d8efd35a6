import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap, type Body } from '../../api/client';
import { AudienceCount, SegmentSelect } from '../../components/Audience';
import { Button, ConfirmDialog, ErrorMessage, Field, PageHeader, QueryState, StatusBadge } from '../../components/ui';
import { countSegments } from './segments';

type SmsCampaign = Body<'/api/sms/campaigns/{id}', 'get'>;

export default function SmsEditor() {
  const { id } = useParams();
  const campaign = useQuery({
    queryKey: ['sms-campaigns', id],
    queryFn: () => unwrap(api.GET('/api/sms/campaigns/{id}', { params: { path: { id: id! } } })),
    enabled: Boolean(id),
    // Follows a send as it goes.
    refetchInterval: (q) => (q.state.data && (q.state.data.status === 'sending' || q.state.data.status === 'scheduled') ? 2000 : false),
  });
  const back = <Link className="back" to="/sms">← SMS campaigns</Link>;
  if (id && !campaign.data) {
    return (
      <>
        <PageHeader title="SMS campaign" back={back} />
        <QueryState query={campaign} what="SMS campaign" />
      </>
    );
  }
  return <Editor key={`${id ?? 'new'}:${campaign.data?.status ?? ''}`} campaign={campaign.data} back={back} />;
}

function Editor({ campaign, back }: { campaign?: SmsCampaign; back: React.ReactNode }) {
  const navigate = useNavigate();
  const qc = useQueryClient();
  const [name, setName] = useState(campaign?.name ?? '');
  const [body, setBody] = useState(campaign?.body ?? 'Hi {{ customer.firstName | default: "there" }}, our spring sale starts today. Reply STOP to opt out.');
  const [tags, setTags] = useState((campaign?.audience.tags ?? []).join(', '));
  const [segmentId, setSegmentId] = useState(campaign?.audience.segmentId ?? '');
  const [sample, setSample] = useState(body);
  const editable = !campaign || campaign.status === 'draft';
  const customers = useQuery({ queryKey: ['customers', 'list', { limit: 1, sms: true }], queryFn: () => unwrap(api.GET('/api/customers', { params: { query: { limit: 1, smsOptIn: 'true' } } })) });
  const first = customers.data?.data[0];
  // Counted on the message as a customer receives it (Liquid rendered), since names change the length.
  useEffect(() => {
    let live = true;
    const t = setTimeout(async () => {
      const { renderTextPreview } = await import('../campaigns/preview');
      const who = first ?? { email: null, firstName: 'Ada', lastName: 'Lovelace', phone: null, tags: [], attributes: {} };
      try {
        const out = await renderTextPreview(body, { email: who.email, firstName: who.firstName, lastName: who.lastName, phone: who.phone, tags: who.tags, attributes: who.attributes }, name);
        if (live) setSample(out);
      } catch {
        if (live) setSample(body);
      }
    }, 150);
    return () => {
      live = false;
      clearTimeout(t);
    };
  }, [body, name, first]);
  const count = countSegments(sample);
  const save = useMutation({
    mutationFn: () => {
      const payload = { name: name.trim(), body, audience: { tags: tags.split(',').map((t) => t.trim()).filter(Boolean), ...(segmentId && { segmentId }) } };
      return campaign
        ? unwrap(api.PATCH('/api/sms/campaigns/{id}', { params: { path: { id: campaign.id } }, body: payload }))
        : unwrap(api.POST('/api/sms/campaigns', { body: payload }));
    },
    onSuccess: async (c) => {
      qc.setQueryData(['sms-campaigns', c.id], c);
      await qc.invalidateQueries({ queryKey: ['sms-campaigns'] });
      if (!campaign) await navigate(`/sms/${c.id}`, { replace: true });
    },
  });
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [confirmSend, setConfirmSend] = useState(false);
  const send = useMutation({
    mutationFn: () => unwrap(api.POST('/api/sms-campaigns/{id}/send', { params: { path: { id: campaign!.id } } })),
    onSuccess: async () => {
      setConfirmSend(false);
      await qc.invalidateQueries({ queryKey: ['sms-campaigns'] });
      await navigate(`/sms/${campaign!.id}/results`);
    },
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/sms/campaigns/{id}', { params: { path: { id: campaign!.id } } })),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['sms-campaigns'] });
      await navigate('/sms');
    },
  });
  return (
    <>
      <PageHeader title={campaign ? campaign.name : 'New SMS campaign'} back={back}>
        {campaign && <StatusBadge status={campaign.status} />}
        {campaign && editable && <Button variant="ghost" onClick={() => setConfirmDelete(true)}>Delete</Button>}
        {campaign && editable && <Button onClick={() => setConfirmSend(true)}>Send now</Button>}
        {campaign && !editable && <Link className="btn btn-secondary" to={`/sms/${campaign.id}/results`}>Results</Link>}
      </PageHeader>
      {campaign && !editable && (
        <section className="kpis" aria-label="Delivery">
          {(['recipients', 'sent', 'delivered', 'failed', 'optedOut'] as const).map((k) => (
            <div className="kpi card" key={k}>
              <div className="kpi-label">{k === 'optedOut' ? 'Opted out' : k[0].toUpperCase() + k.slice(1)}</div>
              <div className="kpi-value">{campaign.stats[k].toLocaleString()}</div>
            </div>
          ))}
        </section>
      )}
      <div className="editor">
        <form className="card stack" aria-label="SMS campaign" onSubmit={(e) => { e.preventDefault(); save.mutate(); }}>
          <fieldset disabled={!editable} className="stack plain">
            <Field label="Campaign name">{(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />}</Field>
            <Field label="Audience tags" hint={<>Comma-separated. SMS-opted-in customers with a valid number and any of these tags; empty: all of them. <AudienceCount channel="sms" tags={tags} segmentId={segmentId} /></>}>
              {(p) => <input {...p} value={tags} onChange={(e) => setTags(e.target.value)} />}
            </Field>
            <SegmentSelect value={segmentId} onChange={setSegmentId} />
            <Field label="Message" hint={<>Liquid, as in email: <code>{'{{ customer.firstName }}'}</code>.</>}>
              {(p) => <textarea {...p} rows={6} value={body} onChange={(e) => setBody(e.target.value)} maxLength={1600} />}
            </Field>
          </fieldset>
          <ErrorMessage error={save.error} title="Not saved" />
          {editable && <div className="row"><Button type="submit" busy={save.isPending}>{campaign ? 'Save changes' : 'Create draft'}</Button>{save.isSuccess && <span className="muted" role="status">Saved.</span>}</div>}
        </form>
        <section className="card stack" aria-labelledby="sms-count-h">
          <h2 id="sms-count-h">Length</h2>
          <div className="kpis kpis-inline" aria-live="polite">
            <div><span className="kpi-value">{count.segments}</span> {count.segments === 1 ? 'segment' : 'segments'}</div>
            <div><span className="kpi-value">{count.encoding}</span></div>
            <div><span className="kpi-value">{count.characters}</span> characters</div>
          </div>
          <p className="muted">{count.remaining} left before {count.segments === 0 ? 'the first' : 'another'} segment. Each segment is billed as one message.</p>
          {count.nonGsm.length > 0 && (
            <p className="alert alert-info">
              {count.nonGsm.map((ch) => <code key={ch}>{ch}</code>)} {count.nonGsm.length === 1 ? 'is' : 'are'} outside the GSM alphabet, so the message is sent as UCS-2: 70 characters per segment instead of 160.
            </p>
          )}
          <h3>{first ? `As ${[first.firstName, first.lastName].filter(Boolean).join(' ') || first.phone} receives it` : 'As a sample customer receives it'}</h3>
          <p className="sms-bubble">{sample}</p>
        </section>
      </div>
      <ConfirmDialog
        open={confirmSend}
        title="Send this SMS campaign now?"
        confirmLabel="Send now"
        tone="primary"
        onConfirm={() => send.mutate()}
        onCancel={() => { setConfirmSend(false); send.reset(); }}
        busy={send.isPending}
        error={send.error}
      >
        <p>“{campaign?.name}” goes to the SMS-opted-in customers of its audience, {count.segments} {count.segments === 1 ? 'segment' : 'segments'} each. Save your changes first: the saved message is sent.</p>
      </ConfirmDialog>
      <ConfirmDialog open={confirmDelete} title="Delete this SMS campaign?" confirmLabel="Delete" onConfirm={() => remove.mutate()} onCancel={() => setConfirmDelete(false)} busy={remove.isPending} error={remove.error}>
        <p>“{campaign?.name}” is removed. It was never sent.</p>
      </ConfirmDialog>
    </>
  );
}
