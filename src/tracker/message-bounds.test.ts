// Tracker message parsing at its bounds: nesting depth exactly at MAX_JSON_DEPTH and one past it
// (arrays and objects), wide but shallow data, the code for each kind of bad message (every known
// type with a bad field is BAD_MESSAGE, anything else UNKNOWN_TYPE) and what the error says, and
// the tracker-side size bound that the client applies. Pure.
import { describe, expect, it } from 'vitest';
import { expectCode } from '../expect-code.ts';
import { LIMITS, MAX_JSON_DEPTH, parseClientMessage, parseServerMessage } from './messages.ts';

const SID = 'A'.repeat(43);
const signalWith = (data: string) => `{"type":"signal","to":"peerBBBBBBBB","data":${data}}`;
const arrays = (n: number) => `${'['.repeat(n)}${']'.repeat(n)}`;
const objects = (n: number) => `${'{"a":'.repeat(n)}1${'}'.repeat(n)}`;

describe('nesting depth', () => {
  it('takes a message exactly MAX_JSON_DEPTH deep and refuses one level more, for arrays and objects', () => {
    // The message object itself is one level.
    expect(parseClientMessage(signalWith(arrays(MAX_JSON_DEPTH - 1))).type).toBe('signal');
    expect(parseClientMessage(signalWith(objects(MAX_JSON_DEPTH - 1))).type).toBe('signal');
    expectCode(() => parseClientMessage(signalWith(arrays(MAX_JSON_DEPTH))), 'BAD_MESSAGE');
    expectCode(() => parseClientMessage(signalWith(objects(MAX_JSON_DEPTH))), 'BAD_MESSAGE');
    expect(() => parseClientMessage(signalWith(objects(MAX_JSON_DEPTH)))).toThrow(`message nested deeper than ${MAX_JSON_DEPTH}`);
    expect(parseServerMessage(`{"type":"signal","from":"peerBBBBBBBB","data":${objects(MAX_JSON_DEPTH - 1)}}`).type).toBe('signal');
    // Cut off at exactly the bound (never closed): not too deep, just not JSON.
    expectCode(() => parseClientMessage(`{"type":"signal","data":${'['.repeat(MAX_JSON_DEPTH - 1)}`), 'BAD_JSON');
    expectCode(() => parseClientMessage(`{"type":"signal","data":${'['.repeat(MAX_JSON_DEPTH)}`), 'BAD_MESSAGE');
  });

  it('counts depth, not brackets: wide shallow data and brackets inside strings pass', () => {
    const wide = `[${Array.from({ length: 200 }, () => '[{}]').join(',')}]`;
    expect(parseClientMessage(signalWith(wide)).type).toBe('signal');
    const inString = JSON.stringify({ sdp: `${'{['.repeat(100)}\\` });
    expect(parseClientMessage(signalWith(inString)).type).toBe('signal');
  });
});

describe('bad messages', () => {
  it('is BAD_MESSAGE for every known type with a bad field, naming the type and the field', () => {
    const bad: Array<[object, RegExp]> = [
      [{ type: 'join', streamId: SID, uploadBps: -1 }, /^BAD_MESSAGE: join: uploadBps: /],
      [{ type: 'publish', streamId: SID }, /^BAD_MESSAGE: publish: /],
      [{ type: 'heartbeat', uploadBps: 'fast' }, /^BAD_MESSAGE: heartbeat: uploadBps: /],
      [{ type: 'signal', to: 'short', data: 1 }, /^BAD_MESSAGE: signal: to: /],
      [{ type: 'failed', peerId: 7 }, /^BAD_MESSAGE: failed: peerId: /],
      [{ type: 'leave', extra: 1 }, /.*/],
      [{ type: 'complaint', peerId: 'peerBBBBBBBB', reason: 'rude' }, /^BAD_MESSAGE: complaint: reason: /],
    ];
    for (const [m, text] of bad) {
      if ((m as { type: string }).type === 'leave') {
        // Unknown fields are dropped, not refused: a leave with more is still a leave.
        expect(parseClientMessage(JSON.stringify(m)).type).toBe('leave');
        continue;
      }
      expectCode(() => parseClientMessage(JSON.stringify(m)), 'BAD_MESSAGE');
      expect(() => parseClientMessage(JSON.stringify(m))).toThrow(text);
    }
  });

  it('is UNKNOWN_TYPE for JSON that is not an object with a known type', () => {
    for (const text of ['null', '[]', '7', '"join"', '{}', '{"type":7}', '{"type":"JOIN"}', '{"type":"nope"}']) {
      expectCode(() => parseClientMessage(text), 'UNKNOWN_TYPE');
      expect(() => parseClientMessage(text)).toThrow('message has no known type');
    }
  });

  it('is BAD_MESSAGE for something that is not text, BAD_JSON for text that is not JSON', () => {
    expectCode(() => parseClientMessage(42 as unknown as string), 'BAD_MESSAGE');
    expect(() => parseClientMessage(42 as unknown as string)).toThrow('message is not text');
    expect(() => parseClientMessage('{"type":')).toThrow('message is not JSON');
  });

  it('says where the first problem is, or (root)', () => {
    expect(() => parseServerMessage('{"type":"joined"}')).toThrow(/^BAD_MESSAGE: tracker message joined: streamId: /);
    expectCode(() => parseServerMessage('{"type":"nope"}'), 'BAD_MESSAGE');
    expectCode(() => parseServerMessage('{"kind":"welcome"}'), 'UNKNOWN_TYPE');
    expect(() => parseServerMessage('[1]')).toThrow(/^UNKNOWN_TYPE: tracker message undefined: \(root\): /);
  });
});

describe('tracker messages on the client', () => {
  it('take up to twice the client bound by default, and not a byte more', () => {
    const error = JSON.stringify({ type: 'error', code: 'X', message: 'm' });
    const at = error + ' '.repeat(2 * LIMITS.maxMessageBytes - error.length);
    expect(parseServerMessage(at).type).toBe('error');
    expectCode(() => parseServerMessage(`${at} `), 'MESSAGE_TOO_LARGE');
    expect(() => parseServerMessage(`${at} `)).toThrow(`message over ${2 * LIMITS.maxMessageBytes} bytes`);
  });
});
