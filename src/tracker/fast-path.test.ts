// The hand-written checks for the hot messages (heartbeat and signal to the tracker, signal to the
// client) must give exactly the schema's answer: accept what the schema accepts unchanged, with
// the same value, and leave everything else to the schema (which then words the error).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { clientMessageSchema, fastClientMessage, fastServerMessage, parseClientMessage, parseServerMessage, serverMessageSchema } from './messages.ts';

/** Numbers at and around every bound the schema draws for these fields. */
const edgeNumbers = [0, -0, 1, -1, 0.5, 1 + Number.EPSILON, -Number.MIN_VALUE, Number.MIN_VALUE, 1e10, 1e10 + 1, 1e10 - 1, 1e12, 1e12 + 1e-3, 1e12 * 1.0000001, 2e12, Infinity, -Infinity, NaN];
const anyField: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(...edgeNumbers),
  fc.double(),
  fc.double({ min: 0, max: 1 }),
  fc.double({ min: 0, max: 2e12, noNaN: true }),
  fc.boolean(),
  fc.constantFrom(null, 'true', '1', [], {}, [1]),
);
const peerIdLike = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{8,24}$/),
  fc.stringMatching(/^[A-Za-z0-9_-]{5,30}$/),
  fc.constantFrom('peer/AAAA', 'peerAAAA\n', 'péerAAAA', '', 'x'.repeat(7), 'x'.repeat(25)),
  fc.integer(),
  fc.constant(null),
);
/** Keys the schema does not name, some of them special to objects. */
const otherKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'toString', 'Type', 'from', 'to', 'peerId', 'streamId', ''), fc.string({ maxLength: 6 }));

const heartbeat = fc.record(
  {
    uploadBps: anyField,
    measuredUploadBps: anyField,
    uploadLimitedShare: anyField,
    relayed: anyField,
    extra: fc.tuple(otherKey, anyField),
  },
  { requiredKeys: [] },
);
const signal = fc.record(
  { peer: peerIdLike, data: fc.oneof(fc.jsonValue(), fc.constant(undefined)), extra: fc.tuple(otherKey, anyField) },
  { requiredKeys: [] },
);

/** The JSON text a peer would send for these fields (undefined fields are left out, as JSON does). */
function text(type: string, peerKey: 'to' | 'from', f: Record<string, unknown>): string {
  const o: Record<string, unknown> = { type };
  for (const [k, v] of Object.entries(f)) {
    if (k === 'extra') continue;
    o[k === 'peer' ? peerKey : k] = v;
  }
  let s = JSON.stringify(o);
  // An own "__proto__" key, as JSON.parse makes it, cannot be set through an object literal: splice it into the text.
  const extra = f.extra as [string, unknown] | undefined;
  if (extra && extra[1] !== undefined) s = `${s.slice(0, -1)},${JSON.stringify(extra[0])}:${JSON.stringify(extra[1])}}`;
  return s;
}

/** True when the schema's output has exactly the input's keys (nothing stripped). */
function sameKeys(input: object, output: object): boolean {
  const a = Object.keys(input).sort();
  const b = Object.keys(output).sort();
  return a.length === b.length && a.every((k, i) => k === b[i]);
}

/** What a parser answers: the message, or the code of the error it threw. */
function answerOf(parse: () => unknown): unknown {
  try {
    return parse();
  } catch (e) {
    return (e as { code?: string }).code;
  }
}

interface Side {
  fast: (value: unknown) => unknown;
  schema: { safeParse(value: unknown): { success: true; data: object } | { success: false } };
  parse: (text: string) => unknown;
  /** The tracker refuses a signal without data after the schema; the client takes it. */
  signalNeedsData: boolean;
}
const tracker: Side = { fast: fastClientMessage, schema: clientMessageSchema, parse: (t) => parseClientMessage(t), signalNeedsData: true };
const client: Side = { fast: fastServerMessage, schema: serverMessageSchema, parse: (t) => parseServerMessage(t), signalNeedsData: false };

