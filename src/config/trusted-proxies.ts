/**
 * TRUSTED_PROXIES: the load balancers whose word on the client's address the
 * gateway takes (X-Forwarded-For, the PROXY protocol header). A list of IPv4 /
 * IPv6 addresses and CIDR ranges, plus proxy-addr's names `loopback`,
 * `linklocal` and `uniquelocal` (what fastify's trustProxy accepts). Parsed
 * once at start-up into a node:net BlockList; empty: nobody is trusted, and the
 * client is the socket's peer.
 */
import { BlockList, isIP } from 'node:net';

export interface TrustedProxies {
  /** The items as given (for logs and /ready). */
  readonly items: readonly string[];
  /** Whether a peer at this address may speak for the client (false for anything that is not an IP address). */
  trusts(address: string | undefined): boolean;
}

const NAMED: Record<string, ReadonlyArray<[string, number, 'ipv4' | 'ipv6']>> = {
  loopback: [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']],
  linklocal: [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']],
  uniquelocal: [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['fc00::', 7, 'ipv6']],
};

export const NOBODY_TRUSTED: TrustedProxies = { items: [], trusts: () => false };

/** Parses the list; throws a RangeError naming the bad item. */
export function parseTrustedProxies(value: string): TrustedProxies {
  const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (items.length === 0) return NOBODY_TRUSTED;
  const list = new BlockList();
  for (const item of items) {
    const named = NAMED[item.toLowerCase()];
    if (named) {
      for (const [net, prefix, type] of named) list.addSubnet(net, prefix, type);
      continue;
    }
    const [address = '', prefix, ...more] = item.split('/');
    const family = isIP(address);
    if (family === 0 || more.length > 0) throw new RangeError(`"${item}" is not an IP address, a CIDR range (10.0.0.0/24, fd00::/8) or one of ${Object.keys(NAMED).join(', ')}`);
    const type = family === 4 ? 'ipv4' : 'ipv6';
    if (prefix === undefined) {
      list.addAddress(address, type);
      continue;
    }
    const bits = family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > bits) throw new RangeError(`"${item}": the prefix length must be 0 to ${bits}`);
    list.addSubnet(address, Number(prefix), type);
  }
  return {
    items,
    trusts(address) {
      if (!address) return false;
      // A dual-stack listener (HOST=::) sees IPv4 peers as ::ffff:a.b.c.d.
      const plain = unmapped(address);
      const family = isIP(plain);
      return family !== 0 && list.check(plain, family === 4 ? 'ipv4' : 'ipv6');
    },
  };
}

/** The matcher of checked items (Config's proxies.trusted). */
export function trustedProxies(items: readonly string[]): TrustedProxies {
  return parseTrustedProxies(items.join(','));
}

/** ::ffff:10.0.0.5 → 10.0.0.5; anything else as it is. */
export function unmapped(address: string): string {
  return address.toLowerCase().startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}
