/**
 * Webhook signature cost (issue 6): CPU time of verifying one SendGrid Event Webhook request with the
 * SDK (pure-JS ECDSA, what the route used before) and with node:crypto and a key imported once (now),
 * for a forged small request and a full-size (~760 KB) batch. No database or server needed.
 * Run alone: `npx tsx bench/webhook-verify.ts`.
 */
import { EventWebhook } from '@sendgrid/eventwebhook';
import { generateKeyPairSync, sign } from 'node:crypto';
import { importVerificationKey, verifySendgridSignature } from '../src/modules/email/destinations/sendgrid.js';
import { runIfMain, type Result } from './lib.js';

const SUITE = 'webhook-verify';

function perCall(fn: () => boolean, minMs = 1000): number {
  for (let i = 0; i < 3; i++) fn();
  let n = 0;
  const start = performance.now();
  while (performance.now() - start < minMs) {
    fn();
    n++;
  }
  return (performance.now() - start) / n;
}

export async function run(): Promise<Result[]> {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const b64 = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const sdk = new EventWebhook();
  const sdkKey = sdk.convertPublicKeyToECDSA(b64);
  const key = importVerificationKey(b64);
  const ts = String(Math.floor(Date.now() / 1000));
  const results: Result[] = [];
  for (const [label, body] of [
    ['forged 1 KB request', JSON.stringify([{ event: 'open', pad: 'x'.repeat(1000) }])],
    ['valid ~760 KB batch', JSON.stringify(Array.from({ length: 5000 }, (_, i) => ({ event: 'open', url: 'https://shop.example/a', sg_event_id: `e-${i}`, sb_message_id: '00000000-0000-4000-8000-000000000000', timestamp: 1764456000 })))],
  ] as const) {
    const signer = label.startsWith('forged') ? generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey : privateKey;
    const signature = sign('sha256', Buffer.from(ts + body), signer).toString('base64');
    const raw = Buffer.from(body);
    const expected = !label.startsWith('forged');
    if (sdk.verifySignature(sdkKey, body, signature, ts) !== expected || verifySendgridSignature(key, ts, raw, signature) !== expected) throw new Error(`${label}: verifiers disagree`);
    const before = perCall(() => sdk.verifySignature(sdkKey, body, signature, ts));
    const after = perCall(() => verifySendgridSignature(key, ts, raw, signature));
    // A forged request is the attacker's lever: the curve arithmetic dominates. A full batch is mostly hashing.
    const aim = expected ? 1 : 10;
    results.push({
      kind: 'ratio', suite: SUITE, name: `${label}: SDK / node:crypto`, value: before / after, aim: `>= ${aim}`, met: before / after >= aim,
      detail: `${before.toFixed(3)} ms → ${after.toFixed(3)} ms per verification`,
    });
  }
  return results;
}

await runIfMain(import.meta.url, run);
