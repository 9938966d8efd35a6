import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useMemo, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, detailsByPath, unwrap } from '../../api/client';
import { Button, ConfirmDialog, ErrorMessage, Field, formatDate, isAdmin, Loading, PageHeader, QueryState, StatusBadge } from '../../components/ui';
import { useMembers } from '../../lib/members';
import { useSession } from '../../lib/session';
import { clean, defaultNode, graphOrder, KINDS, kindLabel, NEW_FLOW, NODE_ID, problemsByNode, withoutNode, type FlowDefinition, type FlowNode, type NodeKind } from './flow';

// The graph library is loaded only when a flow is open.
const FlowGraph = lazy(() => import('../../components/FlowGraph'));

type Flow = Awaited<ReturnType<typeof load>>;
const load = (id: string) => unwrap(api.GET('/api/ivr/flows/{id}', { params: { path: { id } } }));

export default function IvrEditor() {
  const { id } = useParams();
  const flow = useQuery({ queryKey: ['ivr-flows', id], queryFn: () => load(id!), enabled: Boolean(id) });
  const back = <Link className="back" to="/ivr">← IVR flows</Link>;
  if (!id) return <Editor key="new" back={back} />;
  if (!flow.data) {
    return (
      <>
        <PageHeader title="IVR flow" back={back} />
        <QueryState query={flow} what="IVR flow" />
      </>
    );
  }
  return <Editor key={flow.data.id} flow={flow.data} back={back} />;
}

