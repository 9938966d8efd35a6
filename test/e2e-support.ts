// End-to-end support: the real server (buildServer on port 0, the test database, the built
// dashboard in dist/web) and Debian's Chromium driven by playwright-core; axe for accessibility.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect, type TestContext } from 'vitest';
import type { Config } from '../src/config.js';
import { createTestApp, TEST_PASSWORD, type TestApp } from './helpers.js';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const hasChromium = existsSync(CHROMIUM);
export const SCREENSHOTS = path.join(import.meta.dirname, '..', 'artifacts', 'screenshots');

export interface E2E {
  t: TestApp;
  baseUrl: string;
  browser: Browser;
  close(): Promise<void>;
}

/** A port nobody listens on now (for a server whose configuration must name its own URL). */
async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * The server and a browser. `config` adds to the test configuration (e.g. `twilio: { apiBaseUrl }` for a
 * local Twilio stand-in); as a function of the server's own address (PUBLIC_URL for OAuth callbacks),
 * the port is chosen before the server starts.
 */
export async function startE2E(config: Partial<Config> | ((baseUrl: string) => Partial<Config>) = {}): Promise<E2E> {
  const port = typeof config === 'function' ? await freePort() : 0;
  const extra = typeof config === 'function' ? config(`http://127.0.0.1:${port}`) : config;
  const t = await createTestApp({ config: { jobs: { inProcess: true, pollMs: 100 }, ...extra } });
  await t.app.listen({ port, host: '127.0.0.1' });
  const address = t.app.server.address();
  if (!address || typeof address === 'string') throw new Error('no port');
  const baseUrl = `http://127.0.0.1:${address.port}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'],
  });
  mkdirSync(SCREENSHOTS, { recursive: true });
  return {
    t,
    baseUrl,
    browser,
    async close() {
      await browser.close();
      await t.close();
    },
  };
}

/** A fresh browser profile (its own cookies) that records every CSP violation and page error. */
export async function newUser(e: E2E) {
  const context = await e.browser.newContext({ baseURL: e.baseUrl, viewport: { width: 1280, height: 860 } });
  context.setDefaultTimeout(10_000);
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    // Images in an email shown by the outbox viewer (the open pixel, remote pictures) are refused by
    // design: looking at the outbox must not record an open or call anyone. Anything else is a fault.
    if (m.type() === 'error' && /Content Security Policy|Refused to/i.test(m.text()) && !/^Loading the image .* "img-src 'self' data:"/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  return { context, page, problems };
}

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeResult {
  violations: { id: string; impact: string | null; help: string; nodes: { target: string[] }[] }[];
}

/**
 * axe-core on the page as it is: no serious or critical violation. Injected through the DevTools
 * protocol (page.evaluate, which the page's CSP does not govern) and run on our document only: the
 * sandboxed frames showing email content run no script, so axe cannot enter them (and
 * @axe-core/playwright waits for them forever).
 */
/** Opens a dashboard page and waits for its heading (the lazy page has loaded). */
export async function goto(page: Page, url: string) {
  await page.goto(url);
  await page.getByRole('heading', { level: 1 }).first().waitFor();
}

export async function expectAccessible(page: Page, label: string) {
  await page.evaluate(axeSource);
  const result = (await page.evaluate(() => (window as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<unknown> } }).axe.run(document, { iframes: false, resultTypes: ['violations'] }))) as AxeResult;
  const bad = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${label}: ${v.id} (${v.impact}) ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`);
  expect(bad).toEqual([]);
}

/** What the user sees in the window (the sidebar is fixed, so a full-page capture would misplace it). */
export async function screenshot(page: Page, name: string) {
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`) });
}

/** Signs up through the dashboard's form, creating the organization, and waits for its home page. */
export async function signUp(page: Page, who: { name: string; email: string; org: string }) {
  await page.goto('/sign-up');
  await page.getByLabel('Your name').fill(who.name);
  await page.getByLabel('Work email').fill(who.email);
  await page.getByLabel('Password').fill(TEST_PASSWORD);
  await page.getByLabel('Organization name').fill(who.org);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { level: 1, name: who.org }).waitFor();
}

/**
 * After a failed test, where each browser was: its URL, the page's text and any CSP violation or page
 * error in the log, and a picture (`failed-<label>-<who>-<test>.png`).
 */
export async function screenshotsOnFailure(ctx: TestContext, label: string, users: Record<string, { page: Page; problems: string[] } | undefined>) {
  if (ctx.task.result?.state !== 'fail') return;
  const test = ctx.task.name.slice(0, 30).replace(/\W+/g, '-');
  for (const [who, u] of Object.entries(users)) {
    if (!u) continue;
    const text = await u.page.evaluate(() => document.querySelector('main')?.innerText ?? document.body.innerText).catch((err) => String(err));
    console.log(`${label} ${who} at ${u.page.url()}:\n${text}\nproblems: ${u.problems.join('; ') || 'none'}`);
    await screenshot(u.page, `failed-${label}-${who}-${test}`).catch(() => {});
  }
}
