// What the tracker believes about a peer when it hands out holder keys: upload it counts (claims
// are capped, a measured figure lowers them), its age (a probation before holder keys), its
// network (keys spread over distinct networks), and producers' complaints against it. Pure
// functions over room peers with times passed in; used by role-book.ts and room.ts.

import type { RoomConfig } from './room-config.ts';
import type { RoomPeer } from './role-book.ts';

/** Complaints remembered per holder (one per complaining network). */
const MAX_COMPLAINTS = 32;

/**
 * Upload a peer reported, bits per second: what it measured on its own sends, lowered by an upload
 * cap it states (a configured limit); the cap alone when it measured nothing (older clients, a
 * peer with a fixed limit). Undefined when it reported neither: it has shown nothing yet.
 */
export function reportedUploadBps(p: RoomPeer): number | undefined {
  if (p.measuredUploadBps === undefined) return p.uploadBps;
  return p.uploadBps === undefined ? p.measuredUploadBps : Math.min(p.uploadBps, p.measuredUploadBps);
}

/**
 * Upload the tracker counts for ranking: the reported figure (0 when none), capped at
 * maxCountedUploadRatio × bitrate (maxCountedUploadBps while the bitrate is unknown), so a
 * report of 10^12 b/s ranks no higher than an honest strong peer.
 */
export function countedUploadBps(p: RoomPeer, c: RoomConfig, bitrateBps: number): number {
  const cap = bitrateBps > 0 ? c.maxCountedUploadRatio * bitrateBps : c.maxCountedUploadBps;
  return Math.min(reportedUploadBps(p) ?? 0, cap);
}

/** Lowest upload a role asks for, bits per second (0: no rule). */
export function minRoleUpload(c: RoomConfig, bitrateBps: number): number {
  return Math.max(c.minRoleUploadBps, c.minRoleUploadRatio * bitrateBps);
}

/**
 * Where a peer's upload stands against what a role asks for: `proven` (it reported at least that),
 * `trial` (it measured less, but its send buffers were seldom backed up, so the figure is a lower
 * bound: it may take a role and is watched), `short` (less, with its buffers backed up: that is its
 * capacity, or its own stated cap is below), `unknown` (it reported nothing yet).
 */
export function uploadStanding(p: RoomPeer, c: RoomConfig, bitrateBps: number): 'proven' | 'trial' | 'short' | 'unknown' {
  const r = reportedUploadBps(p);
  if (r === undefined) return 'unknown';
  if (r >= minRoleUpload(c, bitrateBps)) return 'proven';
  const m = p.measuredUploadBps;
  if (m !== undefined && m > 0 && r === m && (p.uploadLimitedShare ?? 1) <= c.trialMaxLimitedShare) return 'trial';
  return 'short';
}

/**
 * The peer is past its holder probation: it has been in the room, reporting an upload, this long
 * (a peer that fell short starts over when it reports enough again).
 */
export function seasoned(p: RoomPeer, c: RoomConfig, nowMs: number): boolean {
  return nowMs - Math.max(p.joinedMs, p.reportedSinceMs ?? p.joinedMs) >= c.holderProbationMs;
}

/** A holder moved away after complaints gets no holder key until this passes. */
export function distrusted(p: RoomPeer, nowMs: number): boolean {
  return p.distrustedUntilMs > nowMs;
}

/** Network key for diversity; a peer without one is its own network. */
export function networkOf(p: RoomPeer): string {
  return p.networkKey ?? `#${p.id}`;
}

/**
 * Orders holder candidates: seasoned first, then counted upload, then the oldest, then by id.
 * Network diversity is applied when keys are handed out (pickHolder), not here.
 */
export function rankCandidates(cands: RoomPeer[], c: RoomConfig, bitrateBps: number, nowMs: number): RoomPeer[] {
  const key = new Map(cands.map((p) => [p, { s: seasoned(p, c, nowMs) ? 1 : 0, u: countedUploadBps(p, c, bitrateBps) }]));
  return cands.sort((x, y) => {
    const a = key.get(x)!;
    const b = key.get(y)!;
    return b.s - a.s || b.u - a.u || x.joinedMs - y.joinedMs || (x.id < y.id ? -1 : 1);
  });
}

/**
 * The next holder among ranked fresh candidates (index into `fresh`, or -1): the best one from a
 * network that holds no key yet; when every candidate's network already holds one, the best one.
 * Distrusted peers are never picked.
 */
export function pickHolder(fresh: readonly RoomPeer[], from: number, used: ReadonlySet<string>, nowMs: number): number {
  let fallback = -1;
  for (let i = from; i < fresh.length; i++) {
    const p = fresh[i];
    if (p.holderKeys.length || p.producerGroups.length || distrusted(p, nowMs)) continue;
    if (!used.has(networkOf(p))) return i;
    if (fallback < 0) fallback = i;
  }
  return fallback;
}

/**
 * Records a producer's complaint against a holder; returns true when its keys should move: the
 * networks that complained within complaintWindowMs and still produce from it are at least
 * complaintsToMove and at least complaintShare of the networks that produce from it now
 * (`producerNetworks`). One network counts once, so one address with many producers cannot move a
 * good holder alone, and attackers must be that share of a holder's producers (which the tracker
 * picks, not they) to strip an honest holder; a holder that withholds from all its producers is
 * named by every honest one. At most MAX_COMPLAINTS networks are remembered per holder.
 */
export function recordComplaint(holder: RoomPeer, producer: RoomPeer, c: RoomConfig, nowMs: number, producerNetworks: ReadonlySet<string>): boolean {
  const m = (holder.complaints ??= new Map());
  for (const [k, t] of m) if (nowMs - t > c.complaintWindowMs) m.delete(k);
  const k = networkOf(producer);
  m.delete(k);
  m.set(k, nowMs);
  while (m.size > MAX_COMPLAINTS) m.delete(m.keys().next().value as string);
  let n = 0;
  for (const net of m.keys()) if (producerNetworks.has(net)) n++;
  return n >= Math.max(c.complaintsToMove, Math.ceil(c.complaintShare * producerNetworks.size));
}
