// Why frames were not played on time (`--why-missed`): every (honest viewer, frame) the report counts
// as not on time, sorted into one cause as the viewer's state showed it when the player needed the
// frame. Two passes of the same seeded run: the first gives delivery times, hence the player's
// playout and when it needed each fragment it lacked (the deadline); the second run, identical,
// looks at the late frame's state in the viewer's core at that deadline (keys held, keys its
// neighbours had announced, requests in flight, queues, CPU). Pure but for reading the cores; used
// by simulator.ts and cli.ts.

import type { PeerCore } from '../protocol/peer-core.ts';
import { directSlotKeys } from '../protocol/frame-state.ts';
import { KeySet } from '../protocol/key-set.ts';
import { simulatePlayout } from './playout.ts';
import { fragmentsOf, type PublishedFrame, type ViewerRecord } from './sim-report.ts';
import type { SimPeer } from './sim-peer.ts';
import { DELIVER } from './sim-event.ts';

/** A queue or event loop counts as backed up at a deadline when it holds more than this, ms. */
export const BACKLOG_MS = 100;

/** How a (viewer, frame) came to be not on time, from the playout alone. */
export type MissKind = 'before-first-picture' | 'late' | 'skipped' | 'seeked-over';

/** One missed (viewer, frame): its fragment's fate and, for a fragment the player waited on, when it needed it. */
export interface MissedFrame {
  viewer: string;
  seq: number;
  fragment: number;
  kind: MissKind;
  /** When the player needed the fragment (late, skipped), ms; NaN otherwise. */
  neededMs: number;
  /** When this viewer delivered the frame, ms (Infinity: never). */
  deliveredMs: number;
  /** This frame was itself missing at the deadline (else it waited on a fragment-mate). */
  culprit: boolean;
}

/** What a late frame's viewer held and saw at the deadline. */
export interface FrameSnapshot {
  /** The viewer had frame state for it (it had heard of the frame). */
  opened: boolean;
  state: string;
  have: number;
  inflight: number;
  manifest: boolean;
  /** Distinct keys held or announced (HAVE) by neighbours it may ask (256 when one announced it complete). */
  offered: number;
  neighbours: number;
  /** The viewer's own download link, event loop: busy for this long after the deadline, ms. */
  downBacklogMs: number;
  cpuBacklogMs: number;
  /** Largest uplink backlog among the neighbours whose answers it awaited, ms; keys queued for it in their cores. */
  senderBacklogMs: number;
  senderQueued: number;
  /** Directly fed: keys of its own slot missing at the deadline, and of other slots. */
  direct: boolean;
  ownSlotMissing: number;
  /** Deadline minus the frame's first sighting here, ms. */
  ageMs: number;
  /** Keys in flight asked longer ago than their sender's smoothed RTT + 4 deviations (likely lost, awaiting their timeout). */
  overdue: number;
  /** Oldest request in flight: asked this long before the deadline, ms (0: none). */
  oldestAskMs: number;
  /**
   * Direct feed: keys of the direct set it lacked at the deadline, and how many of them were in the
   * slot of a viewer whose uplink is below the stream rate; slots of such viewers in that frame, of all.
   */
  directLacking: number;
  /**
   * Keys in flight, by where they were at the deadline: the REQUEST still on its way (the reliable
   * channel's retransmissions and head-of-line wait included), the sender lacking the key, the
   * answer queued in the sender's core, the answer on the wire or in this viewer's download queue,
   * none of these (the answer was lost, dropped or not served).
   */
  whereabouts: { request: number; senderLacks: number; queued: number; answer: number; gone: number };
  /** Keys in flight asked of a neighbour whose uplink is below the stream rate. */
  inflightFromSlow: number;
  lackingInSlowSlots: number;
  slowSlots: number;
  slots: number;
}

/** The broadcaster's direct feed of a frame: each slot's viewer (slot i: keys k with (k + seq) % slots === i) and the direct set's size. */
export interface DirectFeedOf {
  order: readonly string[];
  keys: number;
}

