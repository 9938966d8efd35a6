// The pieces the SMS and voice modules and the benches build on: the SDK rebased by TWILIO_API_BASE_URL,
// the client cache, the Twilio-shaped fake (held to Twilio's own behaviour where tests rely on it), and
// the signed-webhook helpers checked by the verifier the webhooks use.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newTwilioClient, twilioClientFor } from '../src/modules/twilio/client.js';
import { verifyTwilioSignature, webhookUrl } from '../src/modules/twilio/webhooks.js';
import { newTwilioAccount, segmentsOf, signedTwilioRequest, startFakeTwilio, twilioSignature, type FakeTwilio } from './twilio-support.js';

const accA = newTwilioAccount();
const accB = newTwilioAccount();
let fake: FakeTwilio;

/** A local server that answers every request with `answer` and remembers what it was asked. */
async function recorder(answer: (req: http.IncomingMessage, body: string) => [number, unknown]) {
  const seen: { url: string; headers: http.IncomingHttpHeaders; body: string }[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ url: req.url!, headers: req.headers, body });
      const [status, out] = answer(req, body);
      res.writeHead(status, { 'content-type': 'application/json' }).end(out === null ? '' : JSON.stringify(out));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen, close: () => new Promise((r) => server.close(r)) };
}

beforeAll(async () => {
  fake = await startFakeTwilio({ accounts: { [accA.accountSid]: accA.authToken, [accB.accountSid]: accB.authToken } });
});
afterAll(() => fake?.close());

describe('TWILIO_API_BASE_URL', () => {
  it("sends the SDK's requests to the base, path prefix kept, with Basic credentials", async () => {
    const server = await recorder(() => [200, { sid: accA.accountSid, status: 'active', friendly_name: 'Prefixed' }]);
    try {
      const client = newTwilioClient({ twilio: { apiBaseUrl: `${server.url}/twilio-proxy/` } }, accA.accountSid, accA.authToken);
      const account = await client.api.v2010.accounts(accA.accountSid).fetch();
      expect(account.friendlyName).toBe('Prefixed');
      expect(server.seen[0].url).toBe(`/twilio-proxy/2010-04-01/Accounts/${accA.accountSid}.json`);
      expect(server.seen[0].headers.authorization).toBe(`Basic ${Buffer.from(`${accA.accountSid}:${accA.authToken}`).toString('base64')}`);
    } finally {
      await server.close();
    }
  });

  it('caches one client per account and token; a new token gets a new client', () => {
    const config = { twilio: { apiBaseUrl: fake.url } };
    const first = twilioClientFor(config, accA.accountSid, accA.authToken);
    expect(twilioClientFor(config, accA.accountSid, accA.authToken)).toBe(first);
    expect(twilioClientFor(config, accA.accountSid, 'another-token-0123456789')).not.toBe(first);
    expect(twilioClientFor(config, accB.accountSid, accB.authToken)).not.toBe(first);
  });
});

