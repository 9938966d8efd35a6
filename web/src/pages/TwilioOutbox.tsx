import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState } from 'react';
import { Link } from 'react-router';
import { api, unwrap } from '../api/client';
import { OutboxList } from '../components/OutboxList';
import { Empty, ErrorMessage, formatDate, Loading, PageHeader, SubNav } from '../components/ui';
import { OUTBOX_TABS } from '../lib/tabs';

/**
 * The Twilio development outbox: without a connected Twilio account, the SMS and calls the platform
 * would have placed are recorded here (body, or the TwiML a call would have run). Shown as text only.
 */
export default function TwilioOutbox() {
  const [cursor, setCursor] = useState<string | undefined>();
  const [selected, setSelected] = useState<string | null>(null);
  const list = useQuery({
    queryKey: ['twilio-outbox', cursor],
    queryFn: () => unwrap(api.GET('/api/twilio/outbox', { params: { query: { limit: 50, cursor } } })),
    placeholderData: keepPreviousData,
    refetchInterval: 5000,
  });
  const current = list.data?.data.find((m) => m.id === selected) ?? list.data?.data[0] ?? null;
  return (
    <>
      <PageHeader title="Outbox" />
      <SubNav label="Outbox" links={OUTBOX_TABS} />
      <p className="muted">Without a <Link to="/settings/twilio">Twilio account</Link> connected, SMS and calls land here instead of being sent.</p>
      <ErrorMessage error={list.error} />
      {list.isPending && <Loading />}
      {list.data && list.data.data.length === 0 && (
        <div className="card"><Empty title="No SMS or calls yet"><p>Send an SMS campaign or place a call and it shows up here.</p></Empty></div>
      )}
      {list.data && list.data.data.length > 0 && (
        <div className="outbox">
          <OutboxList
            label="Messages and calls"
            items={list.data.data}
            current={current?.id ?? null}
            onSelect={setSelected}
            title={(m) => `${m.kind === 'sms' ? 'SMS' : 'Call'} to ${m.to}`}
            meta={(m) => `${m.kind === 'sms' ? (m.body ?? '').slice(0, 60) : `from ${m.from}`} · ${formatDate(m.createdAt)}`}
            cursor={cursor}
            nextCursor={list.data.nextCursor}
            onCursor={setCursor}
          />
          {current && (
            <section className="card outbox-message stack" aria-label={current.kind === 'sms' ? 'Message' : 'Call'}>
              <dl className="props mail-headers">
                <dt>Kind</dt><dd>{current.kind === 'sms' ? 'SMS' : 'Voice call'}</dd>
                <dt>From</dt><dd className="mono">{current.from}</dd>
                <dt>To</dt><dd className="mono">{current.to}</dd>
                <dt>Date</dt><dd>{formatDate(current.createdAt)}</dd>
                <dt>SID</dt><dd className="mono small">{current.sid}</dd>
                {current.statusCallback && <><dt>Status callback</dt><dd className="small break">{current.statusCallback}</dd></>}
                {current.url && <><dt>Call URL</dt><dd className="small break">{current.url}</dd></>}
              </dl>
              {current.body !== null && <div className="sms-bubble">{current.body}</div>}
              {current.twiml && (
                <>
                  <h2>TwiML the call runs</h2>
                  <pre className="mail-text">{current.twiml}</pre>
                </>
              )}
            </section>
          )}
        </div>
      )}
    </>
  );
}
