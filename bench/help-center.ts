/**
 * Help center search (issue 11): one organization with BENCH_HELP_ARTICLES (10,000) published English
 * articles of ~120 words (plus a second organization of 2,000, so the GIN index holds more than one
 * tenant), then the p50 of GET /api/help/<slug>/articles?q= (slug lookup, tenant transaction, sb_kb_search,
 * titles and snippets re-read under RLS, JSON) beside the same search — ranked ids and ts_headline
 * snippets of the top ten — as one SQL statement over raw pg as the owner. Also the plain @@ query inside
 * the tenant's RLS scope, which cannot use the GIN index (tsvector @@ tsquery is not leakproof): the reason
 * sb_kb_search exists.
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { interleaved, log, loopVariant, runIfMain, settings, type Result } from './lib.js';
import { benchServer, signUpOwner } from './server.js';

const SUITE = 'help-center';
const ARTICLES = Number(process.env.BENCH_HELP_ARTICLES ?? 10_000);
const HEADLINE = 'StartSel=\u0001, StopSel=\u0002, MaxWords=30, MinWords=12, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "';
/**
 * Two sets of queries: specific words (each in 1–4 % of the articles, what a visitor's question usually
 * shares with a few articles) and generic ones (in 30–60 %: every match is ranked, so these cost the most).
 */
const SPECIFIC = ['w1999', 'w1500', 'w1234', 'w1800 w1900', 'w1100'];
const GENERIC = ['account', 'password reset', 'invoice', 'w17', 'shipping refund'];
const QUERIES = [...SPECIFIC, ...GENERIC];

async function seed(owner: pg.Pool, org: string, n: number) {
  // Each body: 120 words drawn from 2,000 synthetic ones (w0…w1999, skewed towards the small numbers) and a few real ones.
  await owner.query(
    `with a as (
       insert into kb_articles (organization_id, status, published_at) select $1, 'published', now() from generate_series(1, $2::int) returning id)
     insert into kb_article_translations (organization_id, article_id, locale, slug, title, description, body, body_text, published)
     select $1, a.id, 'en', 'article-' || row_number() over (), initcap(t.title), 'About ' || t.title, t.body, t.body, true
       from a, lateral (
         select (array['account','password','invoice','shipping','refund','billing','device','team'])[1 + floor(random() * 8)::int]
                || ' ' || 'w' || floor(power(random(), 2) * 2000)::int as title,
                string_agg(case when random() < 0.05 then (array['account','password','reset','invoice','shipping','refund'])[1 + floor(random() * 6)::int]
                                else 'w' || floor(power(random(), 2) * 2000)::int end, ' ') as body
           from generate_series(1, 120) where a.id is not null) t`,
    [org, n],
  );
}

export async function run(): Promise<Result[]> {
  const { app, db, owner, closeAll } = await benchServer('help', { ownerConnections: 4 });
  try {
    const orgs: { id: string; slug: string }[] = [];
    for (const name of ['Bench Help', 'Other Tenant']) {
      const { org: id, slug } = await signUpOwner(app, name, `${name.replace(' ', '-')}@bench.example`);
      orgs.push({ id, slug });
    }
    const [org, other] = orgs;
    let t0 = performance.now();
    await seed(owner, org.id, ARTICLES);
    await seed(owner, other.id, 2_000);
    await owner.query('analyze');
    log(`help-center: ${ARTICLES} + 2000 articles in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

    // Every variant must find the same top ten; checked once before measuring.
    const viaApi = (queries: string[]) => async (i: number) => {
      const q = queries[i % queries.length];
      const res = await app.inject({ method: 'GET', url: `/api/help/${org.slug}/articles?q=${encodeURIComponent(q)}&locale=en&limit=10` });
      return res.statusCode === 200 && res.json().data.length > 0;
    };
    const rawSql = `select t.article_id, t.slug, t.title, t.description, ts_rank(t.search, q) as rank, ts_headline('english', t.body_text, q, $3) as snippet
        from kb_article_translations t, websearch_to_tsquery('english', $2) q
       where t.organization_id = $1 and t.locale = 'en' and t.published and t.search @@ q
       order by rank desc, t.article_id limit 10`;
    const viaRaw = (queries: string[]) => async (i: number) => (await owner.query(rawSql, [org.id, queries[i % queries.length], HEADLINE])).rows.length > 0;
    const viaRlsScan = (queries: string[]) => async (i: number) =>
      db.withTenant(org.id, async (tx) => {
        const r = await tx.execute(sql`select t.article_id, ts_rank(t.search, q) as rank from kb_article_translations t, websearch_to_tsquery('english', ${queries[i % queries.length]}) q
          where t.organization_id = ${org.id} and t.locale = 'en' and t.published and t.search @@ q order by rank desc, t.article_id limit 10`);
        return (r as unknown as { rows: unknown[] }).rows.length > 0;
      });
    for (let i = 0; i < QUERIES.length; i++) {
      const api = (await app.inject({ method: 'GET', url: `/api/help/${org.slug}/articles?q=${encodeURIComponent(QUERIES[i])}&locale=en&limit=10` })).json().data.map((h: { id: string }) => h.id);
      const raw = (await owner.query(rawSql, [org.id, QUERIES[i], HEADLINE])).rows.map((r) => r.article_id);
      if (JSON.stringify(api) !== JSON.stringify(raw)) throw new Error(`"${QUERIES[i]}": the API and the raw query disagree`);
    }
    const plan = (await owner.query(`explain ${rawSql.replace('$1', `'${org.id}'`).replace('$2', `'w1999'`).replace('$3', `''`)}`)).rows.map((r) => String(Object.values(r)[0]));
    log(`help-center: the raw query ${plan.some((l) => l.includes('kb_article_translations_search_idx')) ? 'uses' : 'does NOT use'} the GIN index`);

    const warm = settings.warmupSeconds;
    if (warm > 0) await interleaved([loopVariant(SUITE, 'warm-up api', viaApi(QUERIES)), loopVariant(SUITE, 'warm-up raw', viaRaw(QUERIES))], warm, 2);
    const results: Result[] = [];
    for (const [label, queries] of [['specific words', SPECIFIC], ['generic words', GENERIC]] as const) {
      const [api, raw, scan] = await interleaved(
        [
          loopVariant(SUITE, `${label}: GET /api/help/:slug/articles?q= (${ARTICLES} articles)`, viaApi([...queries])),
          loopVariant(SUITE, `${label}: same search + headline, raw pg as owner`, viaRaw([...queries])),
          loopVariant(SUITE, `${label}: plain @@ under RLS (no GIN), ids only`, viaRlsScan([...queries])),
        ],
        settings.seconds,
        5,
      );
      results.push(api, raw, scan, {
        kind: 'ratio',
        suite: SUITE,
        name: `${label}: search p50, through the API / raw pg`,
        value: api.p50Ms / raw.p50Ms,
        aim: 'report',
        met: true,
        detail: `${api.p50Ms.toFixed(2)} ms vs ${raw.p50Ms.toFixed(2)} ms at ${settings.connections} connection(s); the RLS scan without sb_kb_search: ${scan.p50Ms.toFixed(2)} ms`,
      });
    }
    return results;
  } finally {
    await closeAll();
  }
}

await runIfMain(import.meta.url, run);
