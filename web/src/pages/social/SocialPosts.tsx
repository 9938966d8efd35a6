import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link, useSearchParams } from 'react-router';
import { api, unwrap, type Body } from '../../api/client';
import { Button, Empty, ErrorMessage, formatDate, Loading, PageHeader, StatusBadge } from '../../components/ui';
import { PLATFORM_NAMES, useSocialAccounts } from './SocialAccounts';

export type SocialPost = Body<'/api/social/posts', 'get'>['data'][number];

const WEEKDAYS = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
const pad = (n: number) => String(n).padStart(2, '0');
const monthKey = (d: Date) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}`;
const dayKey = (d: Date) => `${monthKey(d)}-${pad(d.getDate())}`;
/** The day a post goes out (published, else scheduled), in the viewer's time zone. */
const dayOf = (p: SocialPost) => p.publishedAt ?? p.scheduledAt;

function parseMonth(s: string | null): Date {
  const m = s?.match(/^(\d{4})-(\d{2})$/);
  const now = new Date();
  return m ? new Date(Number(m[1]), Number(m[2]) - 1, 1) : new Date(now.getFullYear(), now.getMonth(), 1);
}

/** Every page of the month's posts (a month rarely has more than one). */
async function monthPosts(from: Date, to: Date, accountId?: string) {
  const out: SocialPost[] = [];
  let cursor: string | undefined;
  do {
    const page = await unwrap(api.GET('/api/social/posts', { params: { query: { from: from.toISOString(), to: to.toISOString(), accountId, cursor, limit: 200 } } }));
    out.push(...page.data);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && out.length < 2000);
  return out;
}

/** Social → Posts: a month calendar of scheduled and published posts per account, and the same posts as a list. */
export default function SocialPosts() {
  const [params, setParams] = useSearchParams();
  const month = parseMonth(params.get('month'));
  const accountId = params.get('account') ?? undefined;
  const next = new Date(month.getFullYear(), month.getMonth() + 1, 1);
  const prev = new Date(month.getFullYear(), month.getMonth() - 1, 1);
  const accounts = useSocialAccounts();
  const posts = useQuery({
    queryKey: ['social', 'posts', monthKey(month), accountId],
    queryFn: () => monthPosts(month, next, accountId),
    placeholderData: keepPreviousData,
    // While something is on its way out, watch it land.
    refetchInterval: (q) => (q.state.data?.some((p) => p.status === 'scheduled' || p.status === 'publishing') ? 5000 : false),
  });
  const set = (patch: Record<string, string | undefined>) => {
    const n = new URLSearchParams(params);
    for (const [k, v] of Object.entries(patch)) (v ? n.set(k, v) : n.delete(k));
    setParams(n);
  };
  const handle = new Map(accounts.data?.data.map((a) => [a.id, a.handle]));
  const title = month.toLocaleDateString(undefined, { month: 'long', year: 'numeric' });
  const byDay = new Map<string, SocialPost[]>();
  for (const p of posts.data ?? []) {
    const at = dayOf(p);
    if (!at) continue;
    const k = dayKey(new Date(at));
    byDay.set(k, [...(byDay.get(k) ?? []), p]);
  }
  for (const list of byDay.values()) list.sort((a, b) => Date.parse(dayOf(a)!) - Date.parse(dayOf(b)!));
  // Weeks from the Monday on or before the 1st to the Sunday on or after the last day.
  const offset = (month.getDay() + 6) % 7;
  const days = Math.ceil((offset + new Date(month.getFullYear(), month.getMonth() + 1, 0).getDate()) / 7) * 7;
  const weeks: Date[][] = [];
  for (let i = 0; i < days; i++) {
    if (i % 7 === 0) weeks.push([]);
    weeks[weeks.length - 1].push(new Date(month.getFullYear(), month.getMonth(), 1 - offset + i));
  }
  const sorted = [...(posts.data ?? [])].filter(dayOf).sort((a, b) => Date.parse(dayOf(a)!) - Date.parse(dayOf(b)!));
  const today = dayKey(new Date());
  return (
    <>
      <PageHeader title="Social posts">
        <Link className="btn btn-primary" to="/social/posts/new">New post</Link>
      </PageHeader>
      <div className="card filters row end">
        <div className="field">
          <label htmlFor="post-account">Account</label>
          <select id="post-account" value={accountId ?? ''} onChange={(e) => set({ account: e.target.value || undefined })}>
            <option value="">All accounts</option>
            {accounts.data?.data.map((a) => <option key={a.id} value={a.id}>{PLATFORM_NAMES[a.platform]} · {a.handle}</option>)}
          </select>
        </div>
        <div className="row grow end" role="group" aria-label="Month">
          <Button variant="secondary" onClick={() => set({ month: monthKey(prev) })} aria-label={`Previous month, ${prev.toLocaleDateString(undefined, { month: 'long', year: 'numeric' })}`}>←</Button>
          <Button variant="ghost" onClick={() => set({ month: undefined })}>This month</Button>
          <Button variant="secondary" onClick={() => set({ month: monthKey(next) })} aria-label={`Next month, ${next.toLocaleDateString(undefined, { month: 'long', year: 'numeric' })}`}>→</Button>
        </div>
      </div>
      <ErrorMessage error={posts.error || accounts.error} />
      <section className="card table-card" aria-labelledby="calendar-h">
        <h2 id="calendar-h" className="pad">Calendar</h2>
        {posts.isPending ? <Loading /> : (
          <table className="calendar">
            <caption>{title}: scheduled and published posts</caption>
            <thead>
              <tr>{WEEKDAYS.map((d) => <th key={d} scope="col"><abbr title={d}>{d.slice(0, 3)}</abbr></th>)}</tr>
            </thead>
            <tbody>
              {weeks.map((w) => (
                <tr key={dayKey(w[0])}>
                  {w.map((d) => {
                    const k = dayKey(d);
                    const list = byDay.get(k) ?? [];
                    const inMonth = d.getMonth() === month.getMonth();
                    return (
                      <td key={k} className={`${inMonth ? '' : 'calendar-out'} ${k === today ? 'calendar-today' : ''}`} aria-label={`${d.toLocaleDateString(undefined, { weekday: 'long', day: 'numeric', month: 'long' })}: ${list.length ? `${list.length} post${list.length > 1 ? 's' : ''}` : 'no posts'}`}>
                        <time className="calendar-day" dateTime={k}>{d.getDate()}</time>
                        {list.length > 0 && (
                          <ul className="calendar-posts">
                            {list.map((p) => (
                              <li key={p.id} className={`calendar-post calendar-${p.status}`}>
                                <Link to={`/social/posts/${p.id}`}>
                                  <span className="calendar-time">{new Date(dayOf(p)!).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}</span>{' '}
                                  {handle.get(p.accountId) ?? PLATFORM_NAMES[p.platform]}: {p.body.slice(0, 40) || p.link}
                                  <span className="sr-only"> ({p.status})</span>
                                </Link>
                              </li>
                            ))}
                          </ul>
                        )}
                      </td>
                    );
                  })}
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="card table-card" aria-labelledby="list-h">
        <h2 id="list-h" className="pad">{title}: list</h2>
        {posts.data && sorted.length === 0 && <Empty title="Nothing scheduled this month"><Link to="/social/posts/new">Write a post</Link></Empty>}
        {sorted.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">When</th><th scope="col">Account</th><th scope="col">Post</th><th scope="col">Status</th><th scope="col">On the platform</th></tr></thead>
            <tbody>
              {sorted.map((p) => (
                <tr key={p.id}>
                  <td className="nowrap">{formatDate(dayOf(p))}</td>
                  <td>{PLATFORM_NAMES[p.platform]} · {handle.get(p.accountId) ?? '—'}</td>
                  <td><Link to={`/social/posts/${p.id}`}>{p.body.slice(0, 80) || p.link || '(no text)'}</Link></td>
                  <td><StatusBadge status={p.status} />{p.error && <div className="small error-text">{p.error}</div>}</td>
                  <td>{p.permalink ? <a href={p.permalink} target="_blank" rel="noreferrer">View post</a> : '—'}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
