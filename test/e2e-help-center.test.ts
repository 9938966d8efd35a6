// The help center in a real browser: an organization's address (slug) set in its settings, an article written
// in the dashboard (Markdown with the sanitized preview, a second locale, a category), published, found on the
// public help center by a word of its body, voted helpful; the counts back in the dashboard; another
// organization's help center never shows it. axe on every new page, and no CSP violation anywhere.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type E2E, expectAccessible, goto, hasChromium, newUser, screenshot, screenshotsOnFailure, startE2E } from './e2e-support.js';
import { signUpWithOrg, type Actor } from './helpers.js';

let e: E2E;
let a: Awaited<ReturnType<typeof newUser>>;
let visitor: Awaited<ReturnType<typeof newUser>>;
let owner: Actor;
let other: Actor;

beforeAll(async () => {
  if (!hasChromium && !process.env.CI) return;
  e = await startE2E();
  a = await newUser(e);
  visitor = await newUser(e);
  owner = await signUpWithOrg(e.t.app, 'help-e2e', 'Flamingo Works');
  other = await signUpWithOrg(e.t.app, 'help-e2e-b', 'Other Org');
  const [name, value] = owner.cookie.split(';')[0].split('=');
  await a.context.addCookies([{ name, value, url: e.baseUrl }]);
  // Organization B has a published article of its own.
  const res = await e.t.app.inject({ method: 'POST', url: '/api/knowledge-base/articles', headers: other.headers, payload: { translations: { en: { title: 'Other org guide', body: 'Only for B.' } } } });
  await e.t.app.inject({ method: 'POST', url: `/api/knowledge-base/articles/${res.json().id}/publish`, headers: other.headers });
});
afterEach((ctx) => screenshotsOnFailure(ctx, 'help-center', { a, visitor }));
afterAll(async () => {
  await e?.close();
});

describe.skipIf(!hasChromium && !process.env.CI)('help center (Chromium)', () => {
  it('sets the address, writes and publishes an article, finds it publicly by a body word, votes, and keeps it out of another organization', async () => {
    // Organization settings: rename and a new slug.
    await goto(a.page, '/settings/organization');
    await a.page.getByLabel('Organization name').fill('Flamingo Works Ltd');
    await a.page.getByLabel('URL slug').fill('flamingo');
    await a.page.getByRole('button', { name: 'Save' }).click();
    await a.page.getByRole('heading', { level: 2, name: 'Flamingo Works Ltd' }).waitFor();
    await a.page.getByRole('link', { name: '/help/flamingo' }).waitFor();
    await expectAccessible(a.page, 'organization settings');

    // A category, then an article.
    await goto(a.page, '/help-center');
    await a.page.getByText('No articles').waitFor();
    await a.page.getByLabel('Category name').fill('Getting started');
    await a.page.getByRole('button', { name: 'Add category' }).click();
    await a.page.getByText('/getting-started').waitFor();
    await expectAccessible(a.page, 'help center list');

    await a.page.getByRole('link', { name: 'New article' }).click();
    await a.page.getByRole('heading', { level: 1, name: 'New article' }).waitFor();
    await a.page.getByLabel('Title (en)').fill('Pairing your device');
    await a.page.getByLabel('Description').fill('Connect in two minutes');
    await a.page.getByLabel('Category').selectOption({ label: 'Getting started' });
    await a.page.getByLabel('Body (Markdown)').fill('Hold the **button** until the light blinks.\n\nThe xylophone tone confirms pairing.\n\n<script>alert(1)</script>');
    await a.page.getByRole('button', { name: 'Preview' }).click();
    const frame = a.page.frameLocator('iframe[title="Article preview"]');
    await frame.getByText('The xylophone tone confirms pairing.').waitFor();
    expect(await frame.locator('script').count()).toBe(0);
    await a.page.getByRole('button', { name: 'Save draft' }).click();
    await a.page.waitForURL(/\/help-center\/[0-9a-f-]{36}$/);

    // A French version.
    await a.page.getByLabel('Add a locale').fill('fr');
    await a.page.getByRole('button', { name: 'Add locale' }).click();
    await a.page.getByLabel('Title (fr)').fill('Appairer votre appareil');
    await a.page.getByLabel('Body (Markdown)').fill('Maintenez le bouton appuyé.');
    await a.page.getByRole('button', { name: 'Save', exact: true }).click();
    await a.page.getByText('Saved.').waitFor();
    await a.page.getByRole('button', { name: 'Publish' }).click();
    await a.page.getByRole('button', { name: 'Unpublish' }).waitFor();
    await expectAccessible(a.page, 'article editor');
    await screenshot(a.page, 'help-center-editor');

    // The public help center, as a visitor without a session.
    await goto(visitor.page, '/help/flamingo');
    expect(new URL(visitor.page.url()).pathname).toBe('/help/flamingo/en');
    await visitor.page.getByRole('link', { name: 'Getting started' }).waitFor();
    await expectAccessible(visitor.page, 'help center home');
    await visitor.page.getByLabel('Search the help center').fill('xylophone');
    await visitor.page.getByRole('button', { name: 'Search' }).click();
    await visitor.page.getByRole('heading', { level: 1, name: 'Results for “xylophone”' }).waitFor();
    expect(await visitor.page.locator('mark', { hasText: 'xylophone' }).count()).toBeGreaterThan(0);
    await expectAccessible(visitor.page, 'help center search');
    await visitor.page.getByRole('link', { name: 'Pairing your device' }).click();
    await visitor.page.getByRole('heading', { level: 1, name: 'Pairing your device' }).waitFor();
    expect(await visitor.page.title()).toBe('Pairing your device · Flamingo Works Ltd Help Center');
    expect(await visitor.page.locator('link[rel="alternate"][hreflang="fr"]').count()).toBe(1);
    expect(await visitor.page.locator('article script').count()).toBe(0);
    await expectAccessible(visitor.page, 'help center article');
    await visitor.page.getByRole('button', { name: 'Yes' }).click();
    await visitor.page.getByText('Thanks for your feedback.').waitFor();
    await screenshot(visitor.page, 'help-center-article');

    // The counts in the dashboard.
    await a.page.reload();
    await a.page.getByLabel('Article counts').getByText('Views').waitFor();
    const counts = await a.page.getByLabel('Article counts').innerText();
    expect(counts).toMatch(/Views\s*1/);
    expect(counts).toMatch(/Helpful\s*1/);

    // Another organization's help center: not there, by search nor by address.
    const otherSlug = (await e.t.app.inject({ method: 'GET', url: '/api/organizations/current', headers: other.headers })).json().slug;
    await goto(visitor.page, `/help/${otherSlug}/en/search?q=xylophone`);
    await visitor.page.getByText('No article matches these words.').waitFor();
    await goto(visitor.page, `/help/${otherSlug}/en`);
    await visitor.page.getByRole('link', { name: 'Other org guide' }).waitFor();
    expect(await visitor.page.getByText('Pairing your device').count()).toBe(0);
    const direct = await visitor.page.goto(`/help/${otherSlug}/en/articles/pairing-your-device`);
    expect(direct?.status()).toBe(404);

    expect(a.problems).toEqual([]);
    expect(visitor.problems).toEqual([]);
  });
});