function Editor({ flow, back }: { flow?: Flow; back: React.ReactNode }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const admin = isAdmin(useSession().data?.role);
  const [name, setName] = useState(flow?.name ?? 'Main line');
  const [active, setActive] = useState(flow?.active ?? true);
  const [def, setDef] = useState<FlowDefinition>(() => (flow ? (flow.definition as unknown as FlowDefinition) : NEW_FLOW));
  const [selected, setSelected] = useState<string | null>(null);
  const [dirty, setDirty] = useState(false);
  const change = (next: FlowDefinition) => {
    setDef(next);
    setDirty(true);
  };
  const save = useMutation({
    mutationFn: () => {
      const body = { name: name.trim(), active, definition: clean(def) as unknown as Record<string, never> };
      return flow
        ? unwrap(api.PATCH('/api/ivr/flows/{id}', { params: { path: { id: flow.id } }, body: body as never }))
        : unwrap(api.POST('/api/ivr/flows', { body: body as never }));
    },
    onSuccess: async (f) => {
      setDirty(false);
      qc.setQueryData(['ivr-flows', f.id], f);
      await qc.invalidateQueries({ queryKey: ['ivr-flows'] });
      if (!flow) await navigate(`/ivr/${f.id}`, { replace: true });
    },
  });
  const [confirmDelete, setConfirmDelete] = useState(false);
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/ivr/flows/{id}', { params: { path: { id: flow!.id } } })),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['ivr-flows'] });
      await navigate('/ivr');
    },
  });
  const details = useMemo(() => detailsByPath(save.error), [save.error]);
  const problems = useMemo(() => problemsByNode(details), [details]);
  const problemNodes = useMemo(() => new Set(Object.keys(problems).filter(Boolean)), [problems]);
  const ids = useMemo(() => graphOrder(def), [def]);
  const select = (nodeId: string) => {
    setSelected(nodeId);
    document.getElementById(`node-${nodeId}`)?.scrollIntoView({ behavior: 'smooth', block: 'center' });
    (document.getElementById(`node-${nodeId}`)?.querySelector('input, textarea, select') as HTMLElement | null)?.focus({ preventScroll: true });
  };
  const [newId, setNewId] = useState('');
  const [newKind, setNewKind] = useState<NodeKind>('say');
  const newIdError = newId && !NODE_ID.test(newId) ? 'Letters, digits, "-" or "_" (up to 64)' : def.nodes[newId] ? 'A node with this id exists' : undefined;

  return (
    <>
      <PageHeader title={flow ? flow.name : 'New IVR flow'} back={back}>
        {flow && <StatusBadge status={flow.active ? 'active' : 'inactive'} />}
        {flow && <span className="muted small">Version {flow.version}</span>}
        {flow && admin && <Button variant="ghost" onClick={() => setConfirmDelete(true)}>Delete</Button>}
        {admin && <Button onClick={() => save.mutate()} busy={save.isPending} disabled={flow && !dirty}>{flow ? 'Save as new version' : 'Create flow'}</Button>}
      </PageHeader>
      {flow && flow.phoneNumbers.length > 0 && <p className="muted">Answers calls to {flow.phoneNumbers.map((n) => n.number).join(', ')}. Calls in progress keep the version they started on.</p>}
      {flow && flow.phoneNumbers.length === 0 && <p className="muted">No number is bound to this flow yet: choose it for a number on the <Link to="/numbers">Phone numbers</Link> page.</p>}
      {!admin && <p className="alert alert-info">Only owners and admins can change IVR flows.</p>}
      {save.error ? (
        <div className="alert alert-error" role="alert">
          <strong>{save.error.message}</strong>
          {Object.keys(problems).length > 0 && (
            <ul>
              {Object.entries(problems).map(([node, list]) =>
                list.map((p) => (
                  <li key={`${node}-${p.field}-${p.message}`}>
                    {node ? <button type="button" className="link-button" onClick={() => select(node)}>Node “{node}”</button> : p.field}
                    {node && p.field ? ` (${p.field})` : ''}: {p.message}
                  </li>
                )),
              )}
            </ul>
          )}
        </div>
      ) : null}
      {save.isSuccess && !dirty && <p className="success" role="status">Saved as version {save.data.version}.</p>}
      <div className="flow-editor">
        <fieldset className="plain stack" disabled={!admin}>
          <legend className="sr-only">Flow</legend>
          <section className="card stack" aria-label="Flow settings">
            <div className="form-grid">
              <Field label="Name" error={details.name}>{(p) => <input {...p} value={name} onChange={(e) => { setName(e.target.value); setDirty(true); }} required maxLength={200} />}</Field>
              <Field label="Start node" error={details['definition.start']}>
                {(p) => (
                  <select {...p} value={def.start} onChange={(e) => change({ ...def, start: e.target.value })}>
                    {ids.map((i) => <option key={i} value={i}>{i}</option>)}
                  </select>
                )}
              </Field>
            </div>
            <label className="row"><input type="checkbox" checked={active} onChange={(e) => { setActive(e.target.checked); setDirty(true); }} /> Active: answers calls to its numbers</label>
          </section>
          {ids.map((nodeId) => (
            <NodeCard
              key={nodeId}
              id={nodeId}
              node={def.nodes[nodeId]}
              ids={ids}
              start={nodeId === def.start}
              selected={nodeId === selected}
              problems={problems[nodeId] ?? []}
              onChange={(n) => change({ ...def, nodes: { ...def.nodes, [nodeId]: n } })}
              onRemove={() => change(withoutNode(def, nodeId))}
              onFocus={() => setSelected(nodeId)}
            />
          ))}
          <form
            className="card stack-sm"
            aria-labelledby="add-node-h"
            onSubmit={(e) => {
              e.preventDefault();
              if (!newId || newIdError) return;
              change({ ...def, nodes: { ...def.nodes, [newId]: defaultNode(newKind) } });
              setSelected(newId);
              setNewId('');
            }}
          >
            <h2 id="add-node-h">Add a node</h2>
            <div className="row end">
              <div className="grow"><Field label="Node id" hint="Letters, digits, - and _; other nodes name it." error={newIdError}>{(p) => <input {...p} value={newId} onChange={(e) => setNewId(e.target.value.trim())} placeholder="sales" />}</Field></div>
              <div className="grow">
                <Field label="Kind">
                  {(p) => (
                    <select {...p} value={newKind} onChange={(e) => setNewKind(e.target.value as NodeKind)}>
                      {KINDS.map((k) => <option key={k.kind} value={k.kind}>{k.label} — {k.help}</option>)}
                    </select>
                  )}
                </Field>
              </div>
              <Button type="submit" variant="secondary" disabled={!newId || Boolean(newIdError)}>Add node</Button>
            </div>
          </form>
        </fieldset>
        <div className="stack">
          <Suspense fallback={<div className="flow-graph"><Loading label="Drawing the flow…" /></div>}>
            <FlowGraph definition={def} problems={problemNodes} selected={selected} onSelect={select} />
          </Suspense>
          <p className="muted small">Solid lines follow the caller's keys; dashed lines are taken on their own. Click a node to edit it.</p>
          {flow && <Versions flow={flow} onOpen={(d) => change(d)} />}
        </div>
      </div>
      <ConfirmDialog open={confirmDelete} title={`Delete ${flow?.name}?`} confirmLabel="Delete flow" onConfirm={() => remove.mutate()} onCancel={() => { setConfirmDelete(false); remove.reset(); }} busy={remove.isPending} error={remove.error}>
        <p>The flow and its versions are deleted. A flow still bound to a number cannot be deleted: unbind it first.</p>
      </ConfirmDialog>
    </>
  );
}