/** Missed (viewer, frame) pairs of one run, as buildReport counts them, and the late frames to look at. */
export function listMisses(input: { frames: readonly PublishedFrame[]; viewers: readonly ViewerRecord[]; deadlineMs: number; warmupMs: number; endMs: number }): { misses: MissedFrame[]; due: Map<string, number> } {
  const frames = [...input.frames].sort((a, b) => a.seq - b.seq);
  const frag = fragmentsOf(frames);
  const out: MissedFrame[] = [];
  const due = new Map<string, number>();
  for (const v of input.viewers) {
    if (v.adversary) continue;
    const end = Math.min(v.leftMs, input.endMs);
    const from = v.joinMs + input.warmupMs;
    if (end - from < 5000) continue;
    const play = simulatePlayout({ fragments: frag.fragments, initSeqs: frag.initSeqs, delivered: v.delivered, joinMs: v.joinMs, endMs: end, measureFromMs: from });
    const startMs = v.joinMs + play.firstPictureMs;
    for (const f of frames) {
      if (f.publishMs < from || f.publishMs > end - input.deadlineMs || f.fragment < 0) continue;
      const k = frag.index.get(f.fragment) as number;
      due.set(v.id, (due.get(v.id) ?? 0) + 1);
      if (play.onTime[k]) continue;
      const needed = play.neededMs[k];
      const deliveredMs = v.delivered.get(f.seq) ?? Infinity;
      let kind: MissKind;
      if (play.skippedAt[k]) kind = 'skipped';
      else if (play.late[k]) kind = 'late';
      // The player started at a later fragment (the newest whole one) or had not started yet.
      else if (!play.appended[k] && !(startMs <= f.publishMs)) kind = 'before-first-picture';
      else kind = 'seeked-over';
      out.push({ viewer: v.id, seq: f.seq, fragment: k, kind, neededMs: needed, deliveredMs, culprit: !Number.isNaN(needed) && deliveredMs > needed });
    }
  }
  return { misses: out, due };
}

