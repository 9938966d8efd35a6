import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate } from 'react-router';
import { api, detailsByPath, unwrap } from '../../api/client';
import { Button, ConfirmDialog, ErrorMessage, Field, formatDate, isAdmin, PageHeader, QueryState } from '../../components/ui';
import { useSession } from '../../lib/session';

/** The active organization: what it is, renaming it and its help center address (admins), and leaving it. (Switching is in the sidebar.) */
export default function Organization() {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const session = useSession();
  const org = useQuery({ queryKey: ['organization'], queryFn: () => unwrap(api.GET('/api/organizations/current')) });
  const [leaving, setLeaving] = useState(false);
  const leave = useMutation({
    mutationFn: () => unwrap(api.POST('/api/organizations/current/leave')),
    onSuccess: async () => {
      setLeaving(false);
      qc.clear();
      await navigate('/');
    },
  });
  const others = (session.data?.organizations.length ?? 1) - 1;
  return (
    <>
      <PageHeader title="Organization" />
      {!org.data ? (
        <QueryState query={org} what="organization" />
      ) : (
        <>
          <section className="card narrow-lg" aria-labelledby="org-h">
            <h2 id="org-h">{org.data.name}</h2>
            <dl className="props">
              <dt>Your role</dt><dd className="cap">{session.data?.role ?? '—'}</dd>
              <dt>Plan</dt><dd className="cap">{org.data.plan}</dd>
              <dt>Created</dt><dd>{formatDate(org.data.createdAt)}</dd>
              <dt>Help center</dt><dd><a href={`/help/${org.data.slug}`}>/help/{org.data.slug}</a></dd>
              <dt>Organization id</dt><dd className="mono small">{org.data.id}</dd>
            </dl>
            <p className="muted small">Switch between your organizations, or create another, with the selector at the top of the sidebar.</p>
          </section>
          {isAdmin(session.data?.role) && <RenameForm key={`${org.data.name}/${org.data.slug}`} name={org.data.name} slug={org.data.slug} />}
          <section className="card narrow-lg stack" aria-labelledby="leave-h">
            <h2 id="leave-h">Leave this organization</h2>
            <p className="muted">You lose access to its customers, campaigns and calls, and your API keys for it are revoked. The last owner cannot leave: make someone else owner first.</p>
            <div><Button variant="danger" onClick={() => setLeaving(true)}>Leave {org.data.name}</Button></div>
          </section>
        </>
      )}
      <ConfirmDialog open={leaving} title={`Leave ${org.data?.name}?`} confirmLabel="Leave organization" onConfirm={() => leave.mutate()} onCancel={() => { setLeaving(false); leave.reset(); }} busy={leave.isPending} error={leave.error}>
        <p>{others > 0 ? 'You will need to switch to another of your organizations.' : 'You are not a member of any other organization: you will be asked to create one.'} Rejoining takes a new invitation.</p>
      </ConfirmDialog>
    </>
  );
}

/** Name and URL slug (the public help center's address, /help/<slug>); a slug another organization holds is refused (409). */
function RenameForm({ name: initialName, slug: initialSlug }: { name: string; slug: string }) {
  const qc = useQueryClient();
  const [name, setName] = useState(initialName);
  const [slug, setSlug] = useState(initialSlug);
  const save = useMutation({
    mutationFn: () =>
      unwrap(api.PATCH('/api/organizations/current', { body: { ...(name !== initialName && { name }), ...(slug !== initialSlug && { slug }) } })),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['organization'] });
      await qc.invalidateQueries({ queryKey: ['session'] });
    },
  });
  const errors = detailsByPath(save.error);
  const changed = name.trim() !== initialName || slug !== initialSlug;
  return (
    <form
      className="card narrow-lg stack"
      aria-labelledby="rename-h"
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate();
      }}
    >
      <h2 id="rename-h">Name and address</h2>
      <Field label="Organization name" error={errors.name}>{(p) => <input {...p} value={name} onChange={(e) => setName(e.target.value)} required maxLength={200} />}</Field>
      <Field label="URL slug" hint={<>Your public help center is at <span className="mono">/help/{slug || '…'}</span>. Lowercase letters, digits and hyphens; changing it moves the help center (old links stop working).</>} error={errors.slug}>
        {(p) => <input {...p} value={slug} onChange={(e) => setSlug(e.target.value.toLowerCase())} required maxLength={63} pattern="[a-z0-9]([a-z0-9\-]*[a-z0-9])?" />}
      </Field>
      <div><Button type="submit" busy={save.isPending} disabled={!changed}>Save</Button></div>
      {save.isSuccess && !changed && <p className="success" role="status">Saved.</p>}
      <ErrorMessage error={save.error} />
    </form>
  );
}