function NodeCard({ id, node, ids, start, selected, problems, onChange, onRemove, onFocus }: {
  id: string; node: FlowNode; ids: string[]; start: boolean; selected: boolean; problems: { field: string; message: string }[];
  onChange: (n: FlowNode) => void; onRemove: () => void; onFocus: () => void;
}) {
  const err = (field: string) => problems.filter((p) => p.field === field || p.field.startsWith(`${field}.`)).map((p) => p.message).join('; ') || undefined;
  const general = problems.filter((p) => !p.field).map((p) => p.message);
  const set = (patch: Partial<FlowNode>) => onChange({ ...node, ...patch });
  const text = (label: string, field: keyof FlowNode, opts: { hint?: string; area?: boolean; placeholder?: string } = {}) => (
    <Field label={label} hint={opts.hint} error={err(field)}>
      {(p) => opts.area
        ? <textarea {...p} rows={2} value={(node[field] as string | undefined) ?? ''} onChange={(e) => set({ [field]: e.target.value })} />
        : <input {...p} value={(node[field] as string | undefined) ?? ''} placeholder={opts.placeholder} onChange={(e) => set({ [field]: e.target.value })} />}
    </Field>
  );
  const num = (label: string, field: keyof FlowNode, min: number, max: number) => (
    <Field label={label} error={err(field)}>
      {(p) => <input {...p} type="number" min={min} max={max} value={(node[field] as number | undefined) ?? ''} onChange={(e) => set({ [field]: e.target.value === '' ? undefined : Number(e.target.value) })} />}
    </Field>
  );
  const target = (label: string, field: 'next' | 'timeout', none: string) => (
    <Field label={label} error={err(field)}>
      {(p) => (
        <select {...p} value={node[field] ?? ''} onChange={(e) => set({ [field]: e.target.value || undefined })}>
          <option value="">{none}</option>
          {ids.map((i) => <option key={i} value={i}>{i}</option>)}
        </select>
      )}
    </Field>
  );
  return (
    <section id={`node-${id}`} className={`card node-card${problems.length ? ' has-error' : ''}${selected ? ' is-selected' : ''}`} aria-labelledby={`node-${id}-h`} onFocus={onFocus}>
      <div className="node-card-head">
        <h3 id={`node-${id}-h`}>{id}{start && <span className="badge badge-active">start</span>}</h3>
        <div className="row">
          <label className="sr-only" htmlFor={`node-${id}-kind`}>Kind of node {id}</label>
          <select id={`node-${id}-kind`} value={node.kind} onChange={(e) => onChange(defaultNode(e.target.value as NodeKind, node.next))} className="auto-width">
            {KINDS.map((k) => <option key={k.kind} value={k.kind}>{k.label}</option>)}
          </select>
          {!start && <Button variant="ghost" onClick={onRemove} aria-label={`Remove node ${id}`}>Remove</Button>}
        </div>
      </div>
      {general.length > 0 && <p className="field-error" role="alert">{general.join(' ')}</p>}
      {node.kind === 'say' && (
        <>
          {text('Text to say', 'text', { area: true })}
          <div className="form-grid">
            {text('Voice', 'voice', { placeholder: 'Polly.Joanna' })}
            {text('Language', 'language', { placeholder: 'en-US' })}
            {target('Then', 'next', 'End the call')}
          </div>
        </>
      )}
      {node.kind === 'play' && (
        <>
          {text('Audio URL', 'url', { hint: 'An https link to an MP3 or WAV file.' })}
          {target('Then', 'next', 'End the call')}
        </>
      )}
      {node.kind === 'menu' && <MenuFields id={id} node={node} ids={ids} err={err} set={set} num={num} target={target} />}
      {node.kind === 'dial' && <DialFields node={node} err={err} set={set} num={num} target={target} />}
      {node.kind === 'voicemail' && (
        <>
          <Field label="Prompt" error={err('prompt')}>{(p) => <textarea {...p} rows={2} value={typeof node.prompt === 'string' ? node.prompt : ''} onChange={(e) => set({ prompt: e.target.value })} />}</Field>
          <div className="form-grid">
            {num('Longest message (seconds)', 'maxLengthSeconds', 1, 600)}
            {target('Then', 'next', 'End the call')}
          </div>
          <label className="row"><input type="checkbox" checked={Boolean(node.transcribe)} onChange={(e) => set({ transcribe: e.target.checked })} /> Transcribe the message</label>
        </>
      )}
      {node.kind === 'hangup' && text('Goodbye text (optional)', 'text')}
    </section>
  );
}

