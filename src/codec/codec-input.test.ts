// Exact unit tests of the codec's input checks and key planning (codec-input.ts): every limit at
// its boundary (the last value accepted, the first refused), the code, message and details each
// refusal carries, and the keys a decode plans to use. Fast explicit rows, no coding arithmetic.
import { describe, expect, it } from 'vitest';
import { isP2PError } from '../errors.ts';
import { expectCode } from '../expect-code.ts';
import {
  bytesEqual, checkCodeSegment, checkFrame, checkFrameOut, checkKey, checkKeyList, checkPackets, checkSeeds,
  GROUPS, isPacketSize, KeyPlan, MAX_FRAME_BYTES, MAX_PACKET_BYTES, MIN_PACKET_BYTES, packetSize, planDecode,
} from './codec-input.ts';

/** The P2PError `fn` throws, as { code, message, details } (fails when it throws anything else). */
function refusal(fn: () => unknown): { code: string; message: string; details: unknown } {
  try {
    fn();
  } catch (e) {
    if (!isP2PError(e)) throw e;
    return { code: e.code, message: e.message, details: e.details };
  }
  throw new Error('nothing thrown');
}
const bytes = (n: number) => new Uint8Array(n);
const seedMap = (keys: number[], P: number) => new Map(keys.map((c) => [c, bytes(P)]));
const keyMap = (keys: number[], P: number) => new Map(keys.map((x) => [x, Uint8Array.from({ length: P }, (_, i) => (x + i) & 255)]));
const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe('limits', () => {
  it('the published limits', () => {
    expect([MAX_FRAME_BYTES, MIN_PACKET_BYTES, MAX_PACKET_BYTES, GROUPS]).toEqual([65536, 128, 1024, 32]);
  });

  it('packetSize: 128 per started 8 KiB, from 1 to 65536 bytes', () => {
    expect([1, 2, 8191, 8192, 8193, 16384, 16385, 57345, 65535, 65536].map(packetSize)).toEqual([128, 128, 128, 128, 256, 256, 384, 1024, 1024, 1024]);
    expect(refusal(() => packetSize(0))).toEqual({ code: 'CODEC_FRAME_LENGTH', message: 'CODEC_FRAME_LENGTH: frame length 0 is outside 1..65536', details: { L: 0 } });
    expect(refusal(() => packetSize(65537)).details).toEqual({ L: 65537 });
    for (const L of [-1, 1.5, 8192.5, Number.NaN, Infinity]) expectCode(() => packetSize(L), 'CODEC_FRAME_LENGTH');
  });

  it('checkFrame: a Uint8Array of 1..65536 bytes, its packet size', () => {
    expect(checkFrame(bytes(1))).toBe(128);
    expect(checkFrame(bytes(65536))).toBe(1024);
    expectCode(() => checkFrame(bytes(0)), 'CODEC_FRAME_LENGTH');
    expect(refusal(() => checkFrame([1, 2] as unknown as Uint8Array))).toEqual({ code: 'CODEC_BAD_INPUT', message: 'CODEC_BAD_INPUT: frame is not a Uint8Array', details: undefined });
  });

  it('isPacketSize: multiples of 128 from 128 to 1024', () => {
    expect([128, 256, 384, 896, 1024].every(isPacketSize)).toBe(true);
    expect([0, -128, 1, 64, 127, 129, 192, 1023, 1025, 1152, 2048].some(isPacketSize)).toBe(false);
  });

  it('checkCodeSegment: 8·P bytes with P a packet size; its P', () => {
    expect(checkCodeSegment(bytes(1024))).toBe(128);
    expect(checkCodeSegment(bytes(8192))).toBe(1024);
    expect(checkCodeSegment(bytes(3072))).toBe(384);
    expect(refusal(() => checkCodeSegment(bytes(1000)))).toEqual({ code: 'CODEC_PACKET_SIZE', message: 'CODEC_PACKET_SIZE: code segment of 1000 bytes is not 8·P with P in 128..1024', details: undefined });
    for (const n of [0, 1023, 1025, 1032, 8200, 9216, 2 * 1024 + 4]) expectCode(() => checkCodeSegment(bytes(n)), 'CODEC_PACKET_SIZE');
    expect(refusal(() => checkCodeSegment('cs' as unknown as Uint8Array)).message).toBe('CODEC_BAD_INPUT: code segment is not a Uint8Array');
  });

  it('checkFrameOut: a Uint8Array of at least L bytes', () => {
    checkFrameOut(bytes(100), 100);
    checkFrameOut(bytes(101), 100);
    expect(refusal(() => checkFrameOut(bytes(99), 100))).toEqual({ code: 'CODEC_BAD_INPUT', message: 'CODEC_BAD_INPUT: output buffer of 99 bytes is shorter than the frame (100)', details: { bytes: 99, L: 100 } });
    expect(refusal(() => checkFrameOut(null as unknown as Uint8Array, 1)).message).toBe('CODEC_BAD_INPUT: output buffer is not a Uint8Array');
  });
});

