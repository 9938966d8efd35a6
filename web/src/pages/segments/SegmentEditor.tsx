import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, unwrap } from '../../api/client';
import { Button, ConfirmDialog, ErrorMessage, Field, formatNumber, Loading, PageHeader, QueryState } from '../../components/ui';

/** One row of the builder: a flat list of conditions joined by "all" or "any" (the API also nests groups). */
type Row =
  | { type: 'event'; event: string; op: 'atLeast' | 'none'; count: number; withinDays: number }
  | { type: 'tag'; op: 'has' | 'notHas'; tag: string }
  | { type: 'attribute'; key: string; op: 'eq' | 'neq'; value: string }
  | { type: 'consent'; channel: 'email' | 'sms'; optedIn: boolean }
  | { type: 'field'; field: 'email' | 'phone' | 'firstName' | 'lastName' | 'externalId'; op: 'contains' | 'eq'; value: string };
type Tree = { type: 'and' | 'or'; conditions: Row[] };

const blank: Record<Row['type'], Row> = {
  event: { type: 'event', event: '', op: 'atLeast', count: 1, withinDays: 30 },
  tag: { type: 'tag', op: 'has', tag: '' },
  attribute: { type: 'attribute', key: '', op: 'eq', value: '' },
  consent: { type: 'consent', channel: 'email', optedIn: true },
  field: { type: 'field', field: 'email', op: 'contains', value: '' },
};
const complete = (r: Row) => (r.type === 'event' ? r.event.trim() !== '' : r.type === 'tag' ? r.tag.trim() !== '' : r.type === 'attribute' ? /^[A-Za-z0-9_$-]{1,64}$/.test(r.key) : true);
/** A saved condition the builder can show: one flat group of its row types; anything else is kept as it is. */
const asTree = (c: unknown): Tree | null => {
  const t = c as Tree;
  if (t && (t.type === 'and' || t.type === 'or') && Array.isArray(t.conditions) && t.conditions.every((r) => r && r.type in blank)) return t;
  if (c && typeof c === 'object' && (c as Row).type in blank) return { type: 'and', conditions: [c as Row] };
  return null;
};

export default function SegmentEditor() {
  const { id } = useParams();
  const saved = useQuery({ queryKey: ['segments', 'one', id], queryFn: () => unwrap(api.GET('/api/segments/{id}', { params: { path: { id: id! } } })), enabled: Boolean(id) });
  const back = <Link className="back" to="/segments">← Segments</Link>;
  if (id && !saved.data) {
    return (
      <>
        <PageHeader title="Segment" back={back} />
        <QueryState query={saved} what="segment" />
      </>
    );
  }
  return <Builder key={id ?? 'new'} id={id} initialName={saved.data?.name ?? ''} initial={asTree(saved.data?.condition) ?? { type: 'and', conditions: [blank.event] }} back={back} />;
}

