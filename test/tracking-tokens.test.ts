/**
 * Tracking tokens have a lifetime (TRACKING_TOKEN_TTL_DAYS): an expired or legacy (timeless) click
 * token gets a 410 page and no redirect, an expired open records nothing; unsubscribe links never expire.
 */
import { createCipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TokenSigner, type TokenClaims } from '../src/modules/email/tokens.js';
import { createTestApp, signUpWithOrg, type Actor, type TestApp } from './helpers.js';
import { waitFor } from './email-support.js';

let t: TestApp;
let a: Actor;
let signer: TokenSigner;
let message: { id: string; organization_id: string };
const DAY = 86_400;
const now = () => Math.floor(Date.now() / 1000);

beforeAll(async () => {
  t = await createTestApp({ config: { jobs: { inProcess: true, pollMs: 50 } } });
  signer = new TokenSigner(t.config.secrets.encryptionKey);
  a = await signUpWithOrg(t.app, 'tt');
  await t.app.inject({ method: 'POST', url: '/api/customers', headers: a.headers, payload: { email: 'reader@example.com', emailOptIn: true } });
  const c = (await t.app.inject({ method: 'POST', url: '/api/email/campaigns', headers: a.headers, payload: { name: 'L', subject: 'S', html: '<p><a href="https://shop.example/x">x</a></p>' } })).json();
  await t.app.inject({ method: 'POST', url: `/api/email-campaigns/${c.id}/send`, headers: a.headers });
  await waitFor(async () => (await t.app.inject({ url: `/api/email/campaigns/${c.id}`, headers: a.headers })).json().status === 'sent');
  [message] = await t.db.owner.query<{ id: string; organization_id: string }>('select id, organization_id from email_messages where campaign_id = $1', [c.id]);
});
afterAll(() => t?.close());

const claims = (kind: TokenClaims['kind']): TokenClaims => ({ kind, organizationId: message.organization_id, messageId: message.id, link: 0 });
const state = async () => (await t.db.owner.query<{ opened_at: Date | null; clicked_at: Date | null }>('select opened_at, clicked_at from email_messages where id = $1', [message.id]))[0];

/** A token in the format mailed before tokens carried a time (no issued-at), signed with the real keys. */
function legacyToken(c: TokenClaims) {
  const ikm = Buffer.from(t.config.secrets.encryptionKey, 'utf8');
  const encKey = Buffer.from(hkdfSync('sha256', ikm, 'switchboard', 'email-token-encryption-v1', 32));
  const macKey = Buffer.from(hkdfSync('sha256', ikm, 'switchboard', 'email-token-mac-v1', 32));
  const body = Buffer.alloc(35);
  body[0] = { open: 1, click: 2, unsubscribe: 3 }[c.kind];
  Buffer.from(c.organizationId.replace(/-/g, ''), 'hex').copy(body, 1);
  Buffer.from(c.messageId.replace(/-/g, ''), 'hex').copy(body, 17);
  body.writeUInt16BE(c.link, 33);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', encKey, iv);
  const ct = Buffer.concat([cipher.update(body), cipher.final()]);
  const mac = createHmac('sha256', macKey).update(iv).update(ct).digest().subarray(0, 16);
  return Buffer.concat([iv, ct, mac]).toString('base64url');
}

describe('tracking token lifetime', () => {
  it('expired and timeless click tokens get a 410 page and no redirect; a live one redirects', async () => {
    expect(t.config.email.trackingTokenTtlDays).toBe(180);
    for (const token of [signer.sign(claims('click'), now() - 181 * DAY), legacyToken(claims('click'))]) {
      const res = await t.app.inject({ url: `/api/t/click/${token}` });
      expect(res.statusCode).toBe(410);
      expect(res.headers.location).toBeUndefined();
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).not.toContain('shop.example');
    }
    expect((await state()).clicked_at).toBeNull();
    const tampered = signer.sign(claims('click')).replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A'));
    expect((await t.app.inject({ url: `/api/t/click/${tampered}` })).statusCode).toBe(404);

    const live = await t.app.inject({ url: `/api/t/click/${signer.sign(claims('click'), now() - 179 * DAY)}` });
    expect(live.statusCode).toBe(302);
    expect(live.headers.location).toBe('https://shop.example/x');
    expect((await state()).clicked_at).not.toBeNull();
  });

  it('an expired open pixel still answers the image but records nothing', async () => {
    await t.db.owner.query('update email_messages set opened_at = null where id = $1', [message.id]);
    const old = await t.app.inject({ url: `/api/t/open/${signer.sign(claims('open'), now() - 365 * DAY)}` });
    expect(old.statusCode).toBe(200);
    expect(old.headers['content-type']).toBe('image/gif');
    expect((await state()).opened_at).toBeNull();
    await t.app.inject({ url: `/api/t/open/${signer.sign(claims('open'))}` });
    expect((await state()).opened_at).not.toBeNull();
  });

  it('unsubscribe links keep working however old they are', async () => {
    for (const token of [signer.sign(claims('unsubscribe'), now() - 3 * 365 * DAY), legacyToken(claims('unsubscribe'))]) {
      expect((await t.app.inject({ url: `/api/unsubscribe/${token}` })).statusCode).toBe(200);
    }
    const res = await t.app.inject({ method: 'POST', url: `/api/unsubscribe/${legacyToken(claims('unsubscribe'))}`, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'List-Unsubscribe=One-Click' });
    expect(res.statusCode).toBe(200);
  });

  it('the RFC 8058 one-click POST works cross-site from a browser mail client; cookie routes keep the CSRF check', async () => {
    const token = signer.sign(claims('unsubscribe'));
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/unsubscribe/${token}`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'sec-fetch-site': 'cross-site', origin: 'https://mail.example' },
      payload: 'List-Unsubscribe=One-Click',
    });
    expect(res.statusCode, res.body).toBe(200);
    const signIn = await t.app.inject({ method: 'POST', url: '/api/auth/sign-in', headers: { origin: 'https://mail.example' }, payload: { email: a.email, password: 'correct horse battery' } });
    expect(signIn.statusCode).toBe(403);
    const create = await t.app.inject({ method: 'POST', url: '/api/customers', headers: { ...a.headers, 'sec-fetch-site': 'cross-site' }, payload: { email: 'csrf@example.com' } });
    expect(create.statusCode).toBe(403);
  });
});