type Helpers = {
  err: (f: string) => string | undefined;
  set: (p: Partial<FlowNode>) => void;
  num: (label: string, field: keyof FlowNode, min: number, max: number) => React.ReactNode;
  target: (label: string, field: 'next' | 'timeout', none: string) => React.ReactNode;
};

function MenuFields({ id, node, ids, err, set, num, target }: Helpers & { id: string; node: FlowNode; ids: string[] }) {
  const prompt = typeof node.prompt === 'object' ? node.prompt : { say: '' };
  const isPlay = 'play' in prompt;
  const options = Object.entries(node.options ?? {});
  const free = ['1', '2', '3', '4', '5', '6', '7', '8', '9', '0', '*', '#'].filter((d) => !node.options?.[d]);
  return (
    <>
      <Field label={isPlay ? 'Prompt audio URL' : 'Prompt to say'} hint={<button type="button" className="link-button" onClick={() => set({ prompt: isPlay ? { say: '' } : { play: 'https://' } })}>{isPlay ? 'Say a text instead' : 'Play an audio file instead'}</button>} error={err('prompt')}>
        {(p) => isPlay
          ? <input {...p} value={(prompt as { play: string }).play} onChange={(e) => set({ prompt: { play: e.target.value } })} />
          : <textarea {...p} rows={2} value={(prompt as { say: string }).say} onChange={(e) => set({ prompt: { ...(prompt as { say: string }), say: e.target.value } })} />}
      </Field>
      <fieldset className="plain stack-sm">
        <legend>Keys</legend>
        {options.length === 0 && <p className="muted small">No key yet: a menu needs at least one.</p>}
        {options.map(([digit, to]) => (
          <div className="option-row" key={digit}>
            <span className="kbd-cell"><kbd>{digit}</kbd></span>
            <Field label={`Key ${digit} goes to`} error={err(`options.${digit}`)}>
              {(p) => (
                <select {...p} value={to} onChange={(e) => set({ options: { ...node.options, [digit]: e.target.value } })}>
                  {ids.map((i) => <option key={i} value={i}>{i}</option>)}
                </select>
              )}
            </Field>
            <Button variant="ghost" onClick={() => set({ options: Object.fromEntries(options.filter(([d]) => d !== digit)) })} aria-label={`Remove key ${digit} of ${id}`}>Remove</Button>
          </div>
        ))}
        {free.length > 0 && (
          <div>
            <Button variant="secondary" onClick={() => set({ options: { ...node.options, [free[0]]: ids.find((i) => i !== id) ?? id } })}>Add key {free[0]}</Button>
          </div>
        )}
        {err('options') && <p className="field-error">{err('options')}</p>}
      </fieldset>
      <div className="form-grid">
        {num('Wait for a key (seconds)', 'timeoutSeconds', 1, 60)}
        {num('Replays', 'retries', 0, 10)}
        {target('After the last replay', 'timeout', 'Say goodbye and hang up')}
      </div>
      <Field label="Said after a wrong key (optional)" error={err('invalidText')}>{(p) => <input {...p} value={node.invalidText ?? ''} onChange={(e) => set({ invalidText: e.target.value })} />}</Field>
    </>
  );
}

