// Knowledge base and public help center (issue 11): the articles API, Markdown sanitization against hostile
// input, locales, full-text search (ranking, snippets, language-aware stemming), the sitemap, drafts never
// public, views and helpful votes, organization slugs, and two organizations kept apart everywhere.
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { suggestArticles } from '../src/modules/knowledge-base/index.js';
import { addMember, createApiKey, createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';

let t: TestApp;
let a: Actor;
let b: Actor;
let slugA: string;
let slugB: string;

const api = (actor: Actor, method: string, url: string, payload?: unknown) =>
  t.app.inject({ method: method as any, url, headers: actor.headers, ...(payload !== undefined && { payload: payload as any }) });
const get = (url: string, headers: Record<string, string> = {}) => t.app.inject({ method: 'GET', url, headers });
const vote = (url: string, helpful: 'yes' | 'no', headers: Record<string, string> = { 'sec-fetch-site': 'same-origin' }, ip = '203.0.113.7') =>
  t.app.inject({ method: 'POST', url: `${url}/feedback`, remoteAddress: ip, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, payload: `helpful=${helpful}` });

async function article(actor: Actor, translations: Record<string, { title: string; description?: string; body?: string; slug?: string }>, opts: { publish?: boolean; categoryId?: string | null } = {}) {
  const res = await api(actor, 'POST', '/api/knowledge-base/articles', { categoryId: opts.categoryId ?? null, translations });
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json();
  if (opts.publish !== false) expect((await api(actor, 'POST', `/api/knowledge-base/articles/${body.id}/publish`)).statusCode).toBe(200);
  return body as { id: string; translations: { locale: string; slug: string; url: string; bodyHtml: string }[] };
}
const pathOf = (url: string) => new URL(url).pathname;

beforeAll(async () => {
  t = await createTestApp();
  a = await signUpWithOrg(t.app, 'kb-a', 'Acme <Support> & Co');
  b = await signUpWithOrg(t.app, 'kb-b', 'Bravo Help');
  slugA = (await api(a, 'GET', '/api/organizations/current')).json().slug;
  slugB = (await api(b, 'GET', '/api/organizations/current')).json().slug;
});
afterAll(() => t?.close());

describe('organization slugs', () => {
  it('are made from the name at sign-up, with a suffix when another organization holds it', async () => {
    expect(slugA).toBe('acme-support-co');
    expect(slugB).toBe('bravo-help');
    const twin = await signUpWithOrg(t.app, 'kb-twin', 'Bravo Help');
    expect((await api(twin, 'GET', '/api/organizations/current')).json().slug).toBe('bravo-help-2');
    const created = await t.app.inject({ method: 'POST', url: '/api/organizations', headers: twin.headers, payload: { name: 'Bravo Help' } });
    expect(created.statusCode).toBe(201);
    expect(created.json().slug).toBe('bravo-help-3');
  });

  it('rename and re-slug: admins only, audited, validated, 409 on a slug another organization holds', async () => {
    const owner = await signUpWithOrg(t.app, 'kb-rename', 'Rename Me');
    const member = await addMember(t.app, owner, 'member', 'kb-rename-member');
    expect((await api(member, 'PATCH', '/api/organizations/current', { name: 'Nope' })).statusCode).toBe(403);
    expect((await api(owner, 'PATCH', '/api/organizations/current', { slug: 'Upper-Case' })).statusCode).toBe(400);
    expect((await api(owner, 'PATCH', '/api/organizations/current', { slug: '-edge' })).statusCode).toBe(400);
    expect((await api(owner, 'PATCH', '/api/organizations/current', {})).statusCode).toBe(400);
    expect((await api(owner, 'PATCH', '/api/organizations/current', { name: 'x', plan: 'pro' })).statusCode).toBe(400);
    const taken = await api(owner, 'PATCH', '/api/organizations/current', { slug: slugA });
    expect(taken.statusCode).toBe(409);
    expect(taken.json()).toMatchObject({ code: 'conflict' });

    const ok = await api(owner, 'PATCH', '/api/organizations/current', { name: 'Renamed Inc', slug: 'renamed-inc' });
    expect(ok.statusCode, ok.body).toBe(200);
    expect(ok.json()).toMatchObject({ name: 'Renamed Inc', slug: 'renamed-inc', role: 'owner' });
    const session = (await t.app.inject({ method: 'GET', url: '/api/auth/session', headers: owner.headers })).json();
    expect(session.organizations.find((o: any) => o.id === owner.organizationId).name).toBe('Renamed Inc');
    const audit = (await api(owner, 'GET', '/api/audit-log')).json();
    const entry = audit.data.find((e: any) => e.action === 'organization.updated');
    expect(entry.changes).toEqual({ name: { from: 'Rename Me', to: 'Renamed Inc' }, slug: { from: 'rename-me', to: 'renamed-inc' } });
    // An API key of an admin may rename too; the help center answers at the new address.
    const key = await createApiKey(t.app, owner, 'admin');
    expect((await t.app.inject({ method: 'PATCH', url: '/api/organizations/current', headers: key.headers, payload: { name: 'Renamed Again' } })).statusCode).toBe(200);
    expect((await get('/help/renamed-inc/en')).statusCode).toBe(200);
  });

  it('are backfilled by the migration for organizations created before it, and filled by the trigger when left out', async () => {
    const rows = await t.db.owner.query<{ slug: string }>(`INSERT INTO organizations (name) VALUES ('Fixture Org!') RETURNING slug`);
    expect(rows[0].slug).toMatch(/^fixture-org-[0-9a-f]{8}$/);
    const [{ n }] = await t.db.owner.query<{ n: number }>(`SELECT count(*)::int AS n FROM organizations WHERE slug !~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'`);
    expect(n).toBe(0);
  });
});

describe('articles API', () => {
  it('creates, reads, lists with filters, changes locales and deletes; strict schemas and limits', async () => {
    const cat = await api(a, 'POST', '/api/knowledge-base/categories', { name: 'Billing & Plans', description: 'Invoices' });
    expect(cat.statusCode, cat.body).toBe(201);
    expect(cat.json()).toMatchObject({ slug: 'billing-plans', articles: 0 });
    const created = await api(a, 'POST', '/api/knowledge-base/articles', {
      categoryId: cat.json().id,
      translations: { en: { title: 'Download an invoice', body: 'Open **Billing**.' }, fr: { title: 'Télécharger une facture', body: 'Ouvrez **Facturation**.' } },
    });
    expect(created.statusCode, created.body).toBe(201);
    const art = created.json();
    expect(art).toMatchObject({ status: 'draft', publishedAt: null, views: 0, helpful: 0, notHelpful: 0, categoryId: cat.json().id });
    expect(art.translations.map((x: any) => [x.locale, x.slug])).toEqual([['en', 'download-an-invoice'], ['fr', 'telecharger-une-facture']]);
    expect(art.translations[0].bodyHtml).toBe('<p>Open <strong>Billing</strong>.</p>\n');
    expect(pathOf(art.translations[0].url)).toBe(`/help/${slugA}/en/articles/download-an-invoice`);

    // Same title again: the slug gets a suffix; an explicit slug already taken in the locale is a 409.
    const again = await article(a, { en: { title: 'Download an invoice' } }, { publish: false });
    expect(again.translations[0].slug).toBe('download-an-invoice-2');
    const clash = await api(a, 'POST', '/api/knowledge-base/articles', { translations: { en: { title: 'Other', slug: 'download-an-invoice' } } });
    expect(clash.statusCode).toBe(409);
    expect(clash.json().details[0].path).toEqual(['translations', 'en', 'slug']);
    // Another locale may use it.
    expect((await api(a, 'POST', '/api/knowledge-base/articles', { translations: { de: { title: 'Other', slug: 'download-an-invoice' } } })).statusCode).toBe(201);

    for (const bad of [
      { translations: {} },
      { translations: { english: { title: 'x' } } },
      { translations: { en: { title: '' } } },
      { translations: { en: { title: 'x', body: 'y'.repeat(100_001) } } },
      { translations: { en: { title: 'x', extra: 1 } } },
      { translations: { en: { title: 'x' } }, status: 'published' },
      { translations: { en: { title: 'x', slug: 'Has Spaces' } } },
      { categoryId: '00000000-0000-4000-8000-000000000000', translations: { en: { title: 'x' } } },
    ]) {
      const res = await api(a, 'POST', '/api/knowledge-base/articles', bad);
      expect(res.statusCode, JSON.stringify(bad).slice(0, 80)).toBe(400);
    }

    const list = (q: string) => api(a, 'GET', `/api/knowledge-base/articles${q}`).then((r) => r.json().data.map((x: any) => x.id));
    expect(await list(`?categoryId=${cat.json().id}`)).toEqual([art.id]);
    expect(await list('?locale=fr')).toEqual([art.id]);
    expect(await list('?q=INVOICE')).toEqual(expect.arrayContaining([art.id, again.id]));
    expect(await list('?q=facture')).toEqual([art.id]);
    expect(await list('?status=published')).not.toContain(art.id);
    const paged = (await api(a, 'GET', '/api/knowledge-base/articles?limit=1')).json();
    expect(paged.data).toHaveLength(1);
    expect(paged.nextCursor).toBeTruthy();
    expect((await api(a, 'GET', `/api/knowledge-base/categories/${cat.json().id}`)).json().articles).toBe(1);

    // Add German, drop French; the last locale cannot go.
    const patched = await api(a, 'PATCH', `/api/knowledge-base/articles/${art.id}`, { translations: { de: { title: 'Rechnung herunterladen', body: 'Öffnen' }, fr: null } });
    expect(patched.statusCode, patched.body).toBe(200);
    expect(patched.json().translations.map((x: any) => x.locale)).toEqual(['de', 'en']);
    const last = await api(a, 'PATCH', `/api/knowledge-base/articles/${art.id}`, { translations: { de: null, en: null } });
    expect(last.statusCode).toBe(400);

    // Deleting the category leaves the article uncategorized.
    expect((await api(a, 'DELETE', `/api/knowledge-base/categories/${cat.json().id}`)).statusCode).toBe(204);
    expect((await api(a, 'GET', `/api/knowledge-base/articles/${art.id}`)).json().categoryId).toBeNull();
    expect((await api(a, 'DELETE', `/api/knowledge-base/articles/${art.id}`)).statusCode).toBe(204);
    expect((await api(a, 'GET', `/api/knowledge-base/articles/${art.id}`)).statusCode).toBe(404);
    const actions = (await api(a, 'GET', '/api/audit-log')).json().data.map((e: any) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['kb_article.created', 'kb_article.updated', 'kb_article.deleted', 'kb_category.created', 'kb_category.deleted']));
  });
});