/** Per viewer, the (deadline, seq) pairs whose state the second pass looks at, by deadline. */
export function probesOf(misses: readonly MissedFrame[]): Map<string, Array<{ atMs: number; seq: number }>> {
  const out = new Map<string, Array<{ atMs: number; seq: number }>>();
  const seen = new Set<string>();
  for (const m of misses) {
    if (!m.culprit) continue;
    const key = `${m.viewer}:${m.seq}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let l = out.get(m.viewer);
    if (!l) out.set(m.viewer, (l = []));
    l.push({ atMs: m.neededMs, seq: m.seq });
  }
  for (const l of out.values()) l.sort((a, b) => a.atMs - b.atMs);
  return out;
}

/** Looks at frame `seq` in viewer p's core at `nowMs` (between its events: nothing changes it). */
export function snapshotFrame(p: SimPeer, seq: number, nowMs: number, feed?: DirectFeedOf, slow?: (peerId: string) => boolean): FrameSnapshot {
  const core = p.core as PeerCore;
  const f = core.framesBySeq.get(seq);
  const snap: FrameSnapshot = {
    opened: f !== undefined, state: f?.state ?? 'none', have: f?.have.size ?? 0, inflight: f?.inflight.size ?? 0, manifest: f?.manifest !== undefined,
    offered: 0, neighbours: core.neighbours.size, downBacklogMs: Math.max(0, p.downFree - nowMs), cpuBacklogMs: Math.max(0, p.cpuFree - nowMs),
    senderBacklogMs: 0, senderQueued: 0, direct: false, ownSlotMissing: 0, ageMs: f ? nowMs - f.firstSeenMs : 0, overdue: 0, oldestAskMs: 0,
    directLacking: 0, whereabouts: { request: 0, senderLacks: 0, queued: 0, answer: 0, gone: 0 }, inflightFromSlow: 0, lackingInSlowSlots: 0, slowSlots: 0, slots: 0,
  };
  if (feed && slow && feed.order.length > 0) {
    const n = feed.order.length;
    snap.slots = n;
    for (const id of feed.order) if (slow(id)) snap.slowSlots++;
    for (let k = 0; k < feed.keys; k++) {
      if (f?.have.has(k)) continue;
      snap.directLacking++;
      if (slow(feed.order[(k + seq) % n])) snap.lackingInSlowSlots++;
    }
  }
  if (!f) return snap;
  const union = new KeySet();
  for (let w = 0; w < 8; w++) union.setWord(w, f.have.word(w));
  for (const n of core.neighbours.values()) {
    if (n.isBroadcaster || core.unlisted.has(n.peerId) || n.isMuted(nowMs)) continue;
    const h = n.frames.get(seq);
    if (!h) continue;
    if (h.complete) {
      snap.offered = 256;
      break;
    }
    for (let w = 0; w < 8; w++) union.setWord(w, union.word(w) | h.keys.word(w));
  }
  if (snap.offered === 0) snap.offered = union.size;
  const senders = new Set<string>();
  const onWire = new Set<string>();
  for (const e of p.events.each()) {
    const m = e.msg;
    if (e.k === DELIVER && m && !(m instanceof Uint8Array) && m.type === 'feed' && m.seq === seq) onWire.add(`${(e.q as SimPeer).id}:${m.x}`);
  }
  for (const x of f.inflight.keys()) {
    const q = p.wires.get(f.inflight.peerOf(x) as string)?.to as SimPeer | undefined;
    snap.whereabouts[whereIs(p, q, seq, x, onWire)]++;
    const id = f.inflight.peerOf(x) as string;
    senders.add(id);
    const age = nowMs - f.inflight.sentMs(x);
    snap.oldestAskMs = Math.max(snap.oldestAskMs, age);
    const n = core.neighbours.get(id);
    if (n && age > n.srttMs + 4 * n.rttVarMs) snap.overdue++;
    if (slow?.(id)) snap.inflightFromSlow++;
  }
  for (const id of senders) {
    const q = p.wires.get(id)?.to as SimPeer | undefined;
    if (!q) continue;
    snap.senderBacklogMs = Math.max(snap.senderBacklogMs, q.upFree - nowMs);
    const qn = (q.core as PeerCore | undefined)?.neighbours?.get(p.id);
    if (qn) snap.senderQueued += qn.queue.length;
  }
  const d = (core as unknown as { direct?: { slot: number; slots: number; keys: number } }).direct;
  if (d) {
    snap.direct = true;
    for (const x of directSlotKeys(seq, d.slot, d.slots, d.keys)) if (!f.have.has(x)) snap.ownSlotMissing++;
  }
  return snap;
}

/** Where key x of frame seq, asked of q, was at the deadline (see FrameSnapshot.whereabouts). */
function whereIs(p: SimPeer, q: SimPeer | undefined, seq: number, x: number, onWire: ReadonlySet<string>): keyof FrameSnapshot['whereabouts'] {
  if (!q) return 'gone';
  if (onWire.has(`${q.id}:${x}`)) return 'answer';
  for (const e of q.events.each()) {
    const m = e.msg;
    if (e.k === DELIVER && e.q === p && m && !(m instanceof Uint8Array) && m.type === 'request' && m.seq === seq && KeySet.fromBytes(m.allowed).has(x)) return 'request';
  }
  const qc = q.core as PeerCore | undefined;
  let queued = false;
  qc?.neighbours.get(p.id)?.queue.rewrite((m) => {
    if (m.type === 'feed' && m.seq === seq && m.x === x) queued = true;
    return undefined;
  });
  if (queued) return 'queued';
  const qf = qc?.framesBySeq?.get(seq);
  if (!qf || (qf.state !== 'done' && !qf.have.has(x))) return 'senderLacks';
  return 'gone';
}

/** The cause of a late frame, from its state at the deadline (first that applies, in this order). */
export const CAUSES = [
  'nothing of it heard by the deadline',
  '64 keys held, manifest missing',
  '64 keys held, decode or check under way',
  `own download link backed up (> ${BACKLOG_MS} ms)`,
  `own event loop backed up (> ${BACKLOG_MS} ms)`,
  `asked, answers in flight, a sender's uplink backed up (> ${BACKLOG_MS} ms)`,
  'asked, answers in flight (no sender uplink backed up)',
  'enough keys offered by neighbours (HAVE), not all asked for',
  'not enough keys offered, own direct slot short',
  'not enough keys offered by neighbours yet',
  'not looked at (the viewer had left)',
] as const;

export function causeOf(s: FrameSnapshot): number {
  if (!s.opened) return 0;
  if (s.have >= 64) return s.manifest ? 2 : 1;
  if (s.downBacklogMs > BACKLOG_MS) return 3;
  if (s.cpuBacklogMs > BACKLOG_MS) return 4;
  if (s.have + s.inflight >= 64) return s.senderBacklogMs > BACKLOG_MS ? 5 : 6;
  if (s.offered >= 64) return 7;
  return s.direct && s.ownSlotMissing > 0 ? 8 : 9;
}

export interface MissBreakdown {
  missed: number;
  due: number;
  byKind: Record<MissKind, number>;
  /** Per cause (CAUSES order): missed frames whose fragment's last frame had it; late frames themselves. */
  byCause: number[];
  culpritsByCause: number[];
  /** Fragments late or skipped with every frame in by the deadline (the player's own doing). */
  completeByDeadline: number;
  /** Culprit frames: delivered after the deadline by p50 / p95 ms, never delivered. */
  lateByP50Ms: number;
  lateByP95Ms: number;
  neverDelivered: number;
  /** Culprits: keys held at the deadline, p50 / p10. */
  heldP50: number;
  heldP10: number;
  /** Per viewer group (uplink / stream): viewers, frames due, missed. */
  byUplink: Array<{ group: string; viewers: number; due: number; missed: number }>;
  /** Share of all misses held by the worst tenth of viewers. */
  worstTenthShare: number;
  /** Late frames themselves: keys still needed (64 − held) and keys in flight at the deadline, summed; where those were; how many asked of a viewer below the stream rate. */
  keysShort: number;
  inflight: number;
  whereabouts: FrameSnapshot['whereabouts'];
  inflightFromSlow: number;
  /** Direct feed: direct-set keys the late frames lacked, and how many of them were in slots of viewers below the stream rate. */
  directLacking: number;
  lackingInSlowSlots: number;
}

/** Sums the misses up; `due` per viewer comes from the same rule as the report's. */
export function summarizeMisses(misses: readonly MissedFrame[], snaps: ReadonlyMap<string, FrameSnapshot>, viewers: ReadonlyArray<{ id: string; upRatio: number; due: number }>): MissBreakdown {
  const byKind: Record<MissKind, number> = { 'before-first-picture': 0, late: 0, skipped: 0, 'seeked-over': 0 };
  const byCause = new Array<number>(CAUSES.length).fill(0);
  const culpritsByCause = new Array<number>(CAUSES.length).fill(0);
  // The cause of a fragment: that of its frame delivered last (or never).
  const fragCause = new Map<string, number>();
  const fragLast = new Map<string, number>();
  const lateBy: number[] = [];
  const held: number[] = [];
  let never = 0;
  const keys = { keysShort: 0, inflight: 0, inflightFromSlow: 0, directLacking: 0, lackingInSlowSlots: 0, whereabouts: { request: 0, senderLacks: 0, queued: 0, answer: 0, gone: 0 } };
  for (const m of misses) {
    if (!m.culprit) continue;
    const s = snaps.get(`${m.viewer}:${m.seq}`);
    const c = s ? causeOf(s) : CAUSES.length - 1;
    culpritsByCause[c]++;
    if (s) {
      held.push(s.have);
      keys.keysShort += Math.max(0, 64 - s.have);
      keys.inflight += s.inflight;
      keys.inflightFromSlow += s.inflightFromSlow;
      keys.directLacking += s.directLacking;
      keys.lackingInSlowSlots += s.lackingInSlowSlots;
      for (const k of Object.keys(keys.whereabouts) as Array<keyof FrameSnapshot['whereabouts']>) keys.whereabouts[k] += s.whereabouts[k];
    }
    if (Number.isFinite(m.deliveredMs)) lateBy.push(m.deliveredMs - m.neededMs);
    else never++;
    const key = `${m.viewer}:${m.fragment}`;
    if (!(m.deliveredMs <= (fragLast.get(key) ?? -Infinity))) {
      fragLast.set(key, m.deliveredMs);
      fragCause.set(key, c);
    }
  }
  let completeByDeadline = 0;
  const counted = new Set<string>();
  const perViewer = new Map<string, number>();
  for (const m of misses) {
    byKind[m.kind]++;
    perViewer.set(m.viewer, (perViewer.get(m.viewer) ?? 0) + 1);
    const key = `${m.viewer}:${m.fragment}`;
    const c = fragCause.get(key);
    if (c !== undefined) byCause[c]++;
    else if ((m.kind === 'late' || m.kind === 'skipped') && !counted.has(key)) {
      counted.add(key);
      completeByDeadline++;
    }
  }
  const sorted = (a: number[]) => a.sort((x, y) => x - y);
  const pick = (a: number[], p: number) => (a.length ? a[Math.min(a.length - 1, Math.max(0, Math.ceil((p / 100) * a.length) - 1))] : NaN);
  sorted(lateBy);
  sorted(held);
  const groups = [
    { group: 'below 1 ×', lo: 0, hi: 1 },
    { group: '1–3 ×', lo: 1, hi: 3 },
    { group: '3–8 ×', lo: 3, hi: 8 },
    { group: '8 × and up', lo: 8, hi: Infinity },
  ];
  const byUplink = groups.map((g) => {
    const vs = viewers.filter((v) => v.upRatio >= g.lo && v.upRatio < g.hi);
    return { group: g.group, viewers: vs.length, due: vs.reduce((s, v) => s + v.due, 0), missed: vs.reduce((s, v) => s + (perViewer.get(v.id) ?? 0), 0) };
  });
  const counts = sorted(viewers.map((v) => perViewer.get(v.id) ?? 0)).reverse();
  const tenth = Math.max(1, Math.ceil(counts.length / 10));
  const total = misses.length;
  return {
    missed: total,
    due: viewers.reduce((s, v) => s + v.due, 0),
    byKind,
    byCause,
    culpritsByCause,
    completeByDeadline,
    lateByP50Ms: pick(lateBy, 50),
    lateByP95Ms: pick(lateBy, 95),
    neverDelivered: never,
    heldP50: pick(held, 50),
    heldP10: pick(held, 10),
    byUplink,
    worstTenthShare: total > 0 ? counts.slice(0, tenth).reduce((s, x) => s + x, 0) / total : NaN,
    ...keys,
  };
}

export function formatMisses(b: MissBreakdown): string[] {
  const pc = (x: number, of: number) => (of > 0 ? `${((100 * x) / of).toFixed(2)} %` : 'n/a');
  const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : 'n/a');
  const culprits = b.culpritsByCause.reduce((s, x) => s + x, 0);
  return [
    `why frames were missed: ${b.missed} of ${b.due} (viewer, frame) pairs not on time (${pc(b.missed, b.due)})`,
    `  by the playout: fragment late (playhead stalled at it) ${b.byKind.late}, given up by the assembler ${b.byKind.skipped}, before the first picture ${b.byKind['before-first-picture']}, seeked over or not played through ${b.byKind['seeked-over']}`,
    `  late frames themselves (the rest of the missed frames waited on one of them in their fragment): ${culprits}; delivered after the deadline by p50 ${ms(b.lateByP50Ms)}, p95 ${ms(b.lateByP95Ms)}, never ${b.neverDelivered}; keys held at the deadline p50 ${b.heldP50}, p10 ${b.heldP10}`,
    `  fragments late or given up though every frame was in by the deadline (the player's doing): ${b.completeByDeadline}`,
    '  cause at the deadline (state of the fragment\'s last frame): missed frames / late frames themselves',
    ...CAUSES.map((c, i) => `    ${c}: ${b.byCause[i]} (${pc(b.byCause[i], b.missed)}) / ${b.culpritsByCause[i]}`),
    `  keys the late frames still needed at the deadline: ${b.keysShort}; keys in flight then: ${b.inflight} (asked of viewers below the stream rate: ${b.inflightFromSlow}), of them REQUEST still on its way (reliable channel: retransmission, head-of-line wait) ${b.whereabouts.request}, sender lacked the key ${b.whereabouts.senderLacks}, answer queued in the sender's core ${b.whereabouts.queued}, answer on the wire or in the download queue ${b.whereabouts.answer}, none of these (lost, dropped, not served) ${b.whereabouts.gone}`,
    `  direct-set keys the late frames lacked: ${b.directLacking}, in slots of viewers below the stream rate: ${b.lackingInSlowSlots}`,
    `  by viewer uplink / stream: ${b.byUplink.map((g) => `${g.group}: ${g.viewers} viewers, ${g.missed} of ${g.due} missed (${pc(g.missed, g.due)})`).join('; ')}`,
    `  the worst tenth of the viewers hold ${Number.isFinite(b.worstTenthShare) ? (100 * b.worstTenthShare).toFixed(1) : 'n/a'} % of the misses`,
  ];
}

/** Control messages of a harsh-world run (Simulator.control): sent, uplink wait, retransmissions, waits behind a retransmission. */
export interface ControlDelays {
  sent: number;
  queueMs: number;
  retransmitted: number;
  retransmitMs: number;
  heldBehind: number;
  heldBehindMs: number;
}

export function formatControlDelays(c: ControlDelays): string[] {
  if (c.sent === 0) return [];
  const pc = (x: number) => `${((100 * x) / c.sent).toFixed(2)} %`;
  const mean = (ms: number, n: number) => (n > 0 ? `${Math.round(ms / n)} ms` : 'n/a');
  return [
    `  control messages (second pass): ${c.sent}; mean wait in the sender's uplink queue ${(c.queueMs / c.sent).toFixed(1)} ms; lost and retransmitted ${c.retransmitted} (${pc(c.retransmitted)}, ${mean(c.retransmitMs, c.retransmitted)} more each); held behind an earlier one being retransmitted ${c.heldBehind} (${pc(c.heldBehind)}, ${mean(c.heldBehindMs, c.heldBehind)} each); mean extra delay over all ${((c.retransmitMs + c.heldBehindMs) / c.sent).toFixed(1)} ms`,
  ];
}