describe('keys', () => {
  it('checkKey: integers 0..limit-1, named in the refusal', () => {
    expect(checkKey(0, 256, 'x')).toBe(0);
    expect(checkKey(255, 256, 'x')).toBe(255);
    expect(checkKey(31, 32, 'g')).toBe(31);
    expect(refusal(() => checkKey(256, 256, 'x'))).toEqual({ code: 'CODEC_KEY_RANGE', message: 'CODEC_KEY_RANGE: x 256 is outside 0..255', details: { x: 256 } });
    expect(refusal(() => checkKey(-1, 32, 'g'))).toEqual({ code: 'CODEC_KEY_RANGE', message: 'CODEC_KEY_RANGE: g -1 is outside 0..31', details: { g: -1 } });
    for (const k of [32, 0.5, Number.NaN, '3', null, undefined, 3n]) expectCode(() => checkKey(k, 32, 'g'), 'CODEC_KEY_RANGE');
  });

  it('checkKeyList: each key in range, none twice', () => {
    checkKeyList([], 256, 'x');
    checkKeyList([0, 255, 7], 256, 'x');
    expect(refusal(() => checkKeyList([4, 9, 4], 256, 'c'))).toEqual({ code: 'CODEC_DUPLICATE_KEY', message: 'CODEC_DUPLICATE_KEY: c 4 appears twice', details: { c: 4 } });
    expect(refusal(() => checkKeyList([1, 32], 32, 'g')).code).toBe('CODEC_KEY_RANGE');
    expect(refusal(() => checkKeyList(7 as unknown as number[], 32, 'g'))).toEqual({ code: 'CODEC_BAD_INPUT', message: 'CODEC_BAD_INPUT: g list is not an array', details: undefined });
  });

  it('bytesEqual: same length and bytes', () => {
    expect(bytesEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3))).toBe(true);
    expect(bytesEqual(bytes(0), bytes(0))).toBe(true);
    expect(bytesEqual(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4))).toBe(false);
    expect(bytesEqual(Uint8Array.of(9, 2, 3), Uint8Array.of(1, 2, 3))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBe(false);
    expect(bytesEqual(Uint8Array.of(1, 2, 0), Uint8Array.of(1, 2))).toBe(false);
  });
});

describe('producer input (checkSeeds)', () => {
  it('8 or more seeds of one valid size, keys ascending', () => {
    const set = checkSeeds(new Map([200, 3, 17, 0, 255, 9, 8, 100].map((c) => [c, Uint8Array.of(c, ...bytes(127))])), 31);
    expect(set.keys).toEqual([0, 3, 8, 9, 17, 100, 200, 255]);
    expect(set.seeds.map((s) => s[0])).toEqual([0, 3, 8, 9, 17, 100, 200, 255]);
    expect(set.P).toBe(128);
    expect(checkSeeds(seedMap(range(0, 9), 1024), 0).P).toBe(1024);
  });

  it('refuses 7 seeds, a group outside 0..31, a bad key or size, naming each', () => {
    expect(refusal(() => checkSeeds(seedMap(range(0, 7), 128), 9))).toEqual({ code: 'CODEC_TOO_FEW_KEYS', message: 'CODEC_TOO_FEW_KEYS: 7 seed packets, 8 needed', details: { count: 7 } });
    expectCode(() => checkSeeds(seedMap(range(0, 8), 128), 32), 'CODEC_KEY_RANGE');
    expectCode(() => checkSeeds(seedMap(range(0, 8), 128), -1), 'CODEC_KEY_RANGE');
    expectCode(() => checkSeeds(seedMap([...range(0, 7), 256], 128), 1), 'CODEC_KEY_RANGE');
    const mixed = seedMap(range(0, 8), 256);
    mixed.set(5, bytes(128));
    expect(refusal(() => checkSeeds(mixed, 1))).toEqual({ code: 'CODEC_PACKET_SIZE', message: 'CODEC_PACKET_SIZE: seed packet 5 has 128 bytes', details: { c: 5, bytes: 128 } });
    expect(refusal(() => checkSeeds(seedMap(range(0, 8), 129), 1)).details).toEqual({ c: 0, bytes: 129 });
    expectCode(() => checkSeeds(seedMap(range(0, 8), 1152), 1), 'CODEC_PACKET_SIZE');
    const notBytes = seedMap(range(0, 8), 128) as Map<number, unknown>;
    notBytes.set(6, 'x');
    expect(refusal(() => checkSeeds(notBytes as Map<number, Uint8Array>, 1)).message).toBe('CODEC_BAD_INPUT: seed packet 6 is not a Uint8Array');
    expect(refusal(() => checkSeeds({} as Map<number, Uint8Array>, 1)).message).toBe('CODEC_BAD_INPUT: seeds is not a Map');
  });
});

