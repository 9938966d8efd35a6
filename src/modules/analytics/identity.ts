import { randomUUID } from 'node:crypto';
import { sql } from 'drizzle-orm';
import type { Tx } from '../../db/index.js';
import { arr, query } from '../../db/sql.js';
import { Phone } from '../customers/schemas.js';

/** Who an event is about, as the client named them (email lowercased). */
export interface Who {
  userId?: string;
  email?: string;
  anonymousId?: string;
}

/** A customer profile as resolution sees it; `id` may change when a concurrent request created it first. */
interface Profile {
  id: string;
  externalId: string | null;
  email: string | null;
  anonymousId: string | null;
  /** No email, phone or external id: a profile made by anonymous events, which merges when identified. */
  anonymous: boolean;
  isNew?: boolean;
  failed?: boolean;
  /** A new profile the organization's plan has no room for. */
  overPlan?: boolean;
}

/** An event's customer, or why it has none. */
export type Resolution = { customerId: string } | { error: 'customer_conflict' | 'plan_limit' };

/**
 * Resolves each event's customer in batch order, creating profiles for unknown people and linking an
 * anonymous profile to the customer it turns out to be (Segment's identify). Reads are three indexed
 * lookups for the whole batch; writes only for what is new, so a batch about known customers costs one
 * round trip. New profiles beyond `room(n)` (how many of n new customers the plan still takes; null:
 * all) are not created. Returns a getter for each item's customer, or why it has none.
 */
export async function resolveCustomers(tx: Tx, org: string, whos: Who[], room: (wanted: number) => Promise<number | null>): Promise<(i: number) => Resolution> {
  const byUser = new Map<string, Profile>();
  const byEmail = new Map<string, Profile>();
  const byAnon = new Map<string, Profile>();
  const index = (p: Profile) => {
    if (p.externalId) byUser.set(p.externalId, p);
    if (p.email) byEmail.set(p.email, p);
    if (p.anonymousId) byAnon.set(p.anonymousId, p);
  };
  for (const p of await loadProfiles(tx, org, whos)) index(p);

  const creates: Profile[] = [];
  const attaches = new Set<Profile>();
  const merges: { from: Profile; into: Profile; anonymousId: string }[] = [];
  const resolved: Profile[] = [];
  for (const who of whos) {
    const known = (who.userId && byUser.get(who.userId)) || (who.email && byEmail.get(who.email)) || undefined;
    const anon = who.anonymousId ? byAnon.get(who.anonymousId) : undefined;
    let p: Profile;
    if (known && anon && known !== anon && anon.anonymous) {
      merges.push({ from: anon, into: known, anonymousId: who.anonymousId! });
      byAnon.set(who.anonymousId!, known);
      p = known;
    } else if (known) {
      p = known;
    } else if (anon) {
      p = anon;
      // The anonymous visitor identifies: the same profile now carries the user id and address.
      if ((who.userId && !p.externalId) || (who.email && !p.email)) {
        p.externalId ??= who.userId ?? null;
        p.email ??= who.email ?? null;
        p.anonymous = false;
        attaches.add(p);
      }
    } else {
      p = { id: randomUUID(), externalId: who.userId ?? null, email: who.email ?? null, anonymousId: who.anonymousId ?? null, anonymous: !who.userId && !who.email, isNew: true };
      creates.push(p);
    }
    // Known by address, now also by the organization's own id.
    if (p === known && who.userId && !p.externalId) ((p.externalId = who.userId), attaches.add(p));
    index(p);
    resolved.push(p);
  }

  if (creates.length) {
    const fits = await room(creates.length);
    for (const p of fits === null ? [] : creates.splice(fits)) ((p.failed = true), (p.overPlan = true));
    if (creates.length) await createProfiles(tx, org, creates);
  }
  for (const p of attaches) {
    if (p.isNew) continue;
    // A savepoint: a concurrent request may have given the id or address to another profile meanwhile.
    await tx
      .transaction((sp) =>
        sp.execute(sql`update customers set external_id = coalesce(external_id, ${p.externalId}), email = coalesce(email, ${p.email}), updated_at = now()
          where organization_id = ${org} and id = ${p.id}`),
      )
      .catch(() => undefined);
  }
  for (const m of merges) {
    if (m.from.failed || m.into.failed || m.from.id === m.into.id) continue;
    await mergeProfiles(tx, org, m.from.id, m.into.id, m.anonymousId);
  }
  return (i) => {
    const p = resolved[i];
    if (!p.failed) return { customerId: p.id };
    return { error: p.overPlan ? 'plan_limit' : 'customer_conflict' };
  };
}

const LOAD_COLUMNS = sql`id, external_id as "externalId", lower(email) as email, anonymous_id as "anonymousId",
  (email is null and phone is null and external_id is null) as anonymous`;

