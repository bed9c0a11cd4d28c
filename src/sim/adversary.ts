// The adversary kit: hostile peers for the simulator and the tests. An attacker is an honest
// PeerCore (it joins, links, collects and plays like any viewer) whose outgoing messages pass
// through an `Adversary` that alters, drops or adds to them, every message in the real wire format
// (src/protocol/wire.ts). One kind per attacker:
//
// - pollute: every feed and seed packet it sends has each byte XORed with 0x5a. All polluters
//   corrupt alike (the same bad bytes for the same key): a group around one viewer agrees.
// - withhold: announces what it has (HAVE) but sends no feed or seed packet, as a viewer, a holder
//   or a producer; it claims a large upload to the tracker to be given roles.
// - amplify: floods every neighbour with REQUESTs for every key of its newest frames, and
//   INIT_REQUEST, MANIFEST_REQUEST and (to the broadcaster) CS_REPAIR, again and again.
// - far-future: HAVE entries and FEED packets naming sequences near 2^32.
// - claim: HELLO with the broadcaster's role bit, DIRECT_SLOT and CS_CHUNK as if it were the
//   broadcaster, and a large upload claimed to the tracker.
// - report: REPORTs naming its honest neighbours as banned, to every neighbour (the broadcaster acts on them).
// - replay: the manifests and init segments it relays are those of an earlier broadcast signed
//   with the same key (another broadcast id), and it announces such manifests ahead of the real ones.
// - rejoin: pollutes; once banned it leaves and comes back under a new id from the same address.
//
// Signal floods go through the tracker's server, not the room the simulator drives: they are not
// in the kit (the tracker's own tests cover its per-pair signal budget).
// Pure; used by the simulator (sim-peer's `adv`) and the tests.

import { P2PError } from '../errors.ts';
import { KEY_SET_BYTES } from '../protocol/key-set.ts';
import { CS_CHUNK_BYTES, HAVE_MANIFEST, type Manifest, type WireMessage } from '../protocol/wire.ts';
import { TAINT } from './tainted-codec.ts';

export const ATTACK_KINDS = ['pollute', 'withhold', 'amplify', 'far-future', 'claim', 'report', 'replay', 'rejoin'] as const;
export type AttackKind = (typeof ATTACK_KINDS)[number];
/** What `--attack` names: one kind, or `mix` (the kinds in turn over the attackers). */
export type AttackName = AttackKind | 'mix';

export function isAttackName(s: string): s is AttackName {
  return s === 'mix' || (ATTACK_KINDS as readonly string[]).includes(s);
}

/** The kind of the index-th attacker; `mix` deals the kinds in turn (replay only where it can sign). */
export function attackOf(name: AttackName, index: number, canReplay: boolean): AttackKind {
  if (name !== 'mix') return name;
  const kinds = canReplay ? ATTACK_KINDS : ATTACK_KINDS.filter((k) => k !== 'replay');
  return kinds[index % kinds.length];
}

/** Whether the index-th viewer (0-based, in joining order) is an attacker, for a share in 0…1: evenly spread. */
export function isAttackerSlot(share: number, index: number): boolean {
  return Math.floor((index + 1) * share + 1e-9) > Math.floor(index * share + 1e-9);
}

/** The sequence the far-future attacker names (above any broadcaster's: MAX_STREAM_SEQ is 0xefffffff). */
export const FAR_SEQ = 0xfffffff0;

/** One message an attacker adds on its own. */
export interface Injected {
  to: string;
  control: boolean;
  message: WireMessage;
}

/** A neighbour as the attacker sees it. */
export interface NeighbourView {
  id: string;
  broadcaster: boolean;
}

const ALL_KEYS = new Uint8Array(KEY_SET_BYTES).fill(0xff);

/** `p` with each byte XORed with TAINT: the same bad bytes from every polluter. */
export function corrupt(p: Uint8Array): Uint8Array {
  const out = new Uint8Array(p.length);
  for (let i = 0; i < p.length; i++) out[i] = p[i] ^ TAINT;
  return out;
}