describe('the Twilio-shaped fake', () => {
  const client = () => newTwilioClient({ twilio: { apiBaseUrl: fake.url } }, accA.accountSid, accA.authToken);

  it("answers messages as Twilio does: sid, queued, segments (GSM-7 160/153, UCS-2 70/67)", async () => {
    const m = await client().messages.create({ from: '+14155550100', to: '+14155552671', body: 'a'.repeat(160) });
    expect(m).toMatchObject({ sid: expect.stringMatching(/^SM[0-9a-f]{32}$/), status: 'queued', numSegments: '1', accountSid: accA.accountSid, direction: 'outbound-api' });
    expect(segmentsOf('a'.repeat(161))).toBe(2);
    expect(segmentsOf('a'.repeat(306))).toBe(2);
    expect(segmentsOf('a'.repeat(307))).toBe(3);
    expect(segmentsOf('€'.repeat(80))).toBe(1); // extension characters count twice: 160 septets
    expect(segmentsOf('é'.repeat(160))).toBe(1); // é is in the GSM basic set
    expect(segmentsOf('ć'.repeat(70))).toBe(1);
    expect(segmentsOf('ć'.repeat(71))).toBe(2);
    expect(segmentsOf('Hi 👋')).toBe(1);
  });

  it("refuses another account's resources and bad credentials with Twilio's 20003, and bad numbers with 21211", async () => {
    const wrong = newTwilioClient({ twilio: { apiBaseUrl: fake.url } }, accA.accountSid, accB.authToken);
    await expect(wrong.messages.create({ from: '+14155550100', to: '+14155552671', body: 'x' })).rejects.toMatchObject({ status: 401, code: 20003 });
    const res = await fetch(`${fake.url}/2010-04-01/Accounts/${accB.accountSid}.json`, {
      headers: { authorization: `Basic ${Buffer.from(`${accA.accountSid}:${accA.authToken}`).toString('base64')}` },
    });
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
    await expect(client().messages.create({ from: '+14155550100', to: '555', body: 'x' })).rejects.toMatchObject({ status: 400, code: 21211 });
  });

  it('holds incoming phone numbers per account: list by number, update webhooks, provision', async () => {
    const pn = fake.addNumber(accA.accountSid, '+14155550300');
    expect(await client().incomingPhoneNumbers.list({ phoneNumber: '+14155550300' })).toEqual([expect.objectContaining({ sid: pn, phoneNumber: '+14155550300' })]);
    expect(await client().incomingPhoneNumbers.list({ phoneNumber: '+14155550301' })).toEqual([]);
    const updated = await client().incomingPhoneNumbers(pn).update({ smsUrl: 'https://example.test/sms', voiceUrl: 'https://example.test/voice' });
    expect(updated).toMatchObject({ smsUrl: 'https://example.test/sms', voiceUrl: 'https://example.test/voice' });
    const bought = await client().incomingPhoneNumbers.create({ phoneNumber: '+14155550302', smsUrl: 'https://example.test/sms' });
    expect(fake.numbers(accA.accountSid).map((n) => [n.sid, n.sms_url])).toEqual([[pn, 'https://example.test/sms'], [bought.sid, 'https://example.test/sms']]);
    expect(fake.numbers(accB.accountSid)).toEqual([]);
  });
});

describe('signed webhook helpers', () => {
  const params = { AccountSid: accA.accountSid, MessageSid: `SM${'1'.repeat(32)}`, MessageStatus: 'delivered' };

  it('sign a form POST to a listening server the way the verifier accepts', async () => {
    const server = await recorder((req, body) => {
      const ok = verifyTwilioSignature(accA.authToken, req.headers['x-twilio-signature'], webhookUrl({ publicUrl: 'https://public.example.com' }, req.url!), Object.fromEntries(new URLSearchParams(body)));
      return ok ? [204, null] : [401, { error: 'bad signature' }];
    });
    try {
      // Signed over the public URL (the proxy's address), delivered to the listening one.
      const signedUrl = 'https://public.example.com/api/webhooks/sms?try=1';
      expect((await signedTwilioRequest(server.url, accA.authToken, '/api/webhooks/sms?try=1', params, { signedUrl })).statusCode).toBe(204);
      expect(server.seen[0].headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(new URLSearchParams(server.seen[0].body).get('MessageStatus')).toBe('delivered');
      // Signed over the listening URL, a different token, or a forged signature: refused.
      expect((await signedTwilioRequest(server.url, accA.authToken, '/api/webhooks/sms?try=1', params)).statusCode).toBe(401);
      expect((await signedTwilioRequest(server.url, accB.authToken, '/api/webhooks/sms?try=1', params, { signedUrl })).statusCode).toBe(401);
      expect((await signedTwilioRequest(server.url, accA.authToken, '/api/webhooks/sms?try=1', params, { signedUrl, signature: 'AAAA' })).statusCode).toBe(401);
    } finally {
      await server.close();
    }
  });

  it('sign over PUBLIC_URL + path when injecting into the app', async () => {
    let injected: any;
    const target = { app: { inject: async (o: unknown) => ((injected = o), { statusCode: 200, body: '{}', headers: {} }) }, config: { publicUrl: 'https://sb.example.com' } };
    await signedTwilioRequest(target, accA.authToken, '/api/webhooks/voice/status', params);
    expect(injected).toMatchObject({ method: 'POST', url: '/api/webhooks/voice/status', payload: new URLSearchParams(params).toString() });
    expect(injected.headers['x-twilio-signature']).toBe(twilioSignature(accA.authToken, 'https://sb.example.com/api/webhooks/voice/status', params));
  });
});
