import { describe, expect, it } from 'vitest';
import { addressKeys } from './address-keys.ts';

describe('address keys', () => {
  it('counts IPv4 by address (spread by /24) and IPv6 by /64, mapped IPv4 as IPv4', () => {
    expect(addressKeys('203.0.113.7')).toEqual({ host: '203.0.113.7', network: '203.0.113.0/24' });
    expect(addressKeys('::ffff:203.0.113.7')).toEqual(addressKeys('203.0.113.7'));
    expect(addressKeys('::ffff:cb00:7107')).toEqual(addressKeys('203.0.113.7'));
    const a = addressKeys('2001:db8:1:2::1');
    expect(a).toEqual({ host: '2001:db8:1:2::/64', network: '2001:db8:1:2::/64' });
    expect(addressKeys('2001:0db8:0001:0002:ffff:0:0:9')).toEqual(a);
    expect(addressKeys('[2001:db8:1:2:aaaa:bbbb:cccc:dddd]')).toEqual(a);
    expect(addressKeys('2001:db8:1:3::1').host).not.toBe(a.host);
    expect(addressKeys('::1').host).toBe('0:0:0:0::/64');
    // Not an address: its own key, never merged with another.
    expect(addressKeys('unknown')).toEqual({ host: 'unknown', network: 'unknown' });
    expect(addressKeys('1:2:3').host).toBe('1:2:3');
    expect(addressKeys('300.1.1.1').host).toBe('300.1.1.1');
  });
});
