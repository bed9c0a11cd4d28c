// The transport's bounds at their edges: every numeric option at its least and greatest allowed
// value and one past each, and the consistency rules between options where the two sides meet.
// Pure: resolveTransportConfig only.
import { describe, expect, it } from 'vitest';
import { expectCode } from '../expect-code.ts';
import { DEFAULT_TRANSPORT_CONFIG, resolveTransportConfig, type TransportConfig } from './transport-config.ts';

/** [option, least allowed, greatest allowed], with the other options chosen so that both ends are consistent. */
const RANGES: Array<[keyof TransportConfig, number, number, Partial<TransportConfig>]> = [
  ['connectTimeoutMs', 100, 600_000, {}],
  ['stallTimeoutMs', 100, 600_000, {}],
  ['maxPeers', 1, 1000, { maxPendingConnections: 1 }],
  ['maxPendingConnections', 1, 1000, { maxPeers: 1000 }],
  ['maxMediaMessageBytes', 1, 1163, {}],
  ['maxControlMessageBytes', 1, 256 * 1024, { controlHighWaterBytes: 1024 * 1024 }],
  ['mediaHighWaterBytes', 1163, 16 * 1024 * 1024, { mediaLowWaterBytes: 0 }],
  ['mediaLowWaterBytes', 0, 16 * 1024 * 1024 - 1, { mediaHighWaterBytes: 16 * 1024 * 1024 }],
  ['controlHighWaterBytes', 64 * 1024, 16 * 1024 * 1024, { controlLowWaterBytes: 0 }],
  ['controlLowWaterBytes', 0, 16 * 1024 * 1024 - 1, { controlHighWaterBytes: 16 * 1024 * 1024 }],
  ['maxSdpBytes', 256, 1024 * 1024, {}],
  ['maxCandidatesPerPeer', 1, 10_000, {}],
];

/** The range check's own bounds (where no consistency rule is tighter). */
const HARD: Partial<Record<keyof TransportConfig, [number, number]>> = {
  connectTimeoutMs: [100, 600_000],
  stallTimeoutMs: [100, 600_000],
  maxPeers: [1, 1000],
  maxPendingConnections: [1, 1000],
  maxMediaMessageBytes: [1, 1163],
  maxControlMessageBytes: [1, 256 * 1024],
  mediaHighWaterBytes: [1, 16 * 1024 * 1024],
  mediaLowWaterBytes: [0, 16 * 1024 * 1024],
  controlHighWaterBytes: [1, 16 * 1024 * 1024],
  controlLowWaterBytes: [0, 16 * 1024 * 1024],
  maxSdpBytes: [256, 1024 * 1024],
  maxCandidatesPerPeer: [1, 10_000],
};

