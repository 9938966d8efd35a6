import { lookup as dnsLookup } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where a tenant's webhook may connect. Deliveries resolve the endpoint's host themselves, refuse it
 * when ANY address is not public, and connect to the address that was checked (the agent's `lookup`
 * hands back exactly that one), so a DNS answer that changes between check and connect (rebinding)
 * has nothing to change. Redirects are never followed. Ranges in WEBHOOK_ALLOW_PRIVATE_RANGES are
 * let through (tests, on-premises receivers).
 */
const REFUSED: [string, number, 'ipv4' | 'ipv6'][] = [
  ['0.0.0.0', 8, 'ipv4'], // "this network", unspecified
  ['10.0.0.0', 8, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'], // CGNAT (and Alibaba's metadata 100.100.100.200)
  ['127.0.0.0', 8, 'ipv4'],
  ['169.254.0.0', 16, 'ipv4'], // link-local, the cloud metadata address 169.254.169.254
  ['172.16.0.0', 12, 'ipv4'],
  ['192.0.0.0', 24, 'ipv4'], // IETF protocol assignments
  ['192.0.2.0', 24, 'ipv4'],
  ['192.88.99.0', 24, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['198.18.0.0', 15, 'ipv4'], // benchmarking
  ['198.51.100.0', 24, 'ipv4'],
  ['203.0.113.0', 24, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'], // multicast
  ['240.0.0.0', 4, 'ipv4'], // reserved, broadcast
  ['::', 128, 'ipv6'], // unspecified
  ['::1', 128, 'ipv6'], // loopback
  ['64:ff9b::', 96, 'ipv6'], // NAT64: would reach an embedded IPv4 address
  ['64:ff9b:1::', 48, 'ipv6'],
  ['100::', 64, 'ipv6'], // discard
  ['2001:db8::', 32, 'ipv6'], // documentation
  ['2002::', 16, 'ipv6'], // 6to4: embeds an IPv4 address
  ['fc00::', 7, 'ipv6'], // unique local (AWS metadata fd00:ec2::254)
  ['fe80::', 10, 'ipv6'], // link-local
  ['fec0::', 10, 'ipv6'], // site-local (deprecated)
  ['ff00::', 8, 'ipv6'], // multicast
];

const refused = new BlockList();
for (const [net, prefix, type] of REFUSED) refused.addSubnet(net, prefix, type);

/** IPv4-mapped (::ffff:a.b.c.d, ::ffff:7f00:1) and IPv4-compatible IPv6 addresses, as the IPv4 address they are. */
function embeddedIpv4(address: string): string | null {
  const m = /^(?:0{0,4}:){0,5}(?:(?:0{0,4}|ffff):)?(\d+\.\d+\.\d+\.\d+)$/i.exec(address) ?? null;
  if (m && isIP(m[1]) === 4) return m[1];
  const h = /^(?:0{0,4}:){0,5}(?:0{0,4}|ffff):([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address) ?? /^::(?:ffff:)?([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (h) {
    const hi = parseInt(h[1], 16);
    const lo = parseInt(h[2], 16);
    return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
  }
  return null;
}

export class AddressPolicy {
  private readonly allowed = new BlockList();
  readonly allowsPrivate: boolean;

  /** `allow`: CIDRs such as 127.0.0.0/8 or fd00::/8; a malformed one throws at boot. */
  constructor(allow: readonly string[]) {
    for (const cidr of allow) {
      const [net, bits] = cidr.split('/');
      const type = isIP(net);
      const prefix = bits === undefined ? (type === 6 ? 128 : 32) : Number(bits);
      if (!type || !Number.isInteger(prefix) || prefix < 0 || prefix > (type === 6 ? 128 : 32)) {
        throw new Error(`WEBHOOK_ALLOW_PRIVATE_RANGES: ${cidr} is not a CIDR range`);
      }
      this.allowed.addSubnet(net, prefix, type === 6 ? 'ipv6' : 'ipv4');
    }
    this.allowsPrivate = allow.length > 0;
  }

  /** Why an address may not be reached, or null when it may. */
  refusal(address: string): string | null {
    const type = isIP(address);
    if (!type) return `${address} is not an IP address`;
    const v4 = type === 6 ? embeddedIpv4(address) : address;
    const check = v4 ?? address;
    const family = v4 ? 'ipv4' : 'ipv6';
    if (this.allowed.check(check, family) || (v4 !== address && this.allowed.check(address, 'ipv6'))) return null;
    if (refused.check(check, family)) return `${address} is a private, loopback, link-local or reserved address`;
    return null;
  }

  /**
   * A `lookup` for http(s) agents: resolves the host, refuses it when any address is refused, and
   * answers with the first address only, so the socket connects to what was checked.
   */
  lookup(resolve: typeof dnsLookup = dnsLookup): LookupFunction {
    return (hostname, options, callback) => {
      resolve(hostname, { all: true, verbatim: true }, (err, addresses) => {
        if (err) return callback(err, '', 0);
        const list = addresses as unknown as { address: string; family: number }[];
        if (!list.length) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '', 0);
        for (const a of list) {
          const why = this.refusal(a.address);
          if (why) return callback(Object.assign(new Error(`refused: ${hostname} resolves to ${why}`), { code: 'EREFUSEDADDRESS' }), '', 0);
        }
        const chosen = list[0];
        if ((options as { all?: boolean }).all) (callback as any)(null, [chosen]);
        else callback(null, chosen.address, chosen.family);
      });
    };
  }
}

/** An endpoint URL's problem at registration (syntax, scheme, credentials, a literal refused address), or null. */
export function urlProblem(raw: string, policy: AddressPolicy): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return 'Not a valid URL';
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && policy.allowsPrivate)) return 'The URL must use https';
  if (u.username || u.password) return 'The URL must not carry credentials';
  if (!u.hostname) return 'The URL has no host';
  const host = u.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) {
    const why = policy.refusal(host);
    if (why) return `Refused: ${why}`;
  } else if (/^(localhost|.*\.localhost|.*\.local|.*\.internal)$/i.test(host) && !policy.allowsPrivate) {
    return `Refused: ${host} is a local host name`;
  }
  return null;
}
