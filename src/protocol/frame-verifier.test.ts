// The frame verifier on its own, behind a scripted host (no peer core, no wire, no clock): packets
// are filed as PeerCore.addPacket files them, crypto jobs are answered by the test (a digest is the
// frame's SHA-256, a manifest check passes or fails as told), and every call the verifier makes to
// its host is recorded. Real reference codec and real fingerprints. Each rule is shown at its edge:
// when a decode starts (the 64th key, a verified manifest, one at a time, a codec that refuses);
// the pollution search's later steps (which keys enter a locate, the relocate cadence of
// SEARCH_RELOCATE_KEYS, the order sources are left out in, the broadcaster and keys made here never
// left out, decode sets never tried twice, the keys asked for once every clean set failed, and the
// cap of 192); the judgement after a verified decode (who is checked, what is kept, what is
// forgotten); frames obtained outside the swarm; manifests and the drop of packets whose size the
// verified manifest disproves.

import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import type { CoreOutput, FrameCodec } from './core-types.ts';
import type { CryptoJob } from './crypto-jobs.ts';
import { FrameVerifier, sameBytes, SEARCH_RELOCATE_KEYS, type PendingJob, type VerifyHost } from './frame-verifier.ts';
import { newFrameState, type FrameState } from './frame-state.ts';
import { KeySet } from './key-set.ts';
import type { NeighbourState } from './neighbour-state.ts';
import { FLAG_INIT_SEGMENT, type Manifest } from './wire.ts';

let reference: Codec;
beforeAll(() => {
  reference = createReferenceCodec();
});

/** 8000 bytes: packets of P = 128. */
const L = 8000;
const frameOf = (salt: number, n = L) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7 + (i >> 8)) & 0xff);
const sha = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest());
const manifestOf = (seq: number, frame: Uint8Array, flags = 0, digest = sha(frame)): Manifest => ({
  seq,
  length: frame.length,
  captureTimeMs: 0,
  flags,
  broadcastId: new Uint8Array(16),
  digest,
  signature: new Uint8Array(64),
});
const range = (from: number, to: number, step = 1) => Array.from({ length: Math.ceil((to - from) / step) }, (_, i) => from + i * step);

/** A host that records what the verifier asks of it; 'b' is the broadcaster. */
class Host implements VerifyHost {
  readonly frames = new Map<number, FrameState>();
  readonly neighbours = new Map<string, NeighbourState>();
  readonly stats = { framesDelivered: 0, framesMissed: 0, framesPolluted: 0 };
  readonly secret = 0x2545f491;
  readonly codec: FrameCodec;
  readonly v: FrameVerifier;
  now = 0;
  /** The codec refuses every decode while set (a kernel failure). */
  refuseDecodes = false;
  decodeCalls = 0;
  strikes = new Map<string, number>();
  /** Sequences frameFor refuses. */
  refused = new Set<number>();
  pending: Array<{ job: CryptoJob; p: PendingJob }> = [];
  /** The keys of each decode whose digest was asked for, in order. */
  decodes: number[][] = [];
  /** Every other call, in order: 'strike r: reason', 'bad r: reason', 'report r', 'changed 0', … */
  events: string[] = [];
  emitted: CoreOutput[] = [];
  initSeqIs: number | undefined;

  constructor(codec: Codec) {
    this.codec = {
      ...codec,
      feedPacket: (frame, x) => codec.feedPacket(frame, x),
      decodeFrame: (packets, length) => {
        this.decodeCalls++;
        if (this.refuseDecodes) throw new Error('refused');
        return codec.decodeFrame(packets, length);
      },
    } as FrameCodec;
    this.v = new FrameVerifier(this);
  }

