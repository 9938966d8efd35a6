import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, unwrap } from '../api/client';
import { Field } from './ui';

/** Comma-separated tags as the API takes them: trimmed, without empties or repeats, sorted. */
export const tagList = (tags: string) => [...new Set(tags.split(',').map((t) => t.trim()).filter(Boolean))].sort();

/** The optional segment of a campaign's audience: a select of the organization's saved segments. */
export function SegmentSelect({ value, onChange }: { value: string; onChange: (segmentId: string) => void }) {
  const segments = useQuery({ queryKey: ['segments', 'list', { limit: 200 }], queryFn: () => unwrap(api.GET('/api/segments', { params: { query: { limit: 200 } } })) });
  const hint = segments.error ? (
    <span className="error-text">Segments could not be loaded: {segments.error.message}</span>
  ) : (
    'Only customers in this saved segment (and with the tags above, if any). Its members are fixed when the send starts.'
  );
  return (
    <Field label="Audience segment" hint={hint}>
      {(p) => (
        <select {...p} value={value} onChange={(e) => onChange(e.target.value)} disabled={segments.isLoading}>
          <option value="">{segments.isLoading ? 'Loading segments…' : 'No segment (everyone with the tags)'}</option>
          {/* A saved segment that is no longer listed (deleted) still shows, so the choice is visible. */}
          {value && segments.data && !segments.data.data.some((s) => s.id === value) && <option value={value}>Deleted segment</option>}
          {segments.data?.data.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}

/** The live recipient count: whom a send would reach now (the server applies the send's own condition). */
export function AudienceCount({ channel, tags, segmentId }: { channel: 'email' | 'sms'; tags: string; segmentId: string }) {
  const [settled, setSettled] = useState(tags);
  useEffect(() => {
    const t = setTimeout(() => setSettled(tags), 300);
    return () => clearTimeout(t);
  }, [tags]);
  const body = { tags: tagList(settled), ...(segmentId && { segmentId }) };
  const count = useQuery({
    queryKey: ['audience-count', channel, body],
    queryFn: () => unwrap(channel === 'email' ? api.POST('/api/email/audience/count', { body }) : api.POST('/api/sms/audience/count', { body })),
    placeholderData: keepPreviousData,
  });
  if (count.error) return <span className="error-text">Recipients could not be counted: {count.error.message}</span>;
  if (!count.data) return null;
  const n = count.data.recipients;
  return <strong className="audience-count" aria-live="polite">{n.toLocaleString()} {n === 1 ? 'recipient' : 'recipients'} now.</strong>;
}