function check(side: Side, t: string): void {
  const value = JSON.parse(t) as Record<string, unknown>;
  const fast = side.fast(JSON.parse(t));
  const r = side.schema.safeParse(JSON.parse(t));
  const accepted = r.success && (!side.signalNeedsData || value.type !== 'signal' || value.data !== undefined);
  // The fast path accepts exactly what the schema accepts unchanged (a signal only with data), with the same value.
  const fastShould = accepted && sameKeys(value, (r as { data: object }).data) && (value.type !== 'signal' || value.data !== undefined);
  expect(fast !== undefined, t).toBe(fastShould);
  if (fast !== undefined && r.success) expect(fast, t).toStrictEqual(r.data);
  // And the public parser's answer (value or error code) does not depend on which path ran.
  const viaParser = answerOf(() => side.parse(t));
  if (accepted) expect(viaParser, t).toStrictEqual((r as { data: object }).data);
  else expect(typeof viaParser, t).toBe('string');
}

describe('hot-message fast path', () => {
  it('accepts a heartbeat exactly when the schema accepts it unchanged, with the same value', () => {
    fc.assert(fc.property(heartbeat, (f) => check(tracker, text('heartbeat', 'to', f))), { numRuns: 3000 });
  });

  it('accepts a signal to the tracker exactly when the schema accepts it unchanged', () => {
    fc.assert(fc.property(signal, (f) => check(tracker, text('signal', 'to', f))), { numRuns: 3000 });
  });

  it('leaves every other message, and values that are not objects, to the schema', () => {
    // Shaped like a signal in every way but its type, or with no type at all.
    const signalShaped = ['leave', 'failed', 'heartbeat', 'welcome', 'error', 'Signal'].flatMap((type) => [
      JSON.stringify({ type, to: 'peerAAAA', data: 1 }),
      JSON.stringify({ type, from: 'peerAAAA', data: 1 }),
    ]);
    for (const t of ['null', '[]', '"heartbeat"', '1', '{"type":"leave"}', '{"type":"join","streamId":"x"}', '[{"type":"heartbeat"}]', '{"type":["heartbeat"]}', '{"to":"peerAAAA","data":1}', '{"from":"peerAAAA","data":1}', ...signalShaped]) {
      expect(fastClientMessage(JSON.parse(t)), t).toBeUndefined();
      expect(fastServerMessage(JSON.parse(t)), t).toBeUndefined();
    }
    fc.assert(fc.property(fc.jsonValue(), (v) => {
      const t = JSON.stringify(v);
      if (t === undefined) return;
      const value = JSON.parse(t) as { type?: unknown } | null;
      const type = typeof value === 'object' && value !== null ? value.type : undefined;
      if (type !== 'heartbeat' && type !== 'signal') expect(fastClientMessage(value)).toBeUndefined();
      if (type !== 'signal') expect(fastServerMessage(value)).toBeUndefined();
    }), { numRuns: 500 });
  });

  it('accepts a relayed signal at the client exactly when the schema accepts it unchanged', () => {
    fc.assert(fc.property(signal, (f) => check(client, text('signal', 'from', f))), { numRuns: 3000 });
  });

  it('keeps the bounds at their edges: 1e12 and 1e10 in, a hair above out; a share of 1 in, above out', () => {
    const hb = (f: Record<string, unknown>) => fastClientMessage({ type: 'heartbeat', ...f });
    expect(hb({ uploadBps: 1e12 })).toBeDefined();
    expect(hb({ uploadBps: 1e12 * (1 + Number.EPSILON) })).toBeUndefined();
    expect(hb({ uploadBps: -Number.MIN_VALUE })).toBeUndefined();
    expect(hb({ measuredUploadBps: 1e10 })).toBeDefined();
    expect(hb({ measuredUploadBps: 1e10 + 0.001 })).toBeUndefined();
    expect(hb({ uploadLimitedShare: 1 })).toBeDefined();
    expect(hb({ uploadLimitedShare: 1 + Number.EPSILON })).toBeUndefined();
    expect(hb({ relayed: 0 })).toBeUndefined();
    expect(hb({ uploadBps: Infinity })).toBeUndefined();
    expect(fastClientMessage({ type: 'signal', to: 'peerAAAA' })).toBeUndefined();
    expect(fastClientMessage({ type: 'signal', to: 'peerAAAA', data: null })).toBeDefined();
  });
});