  frameFor(seq: number, nowMs: number): FrameState | undefined {
    if (this.refused.has(seq)) return undefined;
    let f = this.frames.get(seq);
    if (!f) this.frames.set(seq, (f = newFrameState(seq, nowMs, 0)));
    return f;
  }
  job(job: CryptoJob, p: PendingJob): void {
    this.pending.push({ job, p });
    if (p.kind === 'frame-digest') this.decodes.push([...(this.frames.get(p.seq)?.usedKeys ?? [])]);
  }
  emit(o: CoreOutput): void {
    this.emitted.push(o);
  }
  strike(peerId: string, reason: string): void {
    this.events.push(`strike ${peerId}: ${reason}`);
    this.strikes.set(peerId, this.strikesOf(peerId) + 1);
  }
  countBad(peerId: string, reason: string): void {
    this.events.push(`bad ${peerId}: ${reason}`);
  }
  strikesOf(peerId: string): number {
    return this.strikes.get(peerId) ?? 0;
  }
  isBroadcaster(peerId: string): boolean {
    return peerId === 'b';
  }
  changed(seq: number): void {
    this.events.push(`changed ${seq}`);
  }
  dirty(seq: number): void {
    this.events.push(`dirty ${seq}`);
  }
  releaseInflight(f: FrameState): void {
    this.events.push(`release ${f.seq}`);
  }
  finished(f: FrameState): void {
    this.events.push(`finished ${f.seq} ${f.state}`);
  }
  admit(seq: number): void {
    this.events.push(`admit ${seq}`);
  }
  initSeq(): number | undefined {
    return this.initSeqIs;
  }
  setInit(m: Manifest): void {
    this.events.push(`init ${m.seq}`);
  }
  askExtraKeys(f: FrameState): void {
    this.events.push(`ask ${f.seq} ${f.extraWant}`);
  }
  report(peerId: string): void {
    this.events.push(`report ${peerId}`);
  }
  /** (Implied zero keys are the peer core's: peer tests cover them.) */
  holdImplied(): void {}

  /** Events whose text starts with one of `kinds`. */
  eventsOf(...kinds: string[]): string[] {
    return this.events.filter((e) => kinds.some((k) => e.startsWith(`${k} `)));
  }

  /** A manifest from `from`, its check answered at once. */
  manifest(m: Manifest, valid = true, from = 'b'): FrameState {
    this.v.onManifest(from, m, this.now);
    this.settle(valid);
    return this.frames.get(m.seq) as FrameState;
  }

  /** A feed packet filed as PeerCore.addPacket files it (size check, first copy kept), then a decode try. */
  give(seq: number, x: number, payload: Uint8Array, from: string): void {
    const f = this.frameFor(seq, this.now) as FrameState;
    if (f.state === 'done' || f.state === 'missed') return;
    if (f.P === 0) f.P = payload.length;
    if (payload.length !== f.P || f.have.has(x)) return;
    f.have.add(x);
    f.log.push(x);
    f.packets.set(x, payload);
    f.from.set(x, from);
    this.v.tryDecode(f, this.now);
  }

  /** Keys `xs` of `frame` from `from`, those in `bad` corrupted; crypto answered after each. */
  send(seq: number, frame: Uint8Array, xs: number[], from: string, bad: (x: number) => boolean = () => false): void {
    for (const x of xs) {
      const p = reference.feedPacket(frame, x).slice();
      if (bad(x)) p[(x * 5) % p.length] ^= 0x21;
      this.give(seq, x, p, from);
      this.settle();
    }
  }

  /** Answers the crypto jobs until none is left: a digest is the SHA-256 of the data, a manifest check `valid`. */
  settle(valid = true): void {
    for (let j = this.pending.shift(); j; j = this.pending.shift()) {
      if (j.p.kind === 'frame-digest' && j.job.kind === 'digest') this.v.onFrameDigest(j.p, sha(j.job.data), this.now);
      else if (j.p.kind === 'manifest') this.v.onManifestVerified(j.p, valid, this.now);
    }
  }

  /** The frames emitted, as bytes. */
  get delivered(): Uint8Array[] {
    return this.emitted.flatMap((o) => (o.type === 'frame' ? [o.frame] : []));
  }
}

const host = () => new Host(reference);