async function loadProfiles(tx: Tx, org: string, whos: Who[]): Promise<Profile[]> {
  const users = [...new Set(whos.map((w) => w.userId).filter((v): v is string => !!v))];
  const emails = [...new Set(whos.map((w) => w.email).filter((v): v is string => !!v))];
  const anons = [...new Set(whos.map((w) => w.anonymousId).filter((v): v is string => !!v))];
  // One arm per key, each on its own unique index.
  const arms = [
    users.length ? sql`select ${LOAD_COLUMNS} from customers where organization_id = ${org} and external_id = any(${arr(users)}::text[])` : null,
    emails.length ? sql`select ${LOAD_COLUMNS} from customers where organization_id = ${org} and lower(email) = any(${arr(emails)}::text[])` : null,
    anons.length ? sql`select ${LOAD_COLUMNS} from customers where organization_id = ${org} and anonymous_id = any(${arr(anons)}::text[])` : null,
  ].filter((a) => a !== null);
  if (!arms.length) return [];
  const rows = await query<Profile>(tx, sql.join(arms, sql` union `));
  return rows;
}

/** Inserts new profiles in one statement; one a concurrent request created first is looked up instead. */
async function createProfiles(tx: Tx, org: string, creates: Profile[]) {
  const made = await query<{ id: string }>(
    tx,
    sql`insert into customers (organization_id, id, external_id, email, anonymous_id)
      select ${org}, x.id, x.ext, x.email, x.anon from unnest(${arr(creates.map((p) => p.id))}::uuid[], ${arr(creates.map((p) => p.externalId))}::text[],
        ${arr(creates.map((p) => p.email))}::text[], ${arr(creates.map((p) => p.anonymousId))}::text[]) as x(id, ext, email, anon)
      on conflict do nothing returning id`,
  );
  const ok = new Set(made.map((r) => r.id));
  const lost = creates.filter((p) => !ok.has(p.id));
  if (!lost.length) return;
  const found = await loadProfiles(tx, org, lost.map((p) => ({ userId: p.externalId ?? undefined, email: p.email ?? undefined, anonymousId: p.anonymousId ?? undefined })));
  for (const p of lost) {
    const q = found.find((f) => (p.externalId && f.externalId === p.externalId) || (p.email && f.email === p.email) || (p.anonymousId && f.anonymousId === p.anonymousId));
    if (q) p.id = q.id;
    else p.failed = true;
  }
}

/** An anonymous profile turned out to be a known customer: its events, traits and tags move there, and it goes. */
async function mergeProfiles(tx: Tx, org: string, from: string, into: string, anonymousId: string) {
  await tx.execute(sql`update analytics_events set customer_id = ${into} where organization_id = ${org} and customer_id = ${from}`);
  await tx.execute(sql`update customers k set first_name = coalesce(k.first_name, a.first_name), last_name = coalesce(k.last_name, a.last_name),
      attributes = a.attributes || k.attributes, tags = array(select distinct t from unnest(k.tags || a.tags) t order by 1), updated_at = now()
    from customers a where k.organization_id = ${org} and k.id = ${into} and a.organization_id = ${org} and a.id = ${from}`);
  await tx.execute(sql`delete from customers where organization_id = ${org} and id = ${from}`);
  await tx.execute(sql`update customers set anonymous_id = coalesce(anonymous_id, ${anonymousId}) where organization_id = ${org} and id = ${into}`);
}

/** Segment's reserved traits that are customer fields; everything else becomes an attribute. */
export async function applyTraits(tx: Tx, org: string, customerId: string, traits: Record<string, unknown>) {
  const rest: Record<string, unknown> = { ...traits };
  const take = (...keys: string[]) => {
    let v: unknown;
    for (const k of keys) if (k in rest) ((v ??= rest[k]), delete rest[k]);
    return typeof v === 'string' && v.trim() ? v.trim().slice(0, 200) : null;
  };
  const firstName = take('firstName', 'first_name');
  const lastName = take('lastName', 'last_name');
  const email = take('email')?.toLowerCase() ?? null;
  const phoneRaw = take('phone');
  const phone = phoneRaw && Phone.safeParse(phoneRaw).success ? phoneRaw : null;
  await tx.execute(sql`update customers c set first_name = coalesce(${firstName}, c.first_name), last_name = coalesce(${lastName}, c.last_name),
      phone = coalesce(${phone}, c.phone),
      email = case when c.email is null and ${email}::text is not null
        and not exists (select 1 from customers o where o.organization_id = ${org} and lower(o.email) = ${email}) then ${email} else c.email end,
      attributes = c.attributes || ${JSON.stringify(rest)}::jsonb, updated_at = now()
    where c.organization_id = ${org} and c.id = ${customerId}`);
}
