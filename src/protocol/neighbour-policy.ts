// The one place where a core decides how far to trust and serve each neighbour: decaying scores of
// bad messages and proven strikes with their ban thresholds, and the budgets of everything a core
// serves on request (feed keys per neighbour and frame, init segments, manifests, code-segment
// chunks), gossipsub-like (scores decay each interval; thresholds beside them). Role modules ask
// "may I serve this?" and never keep counters of their own. Pure: no clock (times come in), no I/O.

/** Parameters of the policy, with what each one answers. */
export interface PolicyConfig {
  /**
   * Bad-message score at which a neighbour is banned: unparseable, out-of-role, out-of-window or
   * over-budget messages each add 1. (Flooding garbage; role claims; far-future sequences.)
   */
  badMessagesToBan: number;
  /** The bad-message score is multiplied by this once per decayIntervalMs (an honest peer's rare slips fade). */
  badDecay: number;
  /** Proven bad frames (bad signatures, packets a verified frame disproves) before a ban. (Pollution.) */
  strikesToBan: number;
  /** Strikes are multiplied by this once per decayIntervalMs (slowly: pollution is deliberate). */
  strikeDecay: number;
  decayIntervalMs: number;
  /**
   * Times one feed key of one frame is served to one neighbour, by pull or push: the first and a
   * retry after loss (1 or 2). (REQUEST floods: amplification ≤ 1 packet per key asked.)
   */
  serveKeyTimes: number;
  /** Feed keys of one frame served to one neighbour in all (64 to decode, spares, a few retries). */
  serveKeysPerFrame: number;
  /** Manifest answers per frame and neighbour (a retry included). */
  serveManifestTimes: number;
}

export const DEFAULT_POLICY: Readonly<PolicyConfig> = Object.freeze({
  badMessagesToBan: 50,
  badDecay: 0.99,
  strikesToBan: 2,
  strikeDecay: 0.999,
  decayIntervalMs: 1000,
  serveKeyTimes: 2,
  serveKeysPerFrame: 96,
  serveManifestTimes: 2,
});

/** What the policy keeps per neighbour: its scores, and what it was served per frame. */
interface Record {
  bad: number;
  strikes: number;
  /** Decay interval the scores were last brought to. */
  epoch: number;
  /**
   * frame seq → keys served once (words 0–7) and twice (8–15), and their total (word 16); keys it
   * asked for once (17–24) and twice (25–32), and their total (33)
   */
  keys: Map<number, Uint32Array>;
  /** `${kind}:${seq}:${part}` → times served */
  once: Map<string, number>;
}

export type Verdict = 'ok' | 'ban';

export class NeighbourPolicy {
  private readonly peers = new Map<string, Record>();

  constructor(readonly cfg: PolicyConfig) {}

  private rec(peerId: string, nowMs: number): Record {
    let r = this.peers.get(peerId);
    const epoch = Math.floor(nowMs / this.cfg.decayIntervalMs);
    if (!r) this.peers.set(peerId, (r = { bad: 0, strikes: 0, epoch, keys: new Map(), once: new Map() }));
    if (epoch > r.epoch) {
      const k = epoch - r.epoch;
      r.bad *= Math.pow(this.cfg.badDecay, k);
      r.strikes *= Math.pow(this.cfg.strikeDecay, k);
      r.epoch = epoch;
    }
    return r;
  }

  /** One bad message from peerId: 'ban' once its score reaches badMessagesToBan. */
  countBad(peerId: string, nowMs: number): Verdict {
    const r = this.rec(peerId, nowMs);
    r.bad += 1;
    return r.bad >= this.cfg.badMessagesToBan - 1e-9 ? 'ban' : 'ok';
  }

  /** One proven bad frame from peerId: 'ban' once its strikes reach strikesToBan. */
  strike(peerId: string, nowMs: number): Verdict {
    const r = this.rec(peerId, nowMs);
    r.strikes += 1;
    return r.strikes >= this.cfg.strikesToBan - 1e-9 ? 'ban' : 'ok';
  }

  /** Strikes of peerId (decayed; whole strikes count, so any strike marks it suspect until it fades below 1). */
  strikesOf(peerId: string): number {
    const r = this.peers.get(peerId);
    return r ? r.strikes : 0;
  }