function DialFields({ node, err, set, num, target }: Helpers & { node: FlowNode }) {
  const members = useMembers();
  const toAgent = node.agentUserId !== undefined;
  return (
    <>
      <fieldset className="plain">
        <legend>Forward to</legend>
        <div className="checks-inline">
          <label><input type="radio" checked={!toAgent} onChange={() => set({ agentUserId: undefined, number: '' })} /> A number</label>
          <label><input type="radio" checked={toAgent} onChange={() => set({ number: undefined, agentUserId: members.list[0]?.userId ?? '' })} /> An agent</label>
        </div>
      </fieldset>
      <div className="form-grid">
        {toAgent ? (
          <Field label="Agent" hint="Rings the agent's phone (Call center → Agents)." error={err('agentUserId')}>
            {(p) => (
              <select {...p} value={node.agentUserId ?? ''} onChange={(e) => set({ agentUserId: e.target.value })}>
                {members.list.map((m) => <option key={m.userId} value={m.userId}>{m.name}</option>)}
              </select>
            )}
          </Field>
        ) : (
          <Field label="Number" hint="E.164, e.g. +14155550123" error={err('number')}>{(p) => <input {...p} inputMode="tel" value={node.number ?? ''} onChange={(e) => set({ number: e.target.value })} />}</Field>
        )}
        {num('Ring for (seconds)', 'timeoutSeconds', 5, 120)}
        {target('If nobody answers', 'next', 'Hang up')}
      </div>
    </>
  );
}

function Versions({ flow, onOpen }: { flow: Flow; onOpen: (d: FlowDefinition) => void }) {
  const versions = useQuery({
    queryKey: ['ivr-flows', flow.id, 'versions', flow.version],
    queryFn: () => unwrap(api.GET('/api/ivr/flows/{id}/versions', { params: { path: { id: flow.id }, query: { limit: 50 } } })),
  });
  return (
    <section className="card" aria-labelledby="versions-h">
      <h2 id="versions-h">Versions</h2>
      {versions.isPending && <Loading />}
      <ErrorMessage error={versions.error} />
      {versions.data && (
        <table className="table">
          <thead><tr><th scope="col">Version</th><th scope="col">Saved</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
          <tbody>
            {versions.data.data.map((v) => (
              <tr key={v.version}>
                <td>Version {v.version}{v.current && <span className="badge badge-active">current</span>}</td>
                <td className="nowrap">{formatDate(v.createdAt)}</td>
                <td className="num">{!v.current && <Button variant="ghost" onClick={() => onOpen(v.definition as unknown as FlowDefinition)} aria-label={`Open in editor: version ${v.version}`}>Open in editor</Button>}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <p className="muted small">Opening an older version loads it into the editor; saving it makes it the newest version.</p>
    </section>
  );
}