describe('sanitization (articles are tenant content on a public page)', () => {
  const HOSTILE = [
    '<script>alert(1)</script>',
    '<img src=x onerror=alert(2)>',
    '[click](javascript:alert(3))',
    '[click](JaVaScRiPt:alert(4))',
    '[click](  javascript:alert(5))',
    '[data](data:text/html;base64,PHNjcmlwdD5hbGVydCg2KTwvc2NyaXB0Pg==)',
    '![img](javascript:alert(7))',
    '<a href="javascript&colon;alert(8)">entity</a>',
    '<svg onload=alert(9)><circle/></svg>',
    '<iframe src="https://evil.example/"></iframe>',
    '<div style="background:url(javascript:alert(10))" onclick="alert(11)">styled</div>',
    '<form action="https://evil.example/"><input name=x></form>',
    '<object data="x.swf"></object><embed src="x.swf">',
    '<math><mi xlink:href="javascript:alert(12)">m</mi></math>',
    '<a href="vbscript:msgbox(13)">vb</a>',
    '<p onmouseover="alert(14)">hover</p>',
    '<style>body{display:none}</style>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<base href="https://evil.example/">',
    '<a href="//evil.example/x">protocol-relative</a>',
    '"><script>alert(15)</script>',
    '<IMG SRC="jav&#x09;ascript:alert(16);">',
    '<details open ontoggle=alert(17)>',
    '```\n<script>alert("in code")</script>\n```',
  ].join('\n\n');
  const FORBIDDEN = [/<script/i, /\son\w+=/i, /javascript:/i, /vbscript:/i, /data:text/i, /<iframe/i, /<svg/i, /<style/i, /<form/i, /<object/i, /<embed/i, /<meta/i, /<base/i, /style=/i, /href="\/\//i, /<details/i];

  it('keeps no script, event handler, dangerous URL or active element, in the API, the preview and the public page', async () => {
    const art = await article(a, { en: { title: '<img src=x onerror=alert(0)> Hostile', description: '"><script>alert(1)</script>', body: HOSTILE } });
    const html = art.translations[0].bodyHtml;
    for (const f of FORBIDDEN) expect(html, String(f)).not.toMatch(f);
    expect(html).toContain('&lt;script&gt;alert("in code")&lt;/script&gt;'); // code blocks show the text, escaped
    expect(html).toContain('styled');

    const preview = await api(a, 'POST', '/api/knowledge-base/preview', { body: HOSTILE });
    expect(preview.json().html).toBe(html);

    const page = await get(pathOf(art.translations[0].url));
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain(html);
    expect(page.body).not.toMatch(/<script/i);
    expect(page.body).toContain('<h1>&lt;img src=x onerror=alert(0)&gt; Hostile</h1>');
    expect(page.body).toContain('content="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;"');
    // The organization's own name is escaped too; the page runs no script at all.
    expect(page.body).toContain('Acme &lt;Support&gt; &amp; Co Help Center');
    const csp = String(page.headers['content-security-policy']);
    expect(csp).toMatch(/default-src 'none'/);
    expect(csp).not.toMatch(/script-src/);
    expect(csp).toMatch(/style-src 'sha256-/);
  });
});

describe('the public help center', () => {
  let reset: Awaited<ReturnType<typeof article>>;
  let draft: Awaited<ReturnType<typeof article>>;
  let categorySlug: string;

  beforeAll(async () => {
    const cat = (await api(a, 'POST', '/api/knowledge-base/categories', { name: 'Account', position: 1 })).json();
    categorySlug = cat.slug;
    reset = await article(
      a,
      {
        en: { title: 'Resetting your password', description: 'Get back into your account', body: 'Choose **Forgot password** on the sign-in page.\n\nA link arrives by email.' },
        fr: { title: 'Réinitialiser votre mot de passe', description: 'Retrouver votre compte', body: 'Nous envoyons un lien. Vous mangerez ensuite.' },
        de: { title: 'Passwort zurücksetzen', body: 'Die Häuser sind alt, das Passwort auch.' },
        es: { title: 'Cambiar la contraseña', body: 'Escuche nuestras canciones mientras espera.' },
      },
      { categoryId: cat.id },
    );
    // Mentions the word only in its body: ranks below the title match.
    await article(a, { en: { title: 'Security overview', body: 'We never see your password. Two-factor sign-in is coming.' } }, { categoryId: cat.id });
    draft = await article(a, { en: { title: 'Unreleased password vault', body: 'Secret roadmap: password vault zebra.' } }, { publish: false });
    await article(b, { en: { title: 'Bravo password tips', body: 'Bravo only: password zebra.' } });
  });

  it('searches with ranking, highlighted snippets and stemming per locale; drafts and other organizations never appear', async () => {
    const res = await get(`/api/help/${slugA}/articles?q=password&locale=en&limit=10`);
    expect(res.statusCode).toBe(200);
    const hits = res.json().data;
    expect(hits.map((h: any) => h.title)).toEqual(['Resetting your password', 'Security overview']);
    expect(hits[0].rank).toBeGreaterThan(hits[1].rank);
    expect(hits[1].snippet).toContain('<mark>password</mark>');
    expect(pathOf(hits[0].url)).toBe(`/help/${slugA}/en/articles/resetting-your-password`);
    // English stemming: "resets" finds "Resetting".
    expect((await get(`/api/help/${slugA}/articles?q=resets&locale=en`)).json().data.map((h: any) => h.title)).toEqual(['Resetting your password']);
    // French, German and Spanish stemmers; the simple configuration does not stem.
    expect((await get(`/api/help/${slugA}/articles?q=manger&locale=fr`)).json().data).toHaveLength(1);
    expect((await get(`/api/help/${slugA}/articles?q=haus&locale=de`)).json().data).toHaveLength(1);
    expect((await get(`/api/help/${slugA}/articles?q=canci%C3%B3n&locale=es`)).json().data).toHaveLength(1);
    // Drafts: never, neither by their own words nor the shared ones.
    expect((await get(`/api/help/${slugA}/articles?q=vault&locale=en`)).json().data).toEqual([]);
    expect((await get(`/api/help/${slugA}/articles?q=zebra&locale=en`)).json().data).toEqual([]);
    // B's help center shows only B's article; A's never shows B's.
    expect((await get(`/api/help/${slugB}/articles?q=password&locale=en`)).json().data.map((h: any) => h.title)).toEqual(['Bravo password tips']);
    expect((await get(`/api/help/${slugA}/articles?q=bravo&locale=en`)).json().data).toEqual([]);
    // Malformed or hostile queries are words, never errors.
    for (const q of ["'", '"unclosed', 'a & | !', '<script>', '-', 'or or or']) {
      expect((await get(`/api/help/${slugA}/articles?q=${encodeURIComponent(q)}&locale=en`)).statusCode, q).toBe(200);
    }
    expect((await get(`/api/help/no-such-org/articles?q=password`)).statusCode).toBe(404);
    expect((await get(`/api/help/${slugA}/articles?q=`)).statusCode).toBe(400);
  });

  it('renders the search page with escaped, highlighted results', async () => {
    const page = await get(`/help/${slugA}/en/search?q=${encodeURIComponent('<password>')}`);
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('Results for “&lt;password&gt;”');
    expect(page.body).toMatch(/<a href="\/help\/acme-support-co\/en\/articles\/resetting-your-password">Resetting your <mark>password<\/mark><\/a>/);
    expect(page.body).not.toContain('Unreleased');
    expect(page.body).toContain('<meta name="robots" content="noindex">');
  });

  it('serves home, category and article pages with titles, descriptions, canonical and hreflang links', async () => {
    const root = await get(`/help/${slugA}`);
    expect(root.statusCode).toBe(302);
    expect(root.headers.location).toBe(`/help/${slugA}/en`);
    const home = await get(`/help/${slugA}/en`);
    expect(home.statusCode).toBe(200);
    expect(home.body).toContain(`<link rel="canonical" href="${t.config.publicUrl}/help/${slugA}/en">`);
    expect(home.body).toContain(`/help/${slugA}/en/categories/${categorySlug}`);
    expect(home.body).toContain('Resetting your password');
    expect(home.body).not.toContain('Unreleased');

    const cat = await get(`/help/${slugA}/en/categories/${categorySlug}`);
    expect(cat.statusCode).toBe(200);
    expect(cat.body).toContain('Security overview');

    const en = reset.translations.find((x) => x.locale === 'en')!;
    const page = await get(pathOf(en.url));
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.body).toContain('<html lang="en">');
    expect(page.body).toContain('<title>Resetting your password · Acme &lt;Support&gt; &amp; Co Help Center</title>');
    expect(page.body).toContain('<meta name="description" content="Get back into your account">');
    expect(page.body).toContain(`<link rel="canonical" href="${en.url}">`);
    for (const x of reset.translations) expect(page.body).toContain(`<link rel="alternate" hreflang="${x.locale}" href="${x.url}">`);
    const fr = await get(pathOf(reset.translations.find((x) => x.locale === 'fr')!.url));
    expect(fr.body).toContain('<html lang="fr">');
    // The help center's own words follow the page's language; the organization's name stays escaped.
    expect(fr.body).toContain('<title>Réinitialiser votre mot de passe · Centre d’aide Acme &lt;Support&gt; &amp; Co</title>');
    expect(fr.body).toContain('Cet article vous a-t-il été utile ?');
    expect(fr.body).toContain('placeholder="Rechercher des articles"');
    expect(fr.body).not.toContain('Was this article helpful?');
    const deSearch = await get(`/help/${slugA}/de/search?q=${encodeURIComponent('<haus>')}`);
    expect(deSearch.body).toContain('Ergebnisse für „&lt;haus&gt;“');
    expect((await get(`/help/${slugA}/es`)).body).toContain('¿Cómo podemos ayudarte?');
    expect((await get(`/help/${slugA}/fr/articles/no-such-article`)).body).toContain('Cette page n’existe pas.');

    expect((await get(`/help/${slugA}/en/articles/no-such-article`)).statusCode).toBe(404);
    expect((await get(`/help/no-such-org/en`)).statusCode).toBe(404);
    expect((await get(`/help/${slugA}/xx`)).statusCode).toBe(404);
  });

  it('never serves a draft, nor an article taken back, nor another organization\'s article under its slug', async () => {
    expect((await get(pathOf(draft.translations[0].url))).statusCode).toBe(404);
    const b1 = (await api(b, 'GET', '/api/knowledge-base/articles')).json().data[0];
    expect((await get(`/help/${slugA}/en/articles/${b1.translations[0].slug}`)).statusCode).toBe(404);
    expect((await get(`/help/${slugB}/en/articles/resetting-your-password`)).statusCode).toBe(404);

    const temp = await article(a, { en: { title: 'Short lived', body: 'ephemeral walrus' } });
    expect((await get(pathOf(temp.translations[0].url))).statusCode).toBe(200);
    expect((await api(a, 'POST', `/api/knowledge-base/articles/${temp.id}/unpublish`)).json().status).toBe('draft');
    expect((await get(pathOf(temp.translations[0].url))).statusCode).toBe(404);
    expect((await get(`/api/help/${slugA}/articles?q=walrus&locale=en`)).json().data).toEqual([]);
    expect((await get(`/help/${slugA}/sitemap.xml`)).body).not.toContain('short-lived');
  });

  it('lists published versions in the sitemap with hreflang alternates, and no draft', async () => {
    const res = await get(`/help/${slugA}/sitemap.xml`);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/xml/);
    const en = reset.translations.find((x) => x.locale === 'en')!;
    expect(res.body).toContain(`<loc>${en.url}</loc>`);
    for (const x of reset.translations) expect(res.body).toContain(`<xhtml:link rel="alternate" hreflang="${x.locale}" href="${x.url}"/>`);
    expect(res.body).not.toContain('unreleased-password-vault');
    expect(res.body).not.toContain('bravo');
    expect((await get(`/help/no-such-org/sitemap.xml`)).statusCode).toBe(404);
  });

  it('counts views on the article page and helpful votes from its form, rate-limited per address', async () => {
    const art = await article(a, { en: { title: 'Counting article', body: 'count me' } });
    const path = pathOf(art.translations[0].url);
    await get(path);
    await get(path);
    expect((await vote(path, 'yes')).statusCode).toBe(303);
    const back = await vote(path, 'no');
    expect(back.statusCode).toBe(303);
    expect(back.headers.location).toBe(`${path}?feedback=thanks#feedback`);
    expect((await get(`${path}?feedback=thanks`)).body).toContain('Thanks for your feedback.'); // not a view
    expect((await api(a, 'GET', `/api/knowledge-base/articles/${art.id}`)).json()).toMatchObject({ views: 2, helpful: 1, notHelpful: 1 });

    // Cross-site posts are refused; a draft or unknown article is a 404; bad values are a 400.
    expect((await vote(path, 'yes', { 'sec-fetch-site': 'cross-site' })).statusCode).toBe(403);
    expect((await vote(pathOf(draft.translations[0].url), 'yes')).statusCode).toBe(404);
    const bad = await t.app.inject({ method: 'POST', url: `${path}/feedback`, headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'same-origin' }, payload: 'helpful=maybe' });
    expect(bad.statusCode).toBe(400);

    // One address gets 20 votes per 10 minutes; another address is unaffected.
    let limited = 0;
    for (let i = 0; i < 22; i++) if ((await vote(path, 'yes', undefined, '198.51.100.9')).statusCode === 429) limited++;
    expect(limited).toBe(2);
    expect((await vote(path, 'yes', undefined, '198.51.100.10')).statusCode).toBe(303);
    expect((await api(a, 'GET', `/api/knowledge-base/articles/${art.id}`)).json().helpful).toBe(22);
  });

  it('suggests articles to the widget only from the organization asked for', async () => {
    const mine = await suggestArticles(t.db, a.organizationId, 'password', 5);
    expect(mine.map((h) => h.title)).toEqual(['Resetting your password', 'Security overview']);
    expect(mine[0].url).toBe(`/help/${slugA}/en/articles/resetting-your-password`);
    expect((await suggestArticles(t.db, b.organizationId, 'resetting', 5))).toEqual([]);
    expect((await suggestArticles(t.db, a.organizationId, 'zebra', 5))).toEqual([]);
    expect((await suggestArticles(t.db, a.organizationId, '   ', 5))).toEqual([]);
  });

  it('the reviewed search function returns nothing without a tenant, and only the tenant\'s own articles', async () => {
    const none = await t.db.withPlatform((tx) => tx.execute(sql`select * from sb_kb_search('en', 'password', 10)`));
    expect((none as any).rows).toEqual([]);
    const asB = await t.db.withTenant(b.organizationId, (tx) => tx.execute(sql`select article_id from sb_kb_search('en', 'password', 10)`));
    const bIds = (await api(b, 'GET', '/api/knowledge-base/articles')).json().data.map((x: any) => x.id);
    expect((asB as any).rows.map((r: any) => r.article_id)).toEqual(bIds);
  });

  it("answers 404 for organization B's ids on A's articles and categories API", async () => {
    const bArticle = (await api(b, 'GET', '/api/knowledge-base/articles')).json().data[0].id;
    const bCat = (await api(b, 'POST', '/api/knowledge-base/categories', { name: 'B cat' })).json().id;
    for (const [m, u, p] of [
      ['GET', `/api/knowledge-base/articles/${bArticle}`],
      ['PATCH', `/api/knowledge-base/articles/${bArticle}`, { categoryId: null }],
      ['POST', `/api/knowledge-base/articles/${bArticle}/unpublish`],
      ['DELETE', `/api/knowledge-base/articles/${bArticle}`],
      ['GET', `/api/knowledge-base/categories/${bCat}`],
      ['PATCH', `/api/knowledge-base/categories/${bCat}`, { name: 'stolen' }],
      ['DELETE', `/api/knowledge-base/categories/${bCat}`],
    ] as const) {
      expect((await api(a, m, u, p)).statusCode, `${m} ${u}`).toBe(404);
    }
    // A's article cannot be filed under B's category.
    const res = await api(a, 'POST', '/api/knowledge-base/articles', { categoryId: bCat, translations: { en: { title: 'x' } } });
    expect(res.statusCode).toBe(400);
    expect((await api(b, 'GET', `/api/knowledge-base/articles/${bArticle}`)).json().status).toBe('published');
  });
});