describe('when a decode starts', () => {
  it('at the 64th key, not at the 63rd', () => {
    const h = host();
    const frame = frameOf(1);
    const f = h.manifest(manifestOf(0, frame));
    h.send(0, frame, range(0, 63), 'r');
    expect(h.decodes).toEqual([]);
    expect(f.state).toBe('collecting');
    h.send(0, frame, [100], 'r');
    expect(h.decodes).toEqual([[...range(0, 63), 100]]);
    expect(h.delivered).toEqual([frame]);
  });

  it('never with an excluded key: 64 held with one excluded start no decode (the codec is not called), the 65th does', () => {
    const h = host();
    const frame = frameOf(26);
    const f = h.manifest(manifestOf(0, frame));
    f.exclude.add(0);
    h.send(0, frame, range(0, 64), 'r');
    expect(h.decodeCalls).toBe(0);
    h.send(0, frame, [64], 'r');
    expect(h.decodes).toEqual([range(1, 65)]);
    expect(h.delivered).toEqual([frame]);
  });

  it('not without a manifest nor while its check runs; once it passes, at once', () => {
    const h = host();
    const frame = frameOf(2);
    h.send(0, frame, range(0, 64), 'r');
    expect(h.decodes).toEqual([]);
    h.v.onManifest('b', manifestOf(0, frame), h.now);
    const f = h.frames.get(0) as FrameState;
    expect(f.manifestPending).toBe(true);
    h.give(0, 64, reference.feedPacket(frame, 64), 'r');
    expect(h.decodes).toEqual([]);
    h.settle();
    expect(h.decodes).toEqual([range(0, 64)]);
    expect(h.delivered).toEqual([frame]);
  });

  it('one at a time: a key arriving while the frame is hashing starts none', () => {
    const h = host();
    const frame = frameOf(3);
    const f = h.manifest(manifestOf(0, frame));
    for (const x of range(0, 64)) h.give(0, x, reference.feedPacket(frame, x), 'r');
    expect(f.state).toBe('hashing');
    h.give(0, 64, reference.feedPacket(frame, 64), 'r');
    expect(h.decodes).toHaveLength(1);
    expect(h.decodeCalls).toBe(1);
    h.settle();
    expect(h.delivered).toEqual([frame]);
    expect(h.stats.framesDelivered).toBe(1);
  });

  it('a decode the codec refuses leaves the frame collecting, with nothing hashed', () => {
    const h = host();
    const frame = frameOf(4);
    const f = h.manifest(manifestOf(0, frame));
    h.refuseDecodes = true;
    h.send(0, frame, range(0, 64), 'r');
    expect(h.decodeCalls).toBe(1);
    expect(f.state).toBe('collecting');
    expect(f.frame).toBeUndefined();
    expect(f.usedKeys).toBeUndefined();
    expect(h.pending).toEqual([]);
    expect(h.decodes).toEqual([]);
    h.refuseDecodes = false;
    h.send(0, frame, [64], 'r');
    expect(h.delivered).toEqual([frame]);
  });

  it("a suspect's keys are used only when 64 cannot be had without them; the broadcaster is never a suspect, struck or not", () => {
    // Keys first, the manifest last: the decode starts with every key there.
    const h = host();
    h.strikes.set('s', 1);
    h.strikes.set('b', 1);
    const frame = frameOf(5);
    h.send(0, frame, range(0, 10), 's');
    h.send(0, frame, range(10, 73), 'b');
    h.manifest(manifestOf(0, frame));
    // 73 keys, 63 of them not the suspect's: the suspect's are needed.
    expect(h.decodes).toEqual([range(0, 64)]);
    const h2 = host();
    h2.strikes.set('s', 1);
    h2.strikes.set('b', 1);
    h2.send(0, frame, range(0, 10), 's');
    h2.send(0, frame, range(10, 74), 'b');
    h2.manifest(manifestOf(0, frame));
    // 64 without the suspect's (the struck broadcaster's included).
    expect(h2.decodes).toEqual([range(10, 74)]);
  });
});