describe('decode plan', () => {
  const seenOf = (keys: number[]) => { const s = bytes(256); for (const k of keys) s[k] = 1; return s; };
  const planOf = (keys: number[]) => { const p = new KeyPlan(); p.fill(seenOf(keys)); return p; };

  it('KeyPlan: present and missing parts, the lowest coded keys for the missing ones, the key set', () => {
    const p = planOf([0, 2, ...range(4, 60), 64, 70, 71, 100, 255]);
    expect([p.nPresent, p.nMissing]).toEqual([62, 2]);
    expect(Array.from(p.present.subarray(0, 3))).toEqual([0, 2, 4]);
    expect(p.present[61]).toBe(63);
    expect(Array.from(p.missing.subarray(0, 3))).toEqual([1, 3, 0]);
    expect(Array.from(p.coded.subarray(0, 3))).toEqual([64, 70, 0]); // 71, 100 and 255 are not needed
    // The key set: bits of present ∪ coded only.
    const used = new Uint16Array(16);
    for (const k of [0, 2, ...range(4, 60), 64, 70]) used[k >> 4] |= 1 << (k & 15);
    expect(Array.from(p.used)).toEqual(Array.from(used));
    expect(p.sameKeys(used)).toBe(true);
    const other = used.slice(); other[15] ^= 0x8000;
    expect(p.sameKeys(other)).toBe(false);
    const first = used.slice(); first[0] ^= 1;
    expect(p.sameKeys(first)).toBe(false);
    expect(p.id()).toBe(String.fromCharCode(...used));
  });

  it('KeyPlan: all systematic, none systematic, and refilled without leftovers', () => {
    const p = planOf([...range(0, 64), 64, 65]);
    expect([p.nPresent, p.nMissing]).toEqual([64, 0]);
    expect(p.used[4]).toBe(0); // coded keys unused when nothing is missing
    p.fill(seenOf(range(192, 64)));
    expect([p.nPresent, p.nMissing]).toEqual([0, 64]);
    expect(Array.from(p.missing)).toEqual(range(0, 64));
    expect(Array.from(p.coded)).toEqual(range(192, 64));
    expect(Array.from(p.used.subarray(0, 12))).toEqual(new Array(12).fill(0));
    expect(Array.from(p.used.subarray(12))).toEqual([0xffff, 0xffff, 0xffff, 0xffff]);
    expect(planOf(range(0, 64)).id()).not.toBe(planOf(range(1, 64)).id());
  });

  it('planDecode: checks the packets and names the keys it uses', () => {
    const packets = keyMap([255, 1, ...range(3, 61), 70, 64, 200], 128);
    const plan = planDecode(packets, 100);
    expect(plan.P).toBe(128);
    expect(plan.present).toEqual([1, ...range(3, 61)]);
    expect(plan.missing).toEqual([0, 2]);
    expect(plan.coded).toEqual([64, 70]);
    expect(plan.id).toBe(planOf([1, ...range(3, 61), 64, 70]).id());
    expect(plan.byKey[70]).toBe(packets.get(70));
    expect(plan.byKey[255]).toBe(packets.get(255));
    expect(plan.byKey[2]).toBeUndefined();
    expect(plan.byKey.length).toBe(256);
  });

  it('checkPackets: 64+ distinct keys of P bytes; keys and sizes checked before the count', () => {
    const seen = bytes(256).fill(1);
    const byKey: (Uint8Array | undefined)[] = [];
    const packets = keyMap(range(0, 64), 256);
    expect(checkPackets(packets, 8193, seen, { byKey })).toBe(256);
    expect(Array.from(seen)).toEqual([...new Array(64).fill(1), ...new Array(192).fill(0)]);
    expect(byKey[63]).toBe(packets.get(63));
    // Into memory: parts at sys + x·P, coded packets at coded + (x − 64)·P; nothing else written.
    const coded = 4 + 64 * 128 + 16; // a gap between the regions
    const mem = bytes(coded + 3 * 128 + 8);
    const few = keyMap([...range(0, 62), 64, 66], 128);
    expect(checkPackets(few, 1, seen, { mem, sys: 4, coded })).toBe(128);
    expect(mem.subarray(0, 4)).toEqual(bytes(4));
    expect(mem.subarray(4, 4 + 128)).toEqual(few.get(0));
    expect(mem.subarray(4 + 61 * 128, 4 + 62 * 128)).toEqual(few.get(61));
    expect(mem.subarray(4 + 62 * 128, coded)).toEqual(bytes(2 * 128 + 16)); // parts 62 and 63 did not arrive
    expect(mem.subarray(coded, coded + 128)).toEqual(few.get(64));
    expect(mem.subarray(coded + 128, coded + 256)).toEqual(bytes(128)); // nor did 65
    expect(mem.subarray(coded + 256, coded + 384)).toEqual(few.get(66));
    expect(mem.subarray(coded + 384)).toEqual(bytes(8));
    // After a memory sink, a byKey sink gets its packets again (the memory is let go).
    const byKey2: (Uint8Array | undefined)[] = [];
    checkPackets(few, 1, seen, { byKey: byKey2 });
    expect(byKey2[66]).toBe(few.get(66));
    expect(refusal(() => checkPackets(keyMap(range(0, 63), 128), 1, seen, { byKey: [] }))).toEqual({ code: 'CODEC_TOO_FEW_KEYS', message: 'CODEC_TOO_FEW_KEYS: 63 feed packets, 64 needed', details: { count: 63 } });
    const wrong = keyMap(range(0, 10), 128);
    wrong.set(3, bytes(256));
    expect(refusal(() => checkPackets(wrong, 1, seen, { byKey: [] }))).toEqual({ code: 'CODEC_PACKET_SIZE', message: 'CODEC_PACKET_SIZE: feed packet 3 has 256 bytes, 128 expected', details: { x: 3, bytes: 256, P: 128 } });
    const far = keyMap(range(0, 10), 128);
    far.set(256, bytes(128));
    expect(refusal(() => checkPackets(far, 1, seen, { byKey: [] })).code).toBe('CODEC_KEY_RANGE');
    const junk = keyMap(range(0, 70), 128) as Map<number, unknown>;
    junk.set(9, [1]);
    expect(refusal(() => checkPackets(junk as Map<number, Uint8Array>, 1, seen, { byKey: [] })).message).toBe('CODEC_BAD_INPUT: feed packet 9 is not a Uint8Array');
    expect(refusal(() => checkPackets([] as unknown as Map<number, Uint8Array>, 1, seen, { byKey: [] })).message).toBe('CODEC_BAD_INPUT: packets is not a Map');
    expectCode(() => checkPackets(keyMap(range(0, 64), 128), 0, seen, { byKey: [] }), 'CODEC_FRAME_LENGTH');
  });
});

describe('refusals name the argument that is out of range', () => {
  it('checkSeeds: the group g and a seed key c; checkPackets: a feed key x', () => {
    expect(refusal(() => checkSeeds(seedMap(range(0, 8), 128), 32))).toEqual({ code: 'CODEC_KEY_RANGE', message: 'CODEC_KEY_RANGE: g 32 is outside 0..31', details: { g: 32 } });
    expect(refusal(() => checkSeeds(seedMap([...range(0, 7), 256], 128), 0))).toEqual({ code: 'CODEC_KEY_RANGE', message: 'CODEC_KEY_RANGE: c 256 is outside 0..255', details: { c: 256 } });
    expect(refusal(() => checkPackets(keyMap([...range(0, 63), 300], 128), 100, new Uint8Array(256), { byKey: [] }))).toEqual({ code: 'CODEC_KEY_RANGE', message: 'CODEC_KEY_RANGE: x 300 is outside 0..255', details: { x: 300 } });
  });
});

