import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';
import { EditableTable } from '../../components/EditableTable';
import { Button, ErrorMessage, Field, PageHeader, SubNav } from '../../components/ui';
import { useAgents, useTeams, type Agent } from '../../lib/chat';
import { INBOX_SETTINGS_TABS } from '../../lib/tabs';

const KEY = ['chat-teams'];

/** The members to pick from, as checkboxes. */
function MemberChecks({ agents, selected, legend }: { agents: Agent[]; selected: string[]; legend: string }) {
  return (
    <fieldset className="checks">
      <legend className="sr-only">{legend}</legend>
      {agents.map((a) => (
        <label key={a.id}>
          <input type="checkbox" name="memberIds" value={a.id} defaultChecked={selected.includes(a.id)} /> {a.name}
        </label>
      ))}
    </fieldset>
  );
}

/** Settings → Teams: groups of agents a conversation can be assigned to (round-robin within the team). */
export default function Teams() {
  const qc = useQueryClient();
  const teams = useTeams();
  const agents = useAgents();
  const all = agents.data?.data ?? [];
  const nameOf = (id: string) => all.find((a) => a.id === id)?.name ?? 'A former member';
  const create = useMutation({
    mutationFn: (body: { name: string; memberIds: string[] }) => unwrap(api.POST('/api/chat/teams', { body })),
    onSuccess: () => qc.invalidateQueries({ queryKey: KEY }),
  });
  const update = useMutation({
    mutationFn: (v: { id: string; name: string; memberIds: string[] }) => unwrap(api.PATCH('/api/chat/teams/{id}', { params: { path: { id: v.id } }, body: { name: v.name, memberIds: v.memberIds } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: KEY }),
  });
  const remove = useMutation({
    mutationFn: (id: string) => unwrap(api.DELETE('/api/chat/teams/{id}', { params: { path: { id } } })),
    onSuccess: () => qc.invalidateQueries({ queryKey: KEY }),
  });
  const read = (form: HTMLFormElement) => {
    const f = new FormData(form);
    return { name: String(f.get('name')), memberIds: f.getAll('memberIds').map(String) };
  };
  return (
    <>
      <PageHeader title="Teams" />
      <SubNav label="Inbox settings" links={INBOX_SETTINGS_TABS} />
      <EditableTable
        title="Teams"
        headingId="teams-h"
        columns={['Team', 'Members']}
        query={teams}
        emptyTitle="No teams yet"
        nameOf={(t) => t.name}
        cells={(t) => (
          <>
            <td>{t.name}</td>
            <td>{t.memberIds.length === 0 ? <span className="muted">No members</span> : t.memberIds.map((m) => <span className="tag" key={m}>{nameOf(m)}</span>)}</td>
          </>
        )}
        editFields={(t) => (
          <>
            <Field label="Team name">{(p) => <input {...p} name="name" defaultValue={t.name} required maxLength={120} />}</Field>
            <MemberChecks agents={all} selected={t.memberIds} legend={`Members of ${t.name}`} />
          </>
        )}
        onSave={{ run: (t, form) => update.mutateAsync({ id: t.id, ...read(form) }), busy: update.isPending, error: update.error }}
        onDelete={{ run: (t) => remove.mutate(t.id), error: remove.error }}
      />
      <form
        className="card stack narrow-lg"
        aria-labelledby="new-team-h"
        onSubmit={(e) => {
          e.preventDefault();
          const form = e.currentTarget;
          create.mutate(read(form), { onSuccess: () => form.reset() });
        }}
      >
        <h2 id="new-team-h">New team</h2>
        <Field label="Team name">{(p) => <input {...p} name="name" required maxLength={120} placeholder="Billing" />}</Field>
        <p className="small muted">Members</p>
        <MemberChecks agents={all} selected={[]} legend="Members of the new team" />
        <ErrorMessage error={create.error} />
        <div className="row"><Button type="submit" busy={create.isPending}>Add team</Button></div>
      </form>
    </>
  );
}