describe('a digest', () => {
  it('that matches delivers the frame: done, announced, released, finished, emitted once', () => {
    const h = host();
    const frame = frameOf(6);
    const f = h.manifest(manifestOf(3, frame));
    h.now = 1234;
    h.send(3, frame, range(0, 64), 'r');
    expect(f.state).toBe('done');
    expect(f.deliveredMs).toBe(1234);
    expect(h.eventsOf('changed', 'release', 'finished')).toEqual(['changed 3', 'changed 3', 'release 3', 'finished 3 done']);
    expect(h.emitted).toEqual([{ type: 'frame', manifest: f.manifest, frame, nowMs: 1234 }]);
    expect(h.stats).toEqual({ framesDelivered: 1, framesMissed: 0, framesPolluted: 0 });
    // Not an init segment: not handed to the init exchange.
    expect(h.eventsOf('init')).toEqual([]);
  });

  it('for a frame no longer there, or no longer hashing, is dropped', () => {
    const h = host();
    const frame = frameOf(7);
    h.manifest(manifestOf(0, frame));
    for (const x of range(0, 64)) h.give(0, x, reference.feedPacket(frame, x), 'r');
    h.frames.delete(0);
    expect(() => h.settle()).not.toThrow();
    expect(h.emitted).toEqual([]);
    // Hashing, then obtained outside the swarm: the late digest delivers nothing more.
    const h2 = host();
    const m = manifestOf(0, frame);
    const f = h2.manifest(m);
    for (const x of range(0, 64)) h2.give(0, x, reference.feedPacket(frame, x), 'r');
    expect(f.state).toBe('hashing');
    expect(h2.v.acceptOutside(f, m, frame, h2.now)).toBe(true);
    h2.settle();
    expect(h2.delivered).toEqual([frame]);
    expect(h2.stats.framesDelivered).toBe(1);
    // A mismatching digest for a frame no longer hashing starts no search either.
    h2.v.onFrameDigest({ kind: 'frame-digest', seq: 0 }, new Uint8Array(32), h2.now);
    expect(h2.stats.framesPolluted).toBe(0);
    expect(f.search).toBeUndefined();
    expect(f.state).toBe('done');
  });

  it('a frame whose decoded bytes are missing is not judged by a digest', () => {
    const h = host();
    const frame = frameOf(8);
    const f = h.manifest(manifestOf(0, frame));
    for (const x of range(0, 64)) h.give(0, x, reference.feedPacket(frame, x), 'r');
    f.frame = undefined;
    h.settle();
    expect(h.emitted).toEqual([]);
    expect(f.state).toBe('hashing');
  });
});

