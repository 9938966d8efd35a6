import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import twitter from 'twitter-text';
import { api, unwrap } from '../../api/client';
import { Button, ConfirmDialog, ErrorMessage, Field, formatDate, Loading, PageHeader, QueryState, StatusBadge } from '../../components/ui';
import { PLATFORM_NAMES, useSocialAccounts } from './SocialAccounts';
import type { SocialPost } from './SocialPosts';

/** What each platform counts (the server checks the same: src/modules/social/limits.ts). */
const LIMIT: Record<string, number> = { x: 280, facebook: 63_206, instagram: 2_200, linkedin: 3_000 };
const textFor = (platform: string, body: string, link: string) => (!link || platform === 'facebook' || platform === 'linkedin' ? body : body ? `${body} ${link}` : link);
const lengthOf = (platform: string, text: string) => (platform === 'x' ? twitter.parseTweet(text).weightedLength : [...text].length);

/** `datetime-local` value in the viewer's zone ⇄ ISO instant. */
const toLocalInput = (iso: string | null) => {
  if (!iso) return '';
  const d = new Date(iso);
  return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
};

type Draft = { accountId: string; body: string; link: string; images: string; scheduledAt: string };

/** New post and post page: the composer with the platform's live character count; edit and delete while not published. */
export default function PostEditor() {
  const { id } = useParams();
  const post = useQuery({ queryKey: ['social', 'post', id], queryFn: () => unwrap(api.GET('/api/social/posts/{id}', { params: { path: { id: id! } } })), enabled: Boolean(id) });
  const back = <Link className="back" to="/social/posts">← Social posts</Link>;
  if (id && !post.data) {
    return (
      <>
        <PageHeader title="Post" back={back} />
        <QueryState query={post} what="post" />
      </>
    );
  }
  return <Composer key={post.data?.updatedAt ?? 'new'} post={post.data} back={back} />;
}