function Builder({ id, initialName, initial, back }: { id?: string; initialName: string; initial: Tree; back: React.ReactNode }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const [name, setName] = useState(initialName);
  const [tree, setTree] = useState<Tree>(initial);
  const [confirming, setConfirming] = useState(false);
  // The live count follows the builder, half a second after the last change.
  const [debounced, setDebounced] = useState(tree);
  useEffect(() => {
    const t = setTimeout(() => setDebounced(tree), 500);
    return () => clearTimeout(t);
  }, [tree]);
  const ready = debounced.conditions.length > 0 && debounced.conditions.every(complete);
  const preview = useQuery({
    queryKey: ['segment-preview', debounced],
    queryFn: () => unwrap(api.POST('/api/segments/preview', { body: { condition: debounced } })),
    enabled: ready,
  });
  const save = useMutation({
    mutationFn: () => (id ? unwrap(api.PUT('/api/segments/{id}', { params: { path: { id } }, body: { name, condition: tree } })) : unwrap(api.POST('/api/segments', { body: { name, condition: tree } }))),
    onSuccess: async (s) => {
      await qc.invalidateQueries({ queryKey: ['segments'] });
      if (!id) await navigate(`/segments/${s.id}`, { replace: true });
    },
  });
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/segments/{id}', { params: { path: { id: id! } } })),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['segments'] });
      await navigate('/segments');
    },
  });
  const setRow = (i: number, r: Row) => setTree({ ...tree, conditions: tree.conditions.map((x, k) => (k === i ? r : x)) });
  return (
    <>
      <PageHeader title={id ? initialName || 'Segment' : 'New segment'} back={back}>
        {id && <Button variant="danger" onClick={() => setConfirming(true)}>Delete</Button>}
      </PageHeader>
      <form
        className="card"
        aria-label="Segment"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate();
        }}
      >
        <Field label="Name">{(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />}</Field>
        <Field label="Customers matching">
          {(p) => (
            <select {...p} value={tree.type} onChange={(e) => setTree({ ...tree, type: e.target.value === 'or' ? 'or' : 'and' })}>
              <option value="and">all of these conditions</option>
              <option value="or">any of these conditions</option>
            </select>
          )}
        </Field>
        <ol className="segment-rows">
          {tree.conditions.map((r, i) => (
            <li key={i} className="row end">
              <ConditionRow row={r} n={i + 1} onChange={(x) => setRow(i, x)} />
              <Button type="button" variant="ghost" aria-label={`Remove condition ${i + 1}`} onClick={() => setTree({ ...tree, conditions: tree.conditions.filter((_, k) => k !== i) })} disabled={tree.conditions.length === 1}>Remove</Button>
            </li>
          ))}
        </ol>
        <p className="row">
          <Button type="button" variant="secondary" onClick={() => setTree({ ...tree, conditions: [...tree.conditions, blank.event] })} disabled={tree.conditions.length >= 20}>Add condition</Button>
          <Button type="submit" busy={save.isPending} disabled={!name.trim() || !tree.conditions.every(complete)}>{id ? 'Save changes' : 'Save segment'}</Button>
        </p>
        <ErrorMessage error={save.error} />
        {save.isSuccess && id && <p role="status">Saved.</p>}
      </form>
      <section className="card" aria-label="Matching customers" aria-live="polite">
        <h2>Matching customers</h2>
        {!ready && <p className="muted">Complete the conditions to see how many customers match.</p>}
        {ready && preview.isPending && <Loading label="Counting…" />}
        <ErrorMessage error={preview.error} />
        {ready && preview.data && (
          <>
            <p className="stat"><strong>{formatNumber(preview.data.count)}</strong> {preview.data.count === 1 ? 'customer' : 'customers'}</p>
            <ul>
              {preview.data.sample.map((c) => (
                <li key={c.id}><Link to={`/customers/${c.id}`}>{[c.firstName, c.lastName].filter(Boolean).join(' ') || c.email || c.phone || c.id.slice(0, 8)}</Link></li>
              ))}
            </ul>
          </>
        )}
      </section>
      <ConfirmDialog open={confirming} title="Delete this segment?" confirmLabel="Delete segment" onConfirm={() => remove.mutate()} onCancel={() => setConfirming(false)} busy={remove.isPending} error={remove.error}>
        <p>The saved conditions go; customers and events stay.</p>
      </ConfirmDialog>
    </>
  );
}