describe('the pollution search', () => {
  /** All keys from one relay r (the only source that could be left out), keys 5 and 10 corrupted. */
  function relocateRig() {
    const h = host();
    const frame = frameOf(9);
    const f = h.manifest(manifestOf(0, frame));
    const bad = (x: number) => x === 5 || x === 10;
    h.send(0, frame, range(0, 64), 'r', bad);
    return { h, f, frame, bad };
  }

  it('2 bad keys need 64 + 5 to be located with a check to spare; the clean sets are worked out again only every SEARCH_RELOCATE_KEYS keys: at 64, 68, 72', () => {
    expect(SEARCH_RELOCATE_KEYS).toBe(4);
    const { h, f, frame, bad } = relocateRig();
    expect(h.stats.framesPolluted).toBe(1);
    expect(f.search?.keysAtLocate).toBe(64);
    for (let x = 64; x < 71; x++) {
      h.send(0, frame, [x], 'r', bad);
      expect(h.delivered, `${x + 1} keys`).toEqual([]);
      expect(f.search?.keysAtLocate, `${x + 1} keys`).toBe(x + 1 < 68 ? 64 : 68);
    }
    // 71 keys would do (located: 5 and 10), but the sets are worked out again only at 72.
    h.send(0, frame, [71], 'r', bad);
    expect(h.delivered).toEqual([frame]);
    expect(h.decodes).toEqual([range(0, 64), range(0, 66).filter((x) => !bad(x))]);
    expect(h.stats.framesPolluted).toBe(1);
    // The search stopped at the decode it started: no more keys asked for after it (the last ask was at 71 keys).
    expect(h.eventsOf('ask').at(-1)).toBe('ask 0 23');
  });

  it('asks for 16 keys beyond those held once every clean set failed, at every key while none is found; marks the frame dirty only when that grows', () => {
    const { h, f, frame, bad } = relocateRig();
    expect(f.extraWant).toBe(16);
    expect(h.eventsOf('dirty', 'ask')).toEqual(['dirty 0', 'ask 0 16']);
    // Tried again with no new key: asked again, the want unchanged, the frame not marked again.
    h.v.tryDecode(f, h.now);
    expect(h.eventsOf('dirty', 'ask')).toEqual(['dirty 0', 'ask 0 16', 'ask 0 16']);
    h.send(0, frame, [64], 'r', bad);
    // Still no clean set (the same one, worked out at 64): 17 wanted.
    expect(h.eventsOf('dirty', 'ask')).toEqual(['dirty 0', 'ask 0 16', 'ask 0 16', 'dirty 0', 'ask 0 17']);
    h.send(0, frame, range(65, 68), 'r', bad);
    expect(f.extraWant).toBe(20);
    expect(h.eventsOf('dirty', 'ask').slice(-2)).toEqual(['dirty 0', 'ask 0 20']);
    // No search is left once the frame is delivered.
    h.send(0, frame, range(68, 72), 'r', bad);
    expect(f.search).toBeUndefined();
  });

  it('an excluded key never enters a clean set', () => {
    const { h, f, frame, bad } = relocateRig();
    f.exclude.add(5);
    // Keys not excluded are counted: 68 of them (69 held) are the relocate after 64; one bad (10)
    // among them is located with checks to spare. Were key 5 counted, 68 held would relocate with
    // 2 bad and no check to spare, and the next relocate be at 72.
    h.send(0, frame, range(64, 68), 'r', bad);
    expect(h.delivered).toEqual([]);
    h.send(0, frame, [68], 'r', bad);
    expect(h.delivered).toEqual([frame]);
    expect(h.decodes.at(-1)).toEqual(range(0, 66).filter((x) => x !== 5 && x !== 10));
  });

  it('a clean set the codec refused is never tried again', () => {
    const { h, frame, bad } = relocateRig();
    h.refuseDecodes = true;
    h.send(0, frame, range(64, 72), 'r', bad);
    // At 72 the clean set (0…66 without 5 and 10) was tried once and refused: more keys are asked.
    expect(h.decodeCalls).toBe(2);
    expect(h.events.at(-1)).toBe('ask 0 24');
    // At 76 the same 64 keys lead the new clean set: not tried again.
    h.send(0, frame, range(72, 76), 'r', bad);
    expect(h.decodeCalls).toBe(2);
    expect(h.events.at(-1)).toBe('ask 0 28');
    expect(h.delivered).toEqual([]);
  });

  /**
   * A manifest whose digest no decode matches: every clean set is tried, which shows their order.
   * Keys below 60 from r1 (10), r2 (20, struck once), r3 (20) and r4 (60…62); the broadcaster's
   * 100…199 and one key made here (99) are trusted.
   */
  function everySet() {
    const h = host();
    h.strikes.set('r2', 1);
    const frame = frameOf(10);
    const sources = ['r1', 'r2', 'r3', 'r4'];
    const keysOf: Record<string, number[]> = { r1: range(0, 30, 3), r2: range(1, 60, 3), r3: range(2, 60, 3), r4: range(60, 63) };
    h.send(0, frame, [99], '');
    h.send(0, frame, range(100, 200), 'b');
    for (const s of sources) h.send(0, frame, keysOf[s], s);
    const f = h.manifest(manifestOf(0, frame, 0, new Uint8Array(32)));
    // Each decode as the sources it left out (listed in the order they are tried: r2, r3, r1, r4).
    const erased = h.decodes.map((used) => ['r2', 'r3', 'r1', 'r4'].filter((s) => sources.includes(s) && !keysOf[s].some((x) => used.includes(x))).join('+') || '-');
    return { h, f, erased };
  }

  it('leaves out sources struck first, then those with more keys, up to 3 together; never the broadcaster nor keys made here; a set tried already is skipped', () => {
    const { h, f, erased } = everySet();
    // The first decode (not a search) left out the suspect r2; the search's first set is every key,
    // its set without r2 is skipped (already rejected).
    expect(erased).toEqual([
      'r2',
      '-',
      'r3',
      'r1',
      'r4',
      'r2+r3',
      'r2+r1',
      'r2+r4',
      'r3+r1',
      'r3+r4',
      'r1+r4',
      'r2+r3+r1',
      'r2+r3+r4',
      'r2+r1+r4',
      'r3+r1+r4',
    ]);
    expect(new Set(h.decodes.map((d) => d.join(','))).size).toBe(h.decodes.length);
    expect(h.decodes.every((d) => d.length === 64)).toBe(true);
    expect(f.search).toMatchObject({ locates: 15, decodes: 15 });
    expect(h.stats.framesPolluted).toBe(1);
    // Every set failed: the suspect's keys do not count as held (r2 avoided), 16 more keys wanted.
    expect([...f.avoid]).toEqual(['r2']);
    expect(f.extraWant).toBe(f.have.size + 16 - 64);
    expect(h.eventsOf('strike', 'bad', 'report')).toEqual([]);
  });

  it("the broadcaster's keys and those made here are never left out, however few", () => {
    // Wrong digest: every clean set is tried. b's 10 keys and 5 made here lead every set; r's 76
    // are the only source that can be left out (which leaves too few). Were b's or the keys made
    // here a source, leaving them out would give a set of r's keys alone.
    for (const trusted of ['b', '']) {
      const h = host();
      const frame = frameOf(27);
      h.send(0, frame, range(0, 10), trusted);
      h.send(0, frame, range(64, 140), 'r');
      const f = h.manifest(manifestOf(0, frame, 0, new Uint8Array(32)));
      expect(h.decodes, `trusted '${trusted}'`).toEqual([[...range(0, 10), ...range(64, 118)]]);
      expect(f.search?.locates, `trusted '${trusted}'`).toBe(1);
    }
  });

  it('asks for at most 192 keys beyond 64', () => {
    const h = host();
    const frame = frameOf(11);
    const f = h.manifest(manifestOf(0, frame, 0, new Uint8Array(32)));
    h.send(0, frame, range(0, 256), 'b');
    // One decode (keys 0…63), rejected; the only clean set leads with the same keys.
    expect(h.decodes).toEqual([range(0, 64)]);
    expect(f.extraWant).toBe(192);
    // Asked at each of the 193 keys from 64 to 256; the want grew (the frame marked dirty) up to
    // 240 keys, 177 times, and stayed at 192 from then.
    expect(h.eventsOf('ask')).toHaveLength(193);
    expect(h.eventsOf('dirty')).toHaveLength(177);
  });

  it("after a search every source's keys are checked by re-encoding, but not the broadcaster's nor those made here", () => {
    const h = host();
    const frame = frameOf(12);
    const f = h.manifest(manifestOf(0, frame));
    const bad = (x: number) => x === 0 || x === 1 || x === 3;
    h.send(0, frame, [0, 1, 2], 'b', bad);
    h.send(0, frame, [3], '', bad);
    h.send(0, frame, range(4, 91), 'r', bad);
    expect(h.stats.framesPolluted).toBe(1);
    expect(h.delivered).toEqual([frame]);
    expect(h.eventsOf('strike', 'bad', 'report')).toEqual([]);
    expect(f.packets.size).toBe(0);
  });
});

