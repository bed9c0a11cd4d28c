// The pull policy as a pure function: which feed keys of one frame to ask for, and from which
// neighbours, given what each neighbour holds, what we hold or already asked for, and how much
// each neighbour may still be asked. No state, no I/O; the viewer core calls it per frame,
// oldest deadline first, and turns the result into REQUEST messages.

import { KeySet } from './key-set.ts';

export interface NeighbourAvailability {
  peerId: string;
  /** The neighbour has decoded and verified the frame: it can make any key. */
  complete: boolean;
  /** Keys it announced (ignored when complete). */
  keys?: KeySet;
  /** Measured delivery score in (0, 1]; a neighbour with twice the weight gets about twice the keys. */
  weight: number;
  /** Keys we may still ask of it now (its share of our outstanding-request budget). */
  budget: number;
  /** Keys not to ask of this neighbour (its serving budget for them is spent). */
  spent?: KeySet;
}

export interface RequestNeed {
  /** Keys we hold. */
  have: KeySet;
  /** Keys asked for and not yet arrived or timed out. */
  inflight: KeySet;
  /** Keys never to ask for (e.g. found bad for this frame). */
  exclude?: KeySet;
  /** How many more keys to ask for (64 + spare − held − in flight). */
  want: number;
}

export interface PlannedRequest {
  peerId: string;
  /** Distinct keys, ascending; disjoint from every other request of the same result. */
  keys: number[];
}

/**
 * Picks up to `need.want` distinct keys not held, not in flight and not excluded. Systematic keys
 * (x < 64, decoded by copying) come first, then coded keys in ascending order. Each key goes to
 * the eligible neighbour with the lowest load (keys assigned + 1) / weight among those with
 * budget left; on a tie a neighbour that holds only some keys goes before one that holds all
 * (its keys are the scarce ones), then the earlier neighbour in the list. Deterministic.
 */
export function chooseRequests(need: RequestNeed, neighbours: readonly NeighbourAvailability[]): PlannedRequest[] {
  if (need.want <= 0 || neighbours.length === 0) return [];
  const assigned = new Array<number>(neighbours.length).fill(0);
  const picked: number[][] = neighbours.map(() => []);
  // Candidate keys as a bitmap: held by someone (everything when a neighbour is complete),
  // minus held, in flight and excluded.
  const cand = new Uint32Array(8);
  for (const n of neighbours) {
    if (n.budget <= 0) continue;
    if (n.complete) {
      cand.fill(0xffffffff);
      break;
    }
    if (n.keys) for (let w = 0; w < 8; w++) cand[w] |= n.keys.word(w);
  }
  for (let w = 0; w < 8; w++) {
    cand[w] &= ~(need.have.word(w) | need.inflight.word(w) | (need.exclude ? need.exclude.word(w) : 0));
  }
  let left = need.want;
  for (let w = 0; w < 8 && left > 0; w++) {
    let bits = cand[w];
    while (bits !== 0 && left > 0) {
      const low = bits & -bits;
      bits ^= low;
      const x = w * 32 + 31 - Math.clz32(low);
      let best = -1;
      let bestLoad = Infinity;
      let bestPartial = false;
      for (let i = 0; i < neighbours.length; i++) {
        const n = neighbours[i];
        if (assigned[i] >= n.budget) continue;
        if (!n.complete && !n.keys?.has(x)) continue;
        if (n.spent?.has(x)) continue;
        const load = (assigned[i] + 1) / Math.max(n.weight, 1e-3);
        const partial = !n.complete;
        if (load < bestLoad - 1e-12 || (Math.abs(load - bestLoad) <= 1e-12 && partial && !bestPartial)) {
          best = i;
          bestLoad = load;
          bestPartial = partial;
        }
      }
      if (best < 0) continue;
      assigned[best]++;
      picked[best].push(x);
      left--;
    }
  }
  const out: PlannedRequest[] = [];
  for (let i = 0; i < neighbours.length; i++) if (picked[i].length > 0) out.push({ peerId: neighbours[i].peerId, keys: picked[i] });
  return out;
}