export class Adversary {
  /** Hostile messages sent (by wire type), and messages kept back (`withheld`). */
  readonly counts = new Map<string, number>();
  /** Neighbour → when it was first sent a hostile message (`touched`). */
  readonly touched = new Map<string, number>();
  /** Upload it tells the tracker it has (bits per second): withholders and claimers inflate it. */
  readonly claimBps: number | undefined;
  /** Set once it is leaving to come back under a new id (rejoin). */
  leaving = false;
  private newest = -1;
  private ticks = 0;

  /**
   * `forge` signs a manifest of an earlier broadcast for the same frame (replay; the simulator's
   * identity signer). Without it the replay kind cannot be made (BAD_CONFIG).
   */
  constructor(
    readonly kind: AttackKind,
    private readonly forge?: (m: Manifest) => Manifest,
    bitrateBps = 2_500_000,
  ) {
    if (kind === 'replay' && !forge) throw new P2PError('BAD_CONFIG', 'the replay attack needs a signer of an earlier broadcast (identity runs only)');
    this.claimBps = kind === 'withhold' || kind === 'claim' ? 40 * bitrateBps : undefined;
  }

  /** Total hostile messages sent (withheld ones not included). */
  get hostileSent(): number {
    let n = 0;
    for (const [k, v] of this.counts) if (k !== 'withheld') n += v;
    return n;
  }

  /** A message it received: it learns the newest frame (to aim its floods and forgeries). */
  observe(m: WireMessage): void {
    let seq = -1;
    if (m.type === 'feed' || m.type === 'seed' || m.type === 'cs-chunk') seq = m.seq;
    else if (m.type === 'manifest') seq = m.manifest.seq;
    else if (m.type === 'have') for (const e of m.entries) seq = Math.max(seq, e.seq);
    if (seq > this.newest && seq < FAR_SEQ - 256) this.newest = seq;
  }

  /**
   * What its honest core wanted to send to `to`: the message to send instead (the same one when
   * nothing changes), or undefined to send nothing. `hostile` tells the caller to count it.
   */
  outgoing(to: string, m: WireMessage, nowMs: number): WireMessage | undefined {
    switch (this.kind) {
      case 'pollute':
      case 'rejoin':
        if (m.type === 'feed' || m.type === 'seed') return this.hostile(to, { ...m, payload: corrupt(m.payload) }, nowMs);
        return m;
      case 'withhold':
        if (m.type === 'feed' || m.type === 'seed') {
          this.count('withheld');
          return undefined;
        }
        return m;
      case 'claim':
        if (m.type === 'hello') return this.hostile(to, { ...m, roles: 1 }, nowMs);
        return m;
      case 'replay':
        if (m.type === 'manifest') return this.hostile(to, { type: 'manifest', manifest: (this.forge as (m: Manifest) => Manifest)(m.manifest) }, nowMs);
        if (m.type === 'init-segment') return this.hostile(to, { ...m, manifest: (this.forge as (m: Manifest) => Manifest)(m.manifest) }, nowMs);
        return m;
      default:
        return m;
    }
  }