  badScore(peerId: string, nowMs: number): number {
    return this.peers.has(peerId) ? this.rec(peerId, nowMs).bad : 0;
  }

  /**
   * May key x of frame seq be served (pulled or pushed) to peerId now? Records it when yes. False
   * once the key was served serveKeyTimes, or the frame serveKeysPerFrame keys, to that neighbour.
   */
  serveKey(peerId: string, seq: number, x: number, nowMs: number): boolean {
    const r = this.rec(peerId, nowMs);
    let f = r.keys.get(seq);
    if (!f) r.keys.set(seq, (f = new Uint32Array(34)));
    if (f[16] >= this.cfg.serveKeysPerFrame) return false;
    const w = x >> 5;
    const bit = 1 << (x & 31);
    const times = (f[w] & bit ? 1 : 0) + (f[8 + w] & bit ? 1 : 0);
    if (times >= this.cfg.serveKeyTimes) return false;
    f[times === 0 ? w : 8 + w] |= bit;
    f[16]++;
    return true;
  }

  /**
   * peerId asks for key x of frame seq (a REQUEST), which this peer holds: 'serve' (recorded, as by
   * serveKey), 'spent' when the budget is used up by what was pushed to it (refused, not its fault:
   * it cannot know which pushes reached it), 'over' when its own asks went past the budget (asked
   * for x more than serveKeyTimes, or for more than serveKeysPerFrame keys of the frame): refused,
   * and counted against it. An honest asker keeps its own count of its asks and never goes over
   * (NeighbourState.askBudget), however many of its answers are lost.
   */
  serveAsked(peerId: string, seq: number, x: number, nowMs: number): 'serve' | 'spent' | 'over' {
    const r = this.rec(peerId, nowMs);
    let f = r.keys.get(seq);
    if (!f) r.keys.set(seq, (f = new Uint32Array(34)));
    const w = x >> 5;
    const bit = 1 << (x & 31);
    const asked = (f[17 + w] & bit ? 1 : 0) + (f[25 + w] & bit ? 1 : 0);
    if (asked >= this.cfg.serveKeyTimes || f[33] >= this.cfg.serveKeysPerFrame) return 'over';
    f[asked === 0 ? 17 + w : 25 + w] |= bit;
    f[33]++;
    return this.serveKey(peerId, seq, x, nowMs) ? 'serve' : 'spent';
  }

  /** Keys of frame seq still servable to peerId (for the total budget). */
  keysLeft(peerId: string, seq: number): number {
    const f = this.peers.get(peerId)?.keys.get(seq);
    return this.cfg.serveKeysPerFrame - (f ? f[16] : 0);
  }

  /** May `kind` of (seq, part) be served to peerId a time more (at most `times`)? Records it when yes. */
  serveTimes(peerId: string, kind: string, seq: number, part: number, times: number, nowMs: number): boolean {
    const r = this.rec(peerId, nowMs);
    const k = `${kind}:${seq}:${part}`;
    const n = r.once.get(k) ?? 0;
    if (n >= times) return false;
    r.once.set(k, n + 1);
    return true;
  }

  /** Frame seq is gone: its budgets with it (memory stays bounded by the frames kept). */
  forgetFrame(seq: number): void {
    for (const r of this.peers.values()) {
      r.keys.delete(seq);
      if (r.once.size > 0) for (const k of r.once.keys()) if (k.split(':')[1] === String(seq)) r.once.delete(k);
    }
  }

  /** Budgets of frames below `seq` go (the broadcaster forgets frames by age). */
  forgetBelow(seq: number): void {
    for (const r of this.peers.values()) {
      for (const s of r.keys.keys()) if (s < seq) r.keys.delete(s);
      for (const k of r.once.keys()) if (Number(k.split(':')[1]) < seq) r.once.delete(k);
    }
  }

  /** A neighbour left: its budgets go; its scores stay while they count (a reconnect does not clear them). */
  forgetPeer(peerId: string): void {
    const r = this.peers.get(peerId);
    if (!r) return;
    if (r.bad < 1 && r.strikes < 1) this.peers.delete(peerId);
    else {
      r.keys.clear();
      r.once.clear();
    }
  }
}
