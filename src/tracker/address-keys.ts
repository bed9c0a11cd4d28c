// The keys the tracker counts remote addresses under. `host`: one IPv4 address, or one IPv6 /64
// (a home or phone gets a whole /64, so counting single IPv6 addresses would count nothing);
// per-address limits, join rates and failed-pair memory use it. `network`: an IPv4 /24 or an
// IPv6 /64; holder keys are spread over distinct networks. Pure (string work only).

export interface AddressKeys {
  host: string;
  network: string;
}

/** The eight 16-bit groups of an IPv6 address, or null when it is not one. */
function ipv6Groups(text: string): number[] | null {
  let s = text.split('%')[0];
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  if (!s.includes(':')) return null;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
  if (v4) {
    const b = v4.slice(1).map(Number);
    if (b.some((x) => x > 255)) return null;
    s = `${s.slice(0, v4.index)}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const part = (h: string) => (h === '' ? [] : h.split(':'));
  const head = part(halves[0]);
  const tail = halves.length === 2 ? part(halves[1]) : [];
  const fill = halves.length === 2 ? 8 - head.length - tail.length : 0;
  if (fill < 0 || (halves.length === 1 && head.length !== 8)) return null;
  const groups = [...head, ...Array<string>(fill).fill('0'), ...tail];
  if (groups.length !== 8 || groups.some((g) => !/^[0-9a-fA-F]{1,4}$/.test(g))) return null;
  return groups.map((g) => parseInt(g, 16));
}

/** Keys of a remote address as the socket or a trusted proxy reports it. Unknown text is its own key. */
export function addressKeys(address: string): AddressKeys {
  const g = ipv6Groups(address);
  if (g) {
    // IPv4-mapped (::ffff:a.b.c.d) is IPv4.
    if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) return addressKeys(`${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`);
    const net = `${g.slice(0, 4).map((x) => x.toString(16)).join(':')}::/64`;
    return { host: net, network: net };
  }
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(address);
  if (v4 && v4.slice(1).every((x) => Number(x) <= 255)) {
    const [a, b, c, d] = v4.slice(1).map(Number);
    return { host: `${a}.${b}.${c}.${d}`, network: `${a}.${b}.${c}.0/24` };
  }
  return { host: address, network: address };
}