describe("after a search, a relay's keys (it had not announced the frame complete)", () => {
  /** r sends keys 0…n−1 (those in `bad` corrupted), b sends 100…199; the manifest last. */
  function judged(n: number, bad: (x: number) => boolean) {
    const h = host();
    const frame = frameOf(28);
    h.send(0, frame, range(0, n), 'r', bad);
    h.send(0, frame, range(100, 200), 'b');
    h.manifest(manifestOf(0, frame));
    expect(h.delivered).toEqual([frame]);
    expect(h.stats.framesPolluted).toBe(1);
    return h.eventsOf('strike', 'bad', 'report');
  }
  const counted = (k: number) => Array.from({ length: k }, () => 'bad r: passed on bad feed packets for frame 0');

  it('half bad (8 of 16) is not mostly bad: nothing', () => {
    expect(judged(16, (x) => x % 2 === 0)).toEqual([]);
  });

  it('9 of 17 bad: counted once per 8 bad keys (twice) and reported', () => {
    expect(judged(17, (x) => x % 2 === 0)).toEqual([...counted(2), 'report r']);
  });

  it('96 bad (RELAY_BAD_KEYS_MAX): counted 12 times and reported, not struck; 97: struck and reported', () => {
    expect(judged(96, () => true)).toEqual([...counted(12), 'report r']);
    expect(judged(97, () => true)).toEqual(['strike r: sent bad feed packets for frame 0', 'report r']);
  });
});

