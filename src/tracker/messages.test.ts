import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isP2PError } from '../errors.ts';
import { expectCode } from '../expect-code.ts';
import { LIMITS, parseClientMessage, parseServerMessage, publishProofBytes, utf8Length } from './messages.ts';

const SID = 'A'.repeat(43);
const CODES = new Set(['BAD_JSON', 'MESSAGE_TOO_LARGE', 'UNKNOWN_TYPE', 'BAD_MESSAGE', 'SIGNAL_TOO_LARGE']);

function codeOf(f: () => unknown): string | null {
  try {
    f();
    return null;
  } catch (e) {
    if (!isP2PError(e)) throw e;
    return e.code;
  }
}

describe('tracker messages', () => {
  it('accepts every well-formed client message', () => {
    const ok = [
      { type: 'join', streamId: SID },
      { type: 'join', streamId: SID, peerSecret: 's'.repeat(22), uploadBps: 5e6, relayed: false, announce: { holderKeys: [1, 2], producerGroups: [0], neighbours: ['peerAAAA'], mode: 'holder' } },
      { type: 'publish', streamId: SID, publicKey: 'AQ', signature: 'x'.repeat(86), broadcastId: 'AAAAAAAAAAA', bitrateBps: 2e6 },
      { type: 'heartbeat', uploadBps: 1 },
      { type: 'signal', to: 'peerBBBBBBBB', data: { type: 'offer', sdp: 'v=0' } },
      { type: 'failed', peerId: 'peerBBBBBBBB' },
      { type: 'leave' },
    ];
    for (const m of ok) expect(parseClientMessage(JSON.stringify(m))).toMatchObject(m);
  });

  it('rejects bad input with a stable code', () => {
    expectCode(() => parseClientMessage('{'), 'BAD_JSON');
    expectCode(() => parseClientMessage('"join"'), 'UNKNOWN_TYPE');
    expectCode(() => parseClientMessage('{"type":"nope"}'), 'UNKNOWN_TYPE');
    expectCode(() => parseClientMessage('{"type":"join"}'), 'BAD_MESSAGE');
    expectCode(() => parseClientMessage(JSON.stringify({ type: 'join', streamId: SID, uploadBps: -1 })), 'BAD_MESSAGE');
    expectCode(() => parseClientMessage(JSON.stringify({ type: 'join', streamId: SID, announce: { holderKeys: [256] } })), 'BAD_MESSAGE');
    expectCode(() => parseClientMessage(JSON.stringify({ type: 'signal', to: 'peerBBBBBBBB' })), 'BAD_MESSAGE');
    // A publish without a broadcast id, or with one that is not 8 bytes of base64url.
    for (const broadcastId of [undefined, 'AAAAAAAAAA', 'AAAAAAAAAAB', 'AAAAAAAAAAAA', 'AAAAAAAAAA=']) {
      expectCode(() => parseClientMessage(JSON.stringify({ type: 'publish', streamId: SID, publicKey: 'AQ', signature: 'x'.repeat(86), broadcastId })), 'BAD_MESSAGE');
    }
    expectCode(() => parseClientMessage(JSON.stringify({ type: 'signal', to: 'peerBBBBBBBB', data: 'x'.repeat(LIMITS.maxSignalBytes) })), 'SIGNAL_TOO_LARGE');
    expectCode(() => parseClientMessage(' '.repeat(LIMITS.maxMessageBytes + 1)), 'MESSAGE_TOO_LARGE');
    // At the bounds: signal data of exactly maxSignalBytes (serialized) and a message of exactly
    // maxMessageBytes pass; one byte more is refused.
    const atSignalBound = { type: 'signal', to: 'peerBBBBBBBB', data: 'x'.repeat(LIMITS.maxSignalBytes - 2) };
    expect(parseClientMessage(JSON.stringify(atSignalBound)).type).toBe('signal');
    expectCode(() => parseClientMessage(JSON.stringify({ ...atSignalBound, data: `${atSignalBound.data}x` })), 'SIGNAL_TOO_LARGE');
    const leave = JSON.stringify({ type: 'leave' });
    const atMessageBound = leave + ' '.repeat(LIMITS.maxMessageBytes - leave.length);
    expect(parseClientMessage(atMessageBound, LIMITS.maxMessageBytes, LIMITS.maxSignalBytes).type).toBe('leave');
    expectCode(() => parseClientMessage(`${atMessageBound} `), 'MESSAGE_TOO_LARGE');
    // Multi-byte text is measured in bytes, not characters.
    expectCode(() => parseClientMessage(JSON.stringify({ type: 'leave', pad: 'é'.repeat(LIMITS.maxMessageBytes / 2) })), 'MESSAGE_TOO_LARGE');
  });

  it('never throws anything but a P2PError on arbitrary text or JSON', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 300 }), fc.json({ maxDepth: 4 }), fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify({ type: 'join', streamId: SID, announce: v }))), (text) => {
        for (const parse of [parseClientMessage, parseServerMessage]) {
          const code = codeOf(() => parse(text));
          if (code !== null) expect(CODES.has(code)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('refuses deeply nested data with BAD_MESSAGE, never a RangeError', () => {
    const deep = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
    for (const n of [33, 1000, 30000]) {
      expectCode(() => parseClientMessage(`{"type":"signal","to":"peerBBBBBBBB","data":${deep(n)}}`), 'BAD_MESSAGE');
      expectCode(() => parseServerMessage(`{"type":"signal","from":"peerBBBBBBBB","data":${deep(n)}}`), 'BAD_MESSAGE');
    }
    // Up to the bound it is data like any other; brackets inside strings do not count.
    expect(parseClientMessage(`{"type":"signal","to":"peerBBBBBBBB","data":${deep(30)}}`).type).toBe('signal');
    expect(parseClientMessage(JSON.stringify({ type: 'signal', to: 'peerBBBBBBBB', data: { sdp: '['.repeat(5000) + '\\"' } })).type).toBe('signal');
  });

  it('measures UTF-8 and builds the proof bytes in order', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 50 }), (s) => {
        expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
      }),
    );
    const b = publishProofBytes(new Uint8Array([1, 2]), 'ab', 'Z', 'h:1');
    expect([...b]).toEqual([1, 2, 97, 98, 90, 104, 58, 49]);
  });
});
