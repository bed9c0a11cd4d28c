import { describe, expect, it } from 'vitest';
import { expectCode } from '../expect-code.ts';
import { DEFAULT_TRANSPORT_CONFIG, resolveTransportConfig } from './transport-config.ts';

const rejects = (partial: unknown, fragment: string) => {
  expectCode(() => resolveTransportConfig(partial as never), 'TRANSPORT_BAD_CONFIG');
  expect(() => resolveTransportConfig(partial as never)).toThrow(fragment);
};

describe('resolveTransportConfig', () => {
  it('fills the documented defaults', () => {
    const c = resolveTransportConfig();
    expect(c).toEqual(DEFAULT_TRANSPORT_CONFIG);
    expect(c.maxMediaMessageBytes).toBe(1163);
    expect(c.mediaHighWaterBytes).toBe(8 * 1163);
    expect(c.iceServers).toEqual([]);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('keeps given values and ignores undefined ones', () => {
    const c = resolveTransportConfig({ connectTimeoutMs: 2000, maxPeers: undefined });
    expect(c.connectTimeoutMs).toBe(2000);
    expect(c.maxPeers).toBe(DEFAULT_TRANSPORT_CONFIG.maxPeers);
  });

  it('names the field, the range and the value of a bad number', () => {
    rejects({ connectTimeoutMs: -1 }, 'connectTimeoutMs must be an integer from 100 to 600000 (got -1)');
    rejects({ maxMediaMessageBytes: 1164 }, 'maxMediaMessageBytes must be an integer from 1 to 1163 (got 1164)');
    rejects({ maxControlMessageBytes: 1.5 }, 'maxControlMessageBytes');
    rejects({ stallTimeoutMs: Number.NaN }, 'stallTimeoutMs');
    rejects({ maxPeers: '3' }, 'maxPeers');
  });

  it('rejects unknown keys and inconsistent combinations', () => {
    rejects({ connectTimeout: 5 }, 'unknown option "connectTimeout"');
    rejects({ mediaHighWaterBytes: 1000 }, 'mediaHighWaterBytes (1000) must be at least maxMediaMessageBytes (1163)');
    rejects({ mediaLowWaterBytes: 9304 }, 'mediaLowWaterBytes (9304) must be below mediaHighWaterBytes (9304)');
    rejects({ controlHighWaterBytes: 1000 }, 'controlHighWaterBytes (1000) must be at least maxControlMessageBytes');
    rejects({ controlLowWaterBytes: 2 ** 20 }, 'controlLowWaterBytes');
    rejects({ maxPeers: 4, maxPendingConnections: 5 }, 'maxPendingConnections (5) must not exceed maxPeers (4)');
    rejects({ acceptInbound: 'yes' }, 'acceptInbound must be a boolean');
    rejects(null, 'config must be an object');
  });

  it('checks STUN and TURN servers', () => {
    const c = resolveTransportConfig({
      iceServers: [{ urls: 'stun:stun.example.org:3478' }, { urls: ['turn:turn.example.org'], username: 'u', credential: 'p' }],
      iceTransportPolicy: 'relay',
    });
    expect(c.iceServers[0]).toEqual({ urls: ['stun:stun.example.org:3478'] });
    rejects({ iceServers: [{ urls: 'http://x' }] }, 'expected stun:, stuns:, turn: or turns: URLs');
    rejects({ iceServers: [{ urls: [] }] }, 'iceServers[0].urls must be a URL or a non-empty array');
    rejects({ iceServers: [{ urls: 'turn:t.example.org' }] }, 'iceServers[0] is a TURN server and needs a username');
    rejects({ iceServers: 'stun:x' }, 'iceServers must be an array');
    // Relay-only without a TURN server yet: the tracker hands the servers out after joining.
    expect(resolveTransportConfig({ iceTransportPolicy: 'relay' }).iceTransportPolicy).toBe('relay');
    rejects({ iceTransportPolicy: 'none' }, 'iceTransportPolicy must be "all" or "relay"');
  });
});