describe('after a verified decode', () => {
  it('without a search: only the keys the decode used are kept, non-suspects are not checked, and what only collecting needs is forgotten', () => {
    const h = host();
    const frame = frameOf(13);
    const f = h.manifest(manifestOf(0, frame));
    h.send(0, frame, range(0, 64), 'b');
    expect(f.state).toBe('done');
    // Keys arriving later are not filed; those of the frame before it was done:
    const h2 = host();
    h2.send(0, frame, [70, 71], 'r', () => true);
    h2.send(0, frame, range(0, 64), 'b');
    const f2 = h2.frames.get(0) as FrameState;
    f2.vouched = KeySet.of([70]);
    f2.offered = KeySet.of([1]);
    f2.offerMs = new Uint16Array(256);
    h2.manifest(manifestOf(0, frame));
    expect(h2.delivered).toEqual([frame]);
    expect([...f2.packets.keys()].sort((a, b) => a - b)).toEqual(range(0, 64));
    expect(h2.eventsOf('strike', 'bad', 'report')).toEqual([]);
    expect(f2).toMatchObject({ search: undefined, vouched: undefined, usedKeys: undefined, log: [], offered: undefined, offerMs: undefined });
    expect(f2.from.size).toBe(0);
  });

  it("a suspect's keys are checked even when the decode did without them: mostly bad is a strike; one bad key it vouched for is proof", () => {
    for (const [vouched, want] of [
      [[], []],
      [[65], ['strike s: sent bad feed packets for frame 0', 'report s']],
    ] as const) {
      const h = host();
      h.strikes.set('s', 1);
      const frame = frameOf(14);
      h.send(0, frame, [64, 65, 66], 's', (x) => x === 65);
      h.send(0, frame, range(0, 64), 'b');
      const f = h.frames.get(0) as FrameState;
      f.vouched = KeySet.of(vouched);
      h.manifest(manifestOf(0, frame));
      expect(h.delivered).toEqual([frame]);
      expect(h.eventsOf('strike', 'bad', 'report'), `vouched ${vouched}`).toEqual(want);
      // Any bad key seen: nothing received is kept.
      expect(f.packets.size, `vouched ${vouched}`).toBe(0);
    }
    const h = host();
    h.strikes.set('s', 1);
    const frame = frameOf(15);
    h.send(0, frame, [64, 65, 66], 's', (x) => x !== 66);
    h.send(0, frame, range(0, 64), 'b');
    const f = h.manifest(manifestOf(0, frame));
    expect(h.eventsOf('strike', 'bad', 'report')).toEqual(['strike s: sent bad feed packets for frame 0', 'report s']);
    expect(f.packets.size).toBe(0);
  });

  it('an init segment is handed to the init exchange and emitted, unless the init exchange delivered it already', () => {
    const frame = frameOf(16, 3000);
    const h = host();
    h.manifest(manifestOf(7, frame, FLAG_INIT_SEGMENT));
    h.send(7, frame, range(0, 64), 'b');
    expect(h.eventsOf('init')).toEqual(['init 7']);
    expect(h.delivered).toEqual([frame]);
    const h2 = host();
    h2.initSeqIs = 7;
    h2.manifest(manifestOf(7, frame, FLAG_INIT_SEGMENT));
    h2.send(7, frame, range(0, 64), 'b');
    expect(h2.eventsOf('init')).toEqual([]);
    expect(h2.emitted).toEqual([]);
    expect(h2.stats.framesDelivered).toBe(1);
    // Another sequence than the init exchange's: handed on.
    const h3 = host();
    h3.initSeqIs = 6;
    h3.manifest(manifestOf(7, frame, FLAG_INIT_SEGMENT));
    h3.send(7, frame, range(0, 64), 'b');
    expect(h3.eventsOf('init')).toEqual(['init 7']);
    expect(h3.delivered).toEqual([frame]);
  });
});

describe('a frame obtained outside the swarm', () => {
  it('ends the frame as a verified decode would; no received packet is kept (none was checked)', () => {
    const h = host();
    const frame = frameOf(17, 9000);
    const m = manifestOf(0, frame);
    h.send(0, frame, range(0, 10), 'r');
    const f = h.frames.get(0) as FrameState;
    h.now = 50;
    expect(h.v.acceptOutside(f, m, frame, h.now)).toBe(true);
    expect(f).toMatchObject({ state: 'done', manifest: m, manifestPending: false, manifestOkMs: 50, P: 256, frame });
    expect(f.packets.size).toBe(0);
    expect(h.delivered).toEqual([frame]);
    // Ended: refused.
    expect(h.v.acceptOutside(f, m, frame, h.now)).toBe(false);
    expect(h.delivered).toHaveLength(1);
  });

  it('keeps the time its own manifest verified; refuses another verified manifest; replaces one still being checked', () => {
    const frame = frameOf(18);
    const other = frameOf(19);
    const h = host();
    // Verified at time 0 (a time like any other).
    const f = h.manifest(manifestOf(0, frame));
    expect(f.manifestOkMs).toBe(0);
    h.now = 20;
    expect(h.v.acceptOutside(f, manifestOf(0, other), other, h.now)).toBe(false);
    expect(h.delivered).toEqual([]);
    expect(h.v.acceptOutside(f, manifestOf(0, frame), frame, h.now)).toBe(true);
    expect(f.manifestOkMs).toBe(0);
    const h2 = host();
    h2.v.onManifest('r', manifestOf(0, other), h2.now);
    const f2 = h2.frames.get(0) as FrameState;
    const m = manifestOf(0, frame);
    expect(h2.v.acceptOutside(f2, m, frame, h2.now)).toBe(true);
    expect(f2.manifest).toBe(m);
    expect(h2.delivered).toEqual([frame]);
    // A missed frame is refused.
    const h3 = host();
    const f3 = h3.frameFor(0, 0) as FrameState;
    f3.state = 'missed';
    expect(h3.v.acceptOutside(f3, m, frame, 0)).toBe(false);
  });
});

