import { expect } from 'vitest';
import type { App, DnsResolver } from '../src/http/types.js';

/** A DNS that answers TXT lookups from a map, as `node:dns` does (long values in 255-byte strings). */
export function fakeDns() {
  const records = new Map<string, string[][]>();
  const resolver: DnsResolver = {
    async resolveTxt(name) {
      const found = records.get(name.toLowerCase());
      if (!found) throw Object.assign(new Error(`queryTxt ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
      return found;
    },
  };
  const publish = (name: string, value: string) => {
    const chunks = value.match(/.{1,255}/g) ?? [''];
    records.set(name.toLowerCase(), [...(records.get(name.toLowerCase()) ?? []), chunks]);
  };
  return { records, resolver, publish };
}
export type FakeDns = ReturnType<typeof fakeDns>;

/** Adds a sender domain through the API, publishes its records in the fake DNS and verifies it. */
export async function verifiedDomain(app: App, headers: Record<string, string>, dns: FakeDns, domain: string) {
  const add = await app.inject({ method: 'POST', url: '/api/senders/domains', headers, payload: { domain } });
  expect(add.statusCode, add.body).toBe(201);
  for (const r of add.json().records) dns.publish(r.name, r.value);
  const res = await app.inject({ method: 'POST', url: `/api/senders/domains/${add.json().id}/verify`, headers });
  expect(res.statusCode, res.body).toBe(200);
  expect(res.json().status).toBe('verified');
  return res.json();
}