function ConditionRow({ row, n, onChange }: { row: Row; n: number; onChange: (r: Row) => void }) {
  const label = (what: string) => `Condition ${n}: ${what}`;
  return (
    <>
      <div className="field">
        <label htmlFor={`c${n}-type`}>{`Condition ${n}`}</label>
        <select id={`c${n}-type`} value={row.type} onChange={(e) => onChange(blank[e.target.value as Row['type']])}>
          <option value="event">Event</option><option value="tag">Tag</option><option value="attribute">Attribute</option><option value="consent">Consent</option><option value="field">Field</option>
        </select>
      </div>
      {row.type === 'event' && (
        <>
          <Small label={label('did')}>{(p) => <select {...p} value={row.op} onChange={(e) => onChange({ ...row, op: e.target.value === 'none' ? 'none' : 'atLeast' })}><option value="atLeast">did at least</option><option value="none">has not done</option></select>}</Small>
          {row.op === 'atLeast' && <Small label={label('times')}>{(p) => <input {...p} type="number" min={1} max={1000000} value={row.count} onChange={(e) => onChange({ ...row, count: Math.max(1, Number(e.target.value) || 1) })} />}</Small>}
          {row.op === 'atLeast' && <span className="muted" aria-hidden="true">times</span>}
          <Small label={label('event name')} grow>{(p) => <input {...p} value={row.event} placeholder="Order Completed" onChange={(e) => onChange({ ...row, event: e.target.value })} />}</Small>
          <span className="muted" aria-hidden="true">in the last</span>
          <Small label={label('in the last days')}>{(p) => <input {...p} type="number" min={1} max={3650} value={row.withinDays} onChange={(e) => onChange({ ...row, withinDays: Math.min(3650, Math.max(1, Number(e.target.value) || 1)) })} />}</Small>
          <span className="muted" aria-hidden="true">days</span>
        </>
      )}
      {row.type === 'tag' && (
        <>
          <Small label={label('tag test')}>{(p) => <select {...p} value={row.op} onChange={(e) => onChange({ ...row, op: e.target.value === 'notHas' ? 'notHas' : 'has' })}><option value="has">has tag</option><option value="notHas">does not have tag</option></select>}</Small>
          <Small label={label('tag')} grow>{(p) => <input {...p} value={row.tag} maxLength={64} onChange={(e) => onChange({ ...row, tag: e.target.value })} />}</Small>
        </>
      )}
      {row.type === 'attribute' && (
        <>
          <Small label={label('attribute')} grow>{(p) => <input {...p} value={row.key} maxLength={64} placeholder="plan" onChange={(e) => onChange({ ...row, key: e.target.value })} />}</Small>
          <Small label={label('attribute test')}>{(p) => <select {...p} value={row.op} onChange={(e) => onChange({ ...row, op: e.target.value === 'neq' ? 'neq' : 'eq' })}><option value="eq">is</option><option value="neq">is not</option></select>}</Small>
          <Small label={label('value')} grow>{(p) => <input {...p} value={row.value} maxLength={200} onChange={(e) => onChange({ ...row, value: e.target.value })} />}</Small>
        </>
      )}
      {row.type === 'consent' && (
        <>
          <Small label={label('channel')}>{(p) => <select {...p} value={row.channel} onChange={(e) => onChange({ ...row, channel: e.target.value === 'sms' ? 'sms' : 'email' })}><option value="email">Email</option><option value="sms">SMS</option></select>}</Small>
          <Small label={label('consent')}>{(p) => <select {...p} value={String(row.optedIn)} onChange={(e) => onChange({ ...row, optedIn: e.target.value === 'true' })}><option value="true">opted in</option><option value="false">not opted in</option></select>}</Small>
        </>
      )}
      {row.type === 'field' && (
        <>
          <Small label={label('field')}>{(p) => <select {...p} value={row.field} onChange={(e) => onChange({ ...row, field: e.target.value as typeof row.field })}><option value="email">Email</option><option value="phone">Phone</option><option value="firstName">First name</option><option value="lastName">Last name</option><option value="externalId">External id</option></select>}</Small>
          <Small label={label('field test')}>{(p) => <select {...p} value={row.op} onChange={(e) => onChange({ ...row, op: e.target.value === 'eq' ? 'eq' : 'contains' })}><option value="contains">contains</option><option value="eq">is</option></select>}</Small>
          <Small label={label('text')} grow>{(p) => <input {...p} value={row.value} maxLength={254} onChange={(e) => onChange({ ...row, value: e.target.value })} />}</Small>
        </>
      )}
    </>
  );
}

/** A field whose label is for screen readers only (the row reads as a sentence). */
function Small({ label, grow, children }: { label: string; grow?: boolean; children: (p: { id: string; 'aria-label': string }) => React.ReactNode }) {
  const id = label.replace(/\W+/g, '-').toLowerCase();
  return <div className={grow ? 'field grow' : 'field'}>{children({ id, 'aria-label': label })}</div>;
}