describe('manifests', () => {
  it('one check per frame: none for a frame refused, none while one is held', () => {
    const h = host();
    const frame = frameOf(20);
    h.refused.add(5);
    h.v.onManifest('r', manifestOf(5, frame), 0);
    expect(h.pending).toEqual([]);
    h.now = 30;
    h.v.onManifest('r', manifestOf(0, frame), h.now);
    const f = h.frames.get(0) as FrameState;
    expect(f).toMatchObject({ manifestPending: true, manifestMs: 30 });
    h.v.onManifest('s', manifestOf(0, frame), h.now);
    expect(h.pending).toHaveLength(1);
    expect(h.pending[0].job).toMatchObject({ kind: 'verify-manifest', manifest: f.manifest });
    h.settle();
    h.v.onManifest('s', manifestOf(0, frame), h.now);
    expect(h.pending).toEqual([]);
  });

  it('a bad signature strikes its sender and forgets the manifest, to be asked again at once', () => {
    const h = host();
    const frame = frameOf(21);
    const f = h.manifest(manifestOf(0, frame), false, 'r');
    expect(f).toMatchObject({ manifest: undefined, manifestPending: false, manifestAskMs: -Infinity, manifestOkMs: -1 });
    expect(h.events).toEqual(['strike r: manifest with a bad signature']);
  });

  it('a check that ends after the frame is gone changes nothing', () => {
    const h = host();
    const frame = frameOf(22);
    h.v.onManifest('r', manifestOf(0, frame), 0);
    h.frames.delete(0);
    expect(() => h.settle(false)).not.toThrow();
    expect(() => h.settle(true)).not.toThrow();
    expect(h.events).toEqual([]);
  });

  it('a verified manifest is admitted, timed and announced', () => {
    const h = host();
    const frame = frameOf(23);
    h.now = 40;
    const f = h.manifest(manifestOf(2, frame));
    expect(f).toMatchObject({ manifestPending: false, manifestOkMs: 40, P: 128 });
    expect(h.events).toEqual(['admit 2', 'changed 2']);
  });

  it("packets whose size the verified manifest disproves are dropped, each counted against its sender; packets of the manifest's size stay", () => {
    const h = host();
    const frame = frameOf(24);
    // r and a key made here: 256-byte packets (a frame over 8 KiB) of a frame whose manifest says 8000 bytes.
    const big = frameOf(25, 9000);
    h.send(0, big, [3, 4], 'r');
    h.send(0, big, [5], '');
    const f = h.frames.get(0) as FrameState;
    expect(f.P).toBe(256);
    h.manifest(manifestOf(0, frame));
    expect(f).toMatchObject({ P: 128, log: [] });
    expect(f.packets.size).toBe(0);
    expect(f.have.size).toBe(0);
    expect(h.eventsOf('bad')).toEqual(['bad r: feed packet of the wrong size', 'bad r: feed packet of the wrong size']);
    // The frame's own packets are taken from then on.
    h.send(0, frame, range(0, 64), 'r');
    expect(h.delivered).toEqual([frame]);
    // Packets of the right size before the manifest: kept, the frame decoded at once.
    const h2 = host();
    h2.send(0, frame, range(0, 64), 'r');
    const f2 = h2.frames.get(0) as FrameState;
    expect(f2.log).toEqual(range(0, 64));
    h2.manifest(manifestOf(0, frame));
    expect(h2.delivered).toEqual([frame]);
    expect(h2.eventsOf('bad')).toEqual([]);
  });
});

describe('sameBytes', () => {
  it('equal bytes of equal length only', () => {
    expect(sameBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2))).toBe(true);
    expect(sameBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3))).toBe(false);
    expect(sameBytes(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2))).toBe(false);
    expect(sameBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 3))).toBe(false);
    expect(sameBytes(Uint8Array.of(), Uint8Array.of())).toBe(true);
  });
});