  /** Its timer ticked: what it sends on its own to its neighbours (floods, made-up claims). */
  tick(nowMs: number, neighbours: readonly NeighbourView[]): Injected[] {
    const out: Injected[] = [];
    const t = this.ticks++;
    const seq = this.newest;
    const add = (to: string, control: boolean, message: WireMessage) => {
      this.hostile(to, message, nowMs);
      out.push({ to, control, message });
    };
    switch (this.kind) {
      case 'amplify':
        if (seq < 0) break;
        for (const n of neighbours) {
          for (let s = Math.max(0, seq - 3); s <= seq; s++) add(n.id, true, { type: 'request', seq: s, count: 255, allowed: ALL_KEYS });
          if (t % 5 === 0) {
            add(n.id, true, { type: 'init-request', seq: 0 });
            add(n.id, true, { type: 'manifest-request', seq });
            if (n.broadcaster) add(n.id, true, { type: 'cs-repair', seq, c: t % 11, mask: 0xff });
          }
        }
        break;
      case 'far-future':
        for (const n of neighbours) {
          add(n.id, true, { type: 'have', entries: [{ seq: FAR_SEQ + (t % 8), flags: HAVE_MANIFEST, keys: [0, 1, 2, 3] }] });
          add(n.id, false, { type: 'feed', seq: FAR_SEQ + (t % 8), x: t % 256, payload: new Uint8Array(128) });
        }
        break;
      case 'claim':
        if (t % 2 !== 0) break;
        for (const n of neighbours) {
          add(n.id, true, { type: 'direct-slot', slot: 0, slots: 1, keys: 65 });
          if (seq >= 0) add(n.id, false, { type: 'cs-chunk', seq, c: t % 11, chunk: 0, chunks: 1, payload: new Uint8Array(CS_CHUNK_BYTES).fill(TAINT) });
        }
        break;
      case 'report':
        if (t % 5 !== 0) break;
        for (const n of neighbours) for (const o of neighbours) if (o.id !== n.id && !o.broadcaster) add(n.id, true, { type: 'report', peerId: o.id });
        break;
      case 'replay':
        if (seq < 0 || t % 2 !== 0 || !this.forge) break;
        for (const n of neighbours) {
          const m: Manifest = {
            seq: seq + 1, length: 8192, captureTimeMs: nowMs, flags: 0,
            broadcastId: new Uint8Array(8), digest: new Uint8Array(32), signature: new Uint8Array(64),
          };
          add(n.id, true, { type: 'manifest', manifest: this.forge(m) });
        }
        break;
      default:
        break;
    }
    return out;
  }

  private hostile(to: string, m: WireMessage, nowMs: number): WireMessage {
    this.count(m.type);
    if (!this.touched.has(to)) this.touched.set(to, nowMs);
    return m;
  }

  private count(k: string): void {
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }
}

// ---- what the attack cost (the simulator's report) -------------------------------------------

/** One attacker's stay, as the simulator recorded it. */
export interface AttackerRecord {
  id: string;
  kind: AttackKind;
  joinMs: number;
  leftMs: number;
  counts: ReadonlyMap<string, number>;
  /** Honest peer → when it was first sent a hostile message. */
  touched: ReadonlyMap<string, number>;
  /** Bytes honest peers (the broadcaster included) sent it, and the broadcaster's part. */
  paidBytes: number;
  paidByBroadcaster: number;
}

export interface AttackKindFigures {
  kind: AttackKind;
  attackers: number;
  /** Hostile messages sent (withheld ones apart). */
  hostileMessages: number;
  withheld: number;
  /** (attacker, honest peer) pairs where the attacker sent the peer a hostile message, and how many of them the peer banned. */
  pairsTouched: number;
  pairsBanned: number;
  pairsBannedInTime: number;
  /** First hostile message to ban, over the banned pairs, ms. */
  banP50Ms: number;
  banMaxMs: number;
  /** Bytes honest peers sent its attackers / stream bytes of each one's stay: mean and worst. */
  paidCopiesMean: number;
  paidCopiesMax: number;
}