describe('transport options at their bounds', () => {
  it.each(RANGES)('%s: %i and %i are taken', (key, least, greatest, others) => {
    expect(resolveTransportConfig({ ...others, [key]: least })[key]).toBe(least);
    expect(resolveTransportConfig({ ...others, [key]: greatest })[key]).toBe(greatest);
  });

  it.each(Object.entries(HARD))('%s: one below and one above its range are TRANSPORT_BAD_CONFIG naming it', (key, range) => {
    const [min, max] = range as [number, number];
    for (const v of [min - 1, max + 1]) {
      expectCode(() => resolveTransportConfig({ [key]: v }), 'TRANSPORT_BAD_CONFIG');
      expect(() => resolveTransportConfig({ [key]: v })).toThrow(`${key} must be an integer from ${min} to ${max} (got ${v})`);
    }
  });

  it('refuses what is not a finite integer, whatever its size', () => {
    for (const v of [1.5, Number.NaN, Number.POSITIVE_INFINITY, '64', null, true]) {
      expectCode(() => resolveTransportConfig({ maxPeers: v as number }), 'TRANSPORT_BAD_CONFIG');
    }
  });

  it('takes maxPendingConnections equal to maxPeers, and one more is refused', () => {
    expect(resolveTransportConfig({ maxPeers: 5, maxPendingConnections: 5 }).maxPendingConnections).toBe(5);
    expectCode(() => resolveTransportConfig({ maxPeers: 5, maxPendingConnections: 6 }), 'TRANSPORT_BAD_CONFIG');
  });

  it('takes a high-water mark equal to the largest message and a low-water mark one below the high one', () => {
    const c = resolveTransportConfig({ maxMediaMessageBytes: 1000, mediaHighWaterBytes: 1000, mediaLowWaterBytes: 999, maxControlMessageBytes: 5000, controlHighWaterBytes: 5000, controlLowWaterBytes: 4999 });
    expect([c.mediaHighWaterBytes, c.mediaLowWaterBytes, c.controlHighWaterBytes, c.controlLowWaterBytes]).toEqual([1000, 999, 5000, 4999]);
    expect(() => resolveTransportConfig({ maxMediaMessageBytes: 1000, mediaHighWaterBytes: 999, mediaLowWaterBytes: 0 })).toThrow('mediaHighWaterBytes (999) must be at least maxMediaMessageBytes (1000)');
    expect(() => resolveTransportConfig({ maxControlMessageBytes: 5000, controlHighWaterBytes: 4999, controlLowWaterBytes: 0 })).toThrow('controlHighWaterBytes (4999) must be at least maxControlMessageBytes (5000)');
    expect(() => resolveTransportConfig({ mediaHighWaterBytes: 2000, mediaLowWaterBytes: 2000 })).toThrow('mediaLowWaterBytes (2000) must be below mediaHighWaterBytes (2000)');
    expect(() => resolveTransportConfig({ controlHighWaterBytes: 70_000, controlLowWaterBytes: 70_000 })).toThrow('controlLowWaterBytes (70000) must be below controlHighWaterBytes (70000)');
  });

  it('refuses a config that is not an object, and a listener hook that is not a function', () => {
    for (const v of [null, 7, 'x']) expectCode(() => resolveTransportConfig(v as never), 'TRANSPORT_BAD_CONFIG');
    expect(() => resolveTransportConfig({ onListenerError: 'log' as never })).toThrow('onListenerError must be a function');
    const hook = () => {};
    expect(resolveTransportConfig({ onListenerError: hook }).onListenerError).toBe(hook);
    expect(resolveTransportConfig({ acceptInbound: false }).acceptInbound).toBe(false);
    expect(resolveTransportConfig()).toEqual(DEFAULT_TRANSPORT_CONFIG);
  });
  it('hands a TURN server on with its credentials, and refuses malformed servers', () => {
    const turn = { urls: ['turn:t.example.org:3478', 'stun:s.example.org'], username: 'u', credential: 'p' };
    expect(resolveTransportConfig({ iceServers: [turn] }).iceServers).toEqual([turn]);
    expect(resolveTransportConfig({ iceServers: [{ urls: 'stun:s.example.org', username: 'u' }] }).iceServers).toEqual([{ urls: ['stun:s.example.org'], username: 'u' }]);
    expect(resolveTransportConfig({ iceServers: [{ urls: 'stun:s.example.org', credential: 'p' }] }).iceServers).toEqual([{ urls: ['stun:s.example.org'], credential: 'p' }]);
    expect(() => resolveTransportConfig({ iceServers: [null as never] })).toThrow('iceServers[0] must be an object');
    expect(() => resolveTransportConfig({ iceServers: ['stun:x' as never] })).toThrow('iceServers[0] must be an object');
    expect(() => resolveTransportConfig({ iceServers: [{ urls: 'stun:s.example.org', username: 5 as never }] })).toThrow('iceServers[0].username must be a string');
    for (const url of ['xstun:s.example.org', 'stun:s.example.org x', 'stun:', 7]) {
      expectCode(() => resolveTransportConfig({ iceServers: [{ urls: [url as string] }] }), 'TRANSPORT_BAD_CONFIG');
    }
  });
});