function Composer({ post, back }: { post?: SocialPost; back: React.ReactNode }) {
  const qc = useQueryClient();
  const navigate = useNavigate();
  const accounts = useSocialAccounts();
  const [d, setD] = useState<Draft>({
    accountId: post?.accountId ?? '',
    body: post?.body ?? '',
    link: post?.link ?? '',
    images: (post?.imageUrls ?? []).join('\n'),
    scheduledAt: toLocalInput(post?.scheduledAt ?? null),
  });
  useEffect(() => {
    if (!d.accountId && accounts.data?.data[0]) setD((x) => ({ ...x, accountId: accounts.data.data[0].id }));
  }, [accounts.data, d.accountId]);
  const account = accounts.data?.data.find((a) => a.id === d.accountId);
  const platform = account?.platform ?? post?.platform ?? 'x';
  const count = lengthOf(platform, textFor(platform, d.body, d.link.trim()));
  const limit = LIMIT[platform];
  const locked = post?.status === 'published' || post?.status === 'publishing';
  const save = useMutation({
    mutationFn: (status: 'draft' | 'scheduled') => {
      const body = {
        accountId: d.accountId,
        body: d.body,
        link: d.link.trim() || null,
        imageUrls: d.images.split('\n').map((s) => s.trim()).filter(Boolean),
        status,
        scheduledAt: d.scheduledAt ? new Date(d.scheduledAt).toISOString() : null,
      };
      return post
        ? unwrap(api.PATCH('/api/social/posts/{id}', { params: { path: { id: post.id } }, body }))
        : unwrap(api.POST('/api/social/posts', { body }));
    },
    onSuccess: async (p) => {
      await qc.invalidateQueries({ queryKey: ['social'] });
      await navigate(`/social/posts?month=${(p.scheduledAt ?? p.createdAt).slice(0, 7)}`);
    },
  });
  const [confirming, setConfirming] = useState(false);
  const remove = useMutation({
    mutationFn: () => unwrap(api.DELETE('/api/social/posts/{id}', { params: { path: { id: post!.id } } })),
    onSuccess: async () => {
      await qc.invalidateQueries({ queryKey: ['social'] });
      await navigate('/social/posts');
    },
  });
  if (accounts.isPending) return <Loading />;
  if (!post && accounts.data?.data.length === 0) {
    return (
      <>
        <PageHeader title="New post" back={back} />
        <p className="card">Connect a social account first: <Link to="/social/accounts">Social accounts</Link>.</p>
      </>
    );
  }
  return (
    <>
      <PageHeader title={post ? 'Post' : 'New post'} back={back}>
        {post && !locked && <Button variant="danger" onClick={() => setConfirming(true)}>Delete</Button>}
      </PageHeader>
      {post && (
        <section className="card" aria-labelledby="state-h">
          <h2 id="state-h">Status</h2>
          <dl className="props">
            <dt>Status</dt><dd><StatusBadge status={post.status} /></dd>
            <dt>Scheduled</dt><dd>{formatDate(post.scheduledAt)}</dd>
            <dt>Published</dt><dd>{formatDate(post.publishedAt)}</dd>
            {post.permalink && <><dt>On {PLATFORM_NAMES[post.platform]}</dt><dd><a href={post.permalink} target="_blank" rel="noreferrer">{post.permalink}</a></dd></>}
            {post.error && <><dt>Last error</dt><dd className="error-text">{post.error}</dd></>}
            <dt>Attempts</dt><dd>{post.attempts}</dd>
          </dl>
          {locked && <p className="muted">A published post can no longer be changed here.</p>}
        </section>
      )}
      <form
        className="card stack"
        aria-label="Post"
        onSubmit={(e) => {
          e.preventDefault();
          save.mutate('scheduled');
        }}
      >
        <fieldset disabled={locked} className="stack">
          <Field label="Account">
            {(p) => (
              <select {...p} value={d.accountId} onChange={(e) => setD({ ...d, accountId: e.target.value })} required>
                {accounts.data?.data.map((a) => <option key={a.id} value={a.id}>{PLATFORM_NAMES[a.platform]} · {a.handle}{a.status !== 'connected' ? ' (needs reconnection)' : ''}</option>)}
              </select>
            )}
          </Field>
          <Field
            label="Text"
            hint={
              <span className={count > limit ? 'error-text' : undefined} aria-live="polite">
                {count} / {limit} characters{platform === 'x' ? ' as X counts them (links 23, emoji 2)' : ''}{count > limit ? ` — ${count - limit} too many` : ''}
              </span>
            }
          >
            {(p) => <textarea {...p} rows={5} value={d.body} onChange={(e) => setD({ ...d, body: e.target.value })} />}
          </Field>
          <Field label="Link" hint={platform === 'x' || platform === 'instagram' ? 'Added after the text.' : 'Shown as a link preview.'}>
            {(p) => <input {...p} type="url" value={d.link} onChange={(e) => setD({ ...d, link: e.target.value })} placeholder="https://" />}
          </Field>
          <Field label="Image URLs" hint="One per line (Facebook: up to 10; Instagram: exactly 1; X and LinkedIn: not yet).">
            {(p) => <textarea {...p} rows={2} value={d.images} onChange={(e) => setD({ ...d, images: e.target.value })} />}
          </Field>
          <Field label="Publish at" hint="Your local time.">
            {(p) => <input {...p} type="datetime-local" value={d.scheduledAt} onChange={(e) => setD({ ...d, scheduledAt: e.target.value })} />}
          </Field>
          <ErrorMessage error={save.error} />
          <div className="row">
            <Button type="submit" busy={save.isPending && save.variables === 'scheduled'} disabled={count > limit}>Schedule</Button>
            <Button variant="secondary" busy={save.isPending && save.variables === 'draft'} onClick={() => save.mutate('draft')}>Save draft</Button>
          </div>
        </fieldset>
      </form>
      <ConfirmDialog open={confirming} title="Delete this post?" confirmLabel="Delete post" onConfirm={() => remove.mutate()} onCancel={() => { setConfirming(false); remove.reset(); }} busy={remove.isPending} error={remove.error}>
        <p>The post is deleted and will not be published.</p>
      </ConfirmDialog>
    </>
  );
}