export interface AttackReport {
  attack: string;
  /** Attacker ids over the run (a rejoin is a new id). */
  attackers: number;
  kinds: AttackKindFigures[];
  pairsTouched: number;
  pairsBanned: number;
  /** Banned within `banWithinMs` of the first hostile message. */
  pairsBannedInTime: number;
  banWithinMs: number;
  banP50Ms: number;
  banP95Ms: number;
  banMaxMs: number;
  /** Attackers that touched an honest peer, and of those, the ones every touched peer banned in time. */
  attackersTouching: number;
  attackersBannedByAllInTime: number;
  /** Honest peers banned by honest peers (the broadcaster included), and the ban events. */
  honestBanned: number;
  honestBanEvents: number;
  /** Why honest peers were banned: reasons (numbers left out) and how many bans each, most first. */
  honestBanReasons: Array<{ reason: string; bans: number }>;
  /** Bytes honest peers sent each attacker / stream bytes published during its stay: mean and worst. */
  paidCopiesMean: number;
  paidCopiesMax: number;
  /** Bytes the broadcaster sent attackers / all stream bytes published. */
  broadcasterPaidRatio: number;
  /** Attackers that came back under a new id, and links made again between one of those and a peer that had banned an earlier id of its address. */
  rejoins: number;
  reintroduced: number;
  /**
   * Producers' complaints to the tracker by honest peers, against attackers and against honest
   * holders, and holders whose keys the tracker moved on complaints (attackers, honest peers), with
   * the time from an attacker holder's first complaint to its move (p50, worst).
   */
  complaints: { againstAttackers: number; againstHonest: number; movedAttackers: number; movedHonest: number; moveP50Ms: number; moveMaxMs: number };
  /** Direct-feed slots the broadcaster moved on MISSING reports: attackers' and honest viewers', and the attackers' first move after they joined (worst). */
  slotMoves: { attackers: number; honest: number; attackerMoveMaxMs: number };
}

/** One complaint the simulated tracker heard: from, against, when, and whether it moved the holder's keys. */
export interface ComplaintRecord {
  by: string;
  peerId: string;
  reason: string;
  atMs: number;
  moved: boolean;
}

export function summarizeAttack(input: {
  attack: string;
  attackers: readonly AttackerRecord[];
  bans: ReadonlyArray<{ by: string; peerId: string; atMs: number; reason?: string }>;
  /** Stream bytes published in [fromMs, toMs). */
  streamBytes: (fromMs: number, toMs: number) => number;
  endMs: number;
  banWithinMs: number;
  rejoins: number;
  reintroduced: number;
  complaints?: readonly ComplaintRecord[];
  slotMoves?: ReadonlyArray<{ peerId: string; atMs: number }>;
}): AttackReport {
  const bad = new Set(input.attackers.map((a) => a.id));
  const slotMoves = { attackers: 0, honest: 0, attackerMoveMaxMs: NaN };
  const joined = new Map(input.attackers.map((a) => [a.id, a.joinMs]));
  const firstMove = new Map<string, number>();
  for (const m of input.slotMoves ?? []) {
    if (!bad.has(m.peerId)) {
      slotMoves.honest++;
      continue;
    }
    slotMoves.attackers++;
    if (!firstMove.has(m.peerId)) firstMove.set(m.peerId, m.atMs - (joined.get(m.peerId) as number));
  }
  if (firstMove.size > 0) slotMoves.attackerMoveMaxMs = Math.max(...firstMove.values());
  const complaints = { againstAttackers: 0, againstHonest: 0, movedAttackers: 0, movedHonest: 0, moveP50Ms: NaN, moveMaxMs: NaN };
  const firstComplaint = new Map<string, number>();
  const moveTimes: number[] = [];
  for (const c of input.complaints ?? []) {
    if (bad.has(c.by)) continue;
    if (bad.has(c.peerId)) complaints.againstAttackers++;
    else complaints.againstHonest++;
    if (!firstComplaint.has(c.peerId)) firstComplaint.set(c.peerId, c.atMs);
    if (!c.moved) continue;
    if (bad.has(c.peerId)) {
      complaints.movedAttackers++;
      moveTimes.push(c.atMs - (firstComplaint.get(c.peerId) as number));
    } else complaints.movedHonest++;
    firstComplaint.delete(c.peerId);
  }
  if (moveTimes.length) {
    moveTimes.sort((a, b) => a - b);
    complaints.moveP50Ms = moveTimes[Math.ceil(moveTimes.length / 2) - 1];
    complaints.moveMaxMs = moveTimes[moveTimes.length - 1];
  }
  // First ban of each attacker by each peer.
  const firstBan = new Map<string, number>();
  let honestBanEvents = 0;
  const honestBanned = new Set<string>();
  const reasons = new Map<string, number>();
  for (const b of input.bans) {
    if (bad.has(b.by)) continue;
    if (!bad.has(b.peerId)) {
      honestBanEvents++;
      honestBanned.add(b.peerId);
      const r = (b.reason ?? 'unknown').replace(/\d+/g, 'N');
      reasons.set(r, (reasons.get(r) ?? 0) + 1);
      continue;
    }
    const k = `${b.peerId}>${b.by}`;
    if (!firstBan.has(k)) firstBan.set(k, b.atMs);
  }
  const all: number[] = [];
  const kinds = new Map<AttackKind, AttackKindFigures & { times: number[]; copies: number[] }>();
  let touching = 0;
  let byAll = 0;
  let touchedPairs = 0;
  let bannedPairs = 0;
  let inTime = 0;
  const copies: number[] = [];
  let paidByB = 0;
  for (const a of input.attackers) {
    let k = kinds.get(a.kind);
    if (!k) kinds.set(a.kind, (k = { kind: a.kind, attackers: 0, hostileMessages: 0, withheld: 0, pairsTouched: 0, pairsBanned: 0, pairsBannedInTime: 0, banP50Ms: NaN, banMaxMs: NaN, paidCopiesMean: NaN, paidCopiesMax: NaN, times: [], copies: [] }));
    k.attackers++;
    for (const [t, n] of a.counts) if (t === 'withheld') k.withheld += n;
    else k.hostileMessages += n;
    let allInTime = true;
    let any = false;
    for (const [victim, at] of a.touched) {
      if (bad.has(victim)) continue;
      any = true;
      touchedPairs++;
      k.pairsTouched++;
      const b = firstBan.get(`${a.id}>${victim}`);
      if (b === undefined) {
        allInTime = false;
        continue;
      }
      bannedPairs++;
      k.pairsBanned++;
      const dt = Math.max(0, b - at);
      all.push(dt);
      k.times.push(dt);
      if (dt <= input.banWithinMs) {
        inTime++;
        k.pairsBannedInTime++;
      } else allInTime = false;
    }
    if (any) {
      touching++;
      if (allInTime) byAll++;
    }
    const stream = input.streamBytes(a.joinMs, Math.min(a.leftMs, input.endMs));
    if (stream > 0) {
      copies.push(a.paidBytes / stream);
      k.copies.push(a.paidBytes / stream);
    }
    paidByB += a.paidByBroadcaster;
  }
  const sorted = Float64Array.from(all).sort();
  const pick = (s: Float64Array, p: number) => (s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] : NaN);
  const total = input.streamBytes(0, input.endMs);
  return {
    attack: input.attack,
    attackers: input.attackers.length,
    kinds: [...kinds.values()].map(({ times, copies: c, ...k }) => {
      const s = Float64Array.from(times).sort();
      return { ...k, banP50Ms: pick(s, 50), banMaxMs: pick(s, 100), paidCopiesMean: c.length ? c.reduce((x, y) => x + y, 0) / c.length : NaN, paidCopiesMax: c.length ? Math.max(...c) : NaN };
    }),
    pairsTouched: touchedPairs,
    pairsBanned: bannedPairs,
    pairsBannedInTime: inTime,
    banWithinMs: input.banWithinMs,
    banP50Ms: pick(sorted, 50),
    banP95Ms: pick(sorted, 95),
    banMaxMs: pick(sorted, 100),
    attackersTouching: touching,
    attackersBannedByAllInTime: byAll,
    honestBanned: honestBanned.size,
    honestBanEvents,
    honestBanReasons: [...reasons].map(([reason, bans]) => ({ reason, bans })).sort((a, b) => b.bans - a.bans || (a.reason < b.reason ? -1 : 1)),
    paidCopiesMean: copies.length ? copies.reduce((x, y) => x + y, 0) / copies.length : NaN,
    paidCopiesMax: copies.length ? Math.max(...copies) : NaN,
    broadcasterPaidRatio: total > 0 ? paidByB / total : NaN,
    rejoins: input.rejoins,
    reintroduced: input.reintroduced,
    complaints,
    slotMoves,
  };
}
