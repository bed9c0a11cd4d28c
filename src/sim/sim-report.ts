// Turns what the simulator counted into the figures the issue asks for (application layer): upload
// and download over stream size (mean, p95, worst), what the viewer sees through the player's
// playout model (glass to glass, frames played on time, rebuffering, first picture, viewers that
// never started counted as failures), the older decode figures under their own names, control
// overhead and the mode over time; and prints them as lines or JSON. Pure; used by simulator.ts and cli.ts.

import type { AttackReport } from './adversary.ts';
import { TIMELINE_COLUMNS, TIMELINE_STAGES } from './frame-timeline.ts';
import { formatControlDelays, formatMisses, type ControlDelays, type MissBreakdown } from './miss-causes.ts';
import { simulatePlayout, type PlayoutFragment } from './playout.ts';

export interface ViewerRecord {
  id: string;
  joinMs: number;
  leftMs: number;
  bytesUp: number;
  bytesDown: number;
  controlDown: number;
  /** Control messages it sent, and how many of them were have-maps (one core output each; the transport's batching is not modelled). */
  controlMsgsUp?: number;
  haveMsgsUp?: number;
  /** seq → time the frame was delivered */
  delivered: Map<number, number>;
  startupMs: number;
  role: string;
  /** Its true upload capacity, bits per second (what the link model uses). */
  upBps: number;
  /** The last upload its capacity meter reported to the tracker (NaN: none yet). */
  reportedBps: number;
  /** It left without a goodbye (crash churn). */
  crashed: boolean;
  /** Its attack kind (adversary kit), or '' for an honest viewer. Attackers are left out of every viewer figure. */
  adversary?: string;
  /**
   * Where its start went, absolute times (NaN: never): its first link up, its first media message from
   * the broadcaster, its first frame and its init segment delivered.
   */
  firstLinkMs?: number;
  firstFromBroadcasterMs?: number;
  firstFrameMs?: number;
  initMs?: number;
  /** seq → where its close-to-decode time went (frame-timeline.ts; `timeline` runs only). */
  timeline?: Map<number, Float32Array>;
}

/** Where the close-to-decode time of a set of frames went, by stage of the traced path (frame-timeline.ts). */
export interface TimelineSummary {
  frames: number;
  /** Close to decode over these frames. */
  totalP50Ms: number;
  totalMeanMs: number;
  /** Per stage (TIMELINE_STAGES order): mean and p50 over the frames, ms, and in how many frames it was the largest stage. */
  meanMs: number[];
  p50Ms: number[];
  largest: number[];
  /** Relay hops on the traced path, mean; share of them that were pulls. */
  hopsMean: number;
  pullShare: number;
}

export interface PublishedFrame {
  seq: number;
  /** The capture time its manifest carries. */
  captureMs: number;
  /** When the broadcaster published it (closed the frame). */
  publishMs: number;
  length: number;
  /** Media fragment it carries (-1: an init segment). */
  fragment: number;
  /** Media span it carries, capture time, ms. */
  mediaStartMs: number;
  mediaEndMs: number;
}

export interface SimReport {
  peers: number;
  seconds: number;
  mode: string;
  /** Swarm mode over time, e.g. "direct 0–2 s, holder 2–60 s". */
  modeTimeline: string;
  broadcasterUploadRatio: number;
  viewerDownloadRatioMean: number;
  viewerDownloadRatioP95: number;
  viewerDownloadRatioMax: number;
  /** Capture to presentation at the player's playout point, over every player tick of every measured viewer (Infinity before its first picture). */
  glassToGlassP50Ms: number;
  glassToGlassP95Ms: number;
  glassToGlassP99Ms: number;
  /** Frames whose fragment was played at the player's playout point with no stall waiting for it. */
  framesOnTimePct: number;
  /** Stall time / watch time (first picture to leave; a viewer that never started: its measured stay, all stall). */
  rebufferingPct: number;
  stallsPerViewerMinute: number;
  /** Join to first picture; viewers that never started count as Infinity. */
  firstPictureP50Ms: number;
  firstPictureP95Ms: number;
  neverStarted: number;
  /**
   * Where the first picture's time goes, join to each step, p50 and p95 over the measured viewers
   * (a step never reached counts as Infinity): first link up, first media message from the broadcaster,
   * init segment, first frame and first whole fragment delivered.
   */
  startSteps: Array<{ step: string; p50Ms: number; p95Ms: number }>;
  /** Frames decoded within deadlineMs of being closed (the former "on time"). */
  framesDecodedInDeadlinePct: number;
  /** Frame close (publish) to decode, over decoded frames (the former "latency"). */
  closeToDecodeP50Ms: number;
  closeToDecodeP95Ms: number;
  closeToDecodeP99Ms: number;
  /** Join to the first key frame decoded after an init segment (the former "startup"). */
  firstKeyFrameP50Ms: number;
  firstKeyFrameP95Ms: number;
  controlOverheadPct: number;
  /** Control messages sent per viewer and second of its stay (mean over measured viewers), and the have-maps among them. */
  controlMsgsPerSec: number;
  haveMsgsPerSec: number;
  uploadRatioP10: number;
  uploadRatioP50: number;
  uploadRatioP90: number;
  uploadRatioMax: number;
  /** Upload the meter last reported / true upload capacity, over measured viewers that reported. */
  reportedUploadP10: number;
  reportedUploadP50: number;
  reportedUploadP90: number;
  viewersMeasured: number;
  /** With attackers (`--adversaries`): what they did and what it cost; the viewer figures above are the honest viewers'. */
  attack?: AttackReport;
  /** With `timeline`: where the time of frames played late and of frames played on time went. */
  timeline?: { late: TimelineSummary; onTime: TimelineSummary };
  /** With `whyMissed`: the frames not on time by cause; `repeated`: the second pass repeated the first exactly. */
  misses?: MissBreakdown & { repeated: boolean; control?: ControlDelays };
  framesPublished: number;
  wallSeconds: number;
  events: number;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

/** "direct 0–2 s, holder 2–60 s" from (time, mode) changes. */
export function formatTimeline(changes: ReadonlyArray<{ atMs: number; mode: string }>, endMs: number): string {
  const parts: string[] = [];
  for (let i = 0; i < changes.length; i++) {
    const to = i + 1 < changes.length ? changes[i + 1].atMs : endMs;
    parts.push(`${changes[i].mode} ${Math.round(changes[i].atMs / 1000)}–${Math.round(to / 1000)} s`);
  }
  return parts.join(', ');
}

/** Fragments in media order from the published frames (init frames apart). */
export function fragmentsOf(frames: readonly PublishedFrame[]): { fragments: PlayoutFragment[]; index: Map<number, number>; initSeqs: number[] } {
  const byIndex = new Map<number, PlayoutFragment>();
  const initSeqs: number[] = [];
  for (const f of frames) {
    if (f.fragment < 0) {
      initSeqs.push(f.seq);
      continue;
    }
    const g = byIndex.get(f.fragment);
    if (!g) byIndex.set(f.fragment, { startMs: f.mediaStartMs, endMs: f.mediaEndMs, seqs: [f.seq] });
    else {
      g.startMs = Math.min(g.startMs, f.mediaStartMs);
      g.endMs = Math.max(g.endMs, f.mediaEndMs);
      g.seqs.push(f.seq);
    }
  }
  const keys = [...byIndex.keys()].sort((a, b) => a - b);
  const index = new Map(keys.map((k, i) => [k, i]));
  return { fragments: keys.map((k) => byIndex.get(k) as PlayoutFragment), index, initSeqs };
}

export function buildReport(input: {
  peers: number;
  seconds: number;
  mode: string;
  modes?: ReadonlyArray<{ atMs: number; mode: string }>;
  broadcasterBytesUp: number;
  frames: PublishedFrame[];
  viewers: ViewerRecord[];
  deadlineMs: number;
  warmupMs: number;
  endMs: number;
  wallSeconds: number;
  events: number;
  attack?: AttackReport;
}): SimReport {
  const frames = [...input.frames].sort((a, b) => a.seq - b.seq);
  // In a fixed order: sums come out the same however the parts of a parallel run listed them.
  const viewers = input.viewers.filter((v) => !v.adversary).sort((a, b) => a.joinMs - b.joinMs || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const streamBytes = frames.reduce((s, f) => s + f.length, 0);
  // Prefix sums over publish time for the stream bytes of any window.
  const cum: number[] = [0];
  for (const f of frames) cum.push(cum[cum.length - 1] + f.length);
  const upTo = (t: number) => {
    let lo = 0;
    let hi = frames.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (frames[m].publishMs < t) lo = m + 1;
      else hi = m;
    }
    return lo;
  };
  const frag = fragmentsOf(frames);
  const down: number[] = [];
  const up: number[] = [];
  const closeToDecode: number[] = [];
  const g2g: number[] = [];
  const firstPictures: number[] = [];
  const firstKeys: number[] = [];
  const STEPS = ['first link', 'first media from broadcaster', 'init segment', 'first frame', 'first whole fragment'] as const;
  const steps: number[][] = STEPS.map(() => []);
  const reported: number[] = [];
  let control = 0;
  let controlBase = 0;
  let ctlMsgs = 0;
  let haveMsgs = 0;
  let stayMs = 0;
  let due = 0;
  let decodedInTime = 0;
  let onTime = 0;
  let measured = 0;
  let neverStarted = 0;
  let stallMs = 0;
  let stalls = 0;
  let watchMs = 0;
  const traced = { late: [] as Float32Array[], onTime: [] as Float32Array[] };
  for (const v of viewers) {
    const end = Math.min(v.leftMs, input.endMs);
    const from = v.joinMs + input.warmupMs;
    if (end - from < 5000) continue;
    measured++;
    ctlMsgs += v.controlMsgsUp ?? 0;
    haveMsgs += v.haveMsgsUp ?? 0;
    stayMs += end - v.joinMs;
    if (v.startupMs >= 0) firstKeys.push(v.startupMs);
    if (Number.isFinite(v.reportedBps)) reported.push(v.reportedBps / v.upBps);
    const a = upTo(v.joinMs);
    const b = upTo(end);
    const lifeBytes = cum[b] - cum[a];
    if (lifeBytes > 0) {
      down.push(v.bytesDown / lifeBytes);
      up.push(v.bytesUp / lifeBytes);
      control += v.controlDown;
      controlBase += lifeBytes;
    }
    const play = simulatePlayout({ fragments: frag.fragments, initSeqs: frag.initSeqs, delivered: v.delivered, joinMs: v.joinMs, endMs: end, measureFromMs: from });
    firstPictures.push(play.firstPictureMs);
    const since = (t: number | undefined) => (t !== undefined && Number.isFinite(t) ? t - v.joinMs : Infinity);
    [since(v.firstLinkMs), since(v.firstFromBroadcasterMs), since(v.initMs), since(v.firstFrameMs), play.firstWholeMs].forEach((x, i) => steps[i].push(x));
    if (!Number.isFinite(play.firstPictureMs)) neverStarted++;
    for (const x of play.glassToGlassMs) g2g.push(x);
    if (Number.isFinite(play.firstPictureMs)) {
      stallMs += play.stallMs;
      stalls += play.stalls;
      watchMs += play.watchMs;
    } else {
      // A viewer that never started saw nothing: its measured stay is one long stall.
      stallMs += end - from;
      watchMs += end - from;
      stalls++;
    }
    // Frames captured in the measured span whose playout (or deadline) falls before the viewer left.
    for (let i = upTo(from); i < frames.length && frames[i].publishMs <= end - input.deadlineMs; i++) {
      const f = frames[i];
      if (f.fragment < 0) continue;
      due++;
      const k = frag.index.get(f.fragment) as number;
      if (play.onTime[k]) onTime++;
      const t = v.delivered.get(f.seq);
      if (t === undefined) continue;
      const tr = v.timeline?.get(f.seq);
      if (tr) (play.onTime[k] ? traced.onTime : traced.late).push(tr);
      closeToDecode.push(t - f.publishMs);
      if (t - f.publishMs <= input.deadlineMs) decodedInTime++;
    }
  }
  const sort = (a: number[]) => Float64Array.from(a).sort();
  const d = sort(down);
  const u = sort(up);
  const l = sort(closeToDecode);
  const gg = sort(g2g);
  const fp = sort(firstPictures);
  const fk = sort(firstKeys);
  const rp = sort(reported);
  return {
    peers: input.peers,
    seconds: input.seconds,
    mode: input.mode,
    modeTimeline: formatTimeline(input.modes ?? [{ atMs: 0, mode: input.mode }], input.endMs),
    broadcasterUploadRatio: streamBytes > 0 ? input.broadcasterBytesUp / streamBytes : NaN,
    // Summed in sorted order: the same mean whatever order the viewers came in (parallel runs).
    viewerDownloadRatioMean: d.length ? d.reduce((x, y) => x + y, 0) / d.length : NaN,
    viewerDownloadRatioP95: percentile(d, 95),
    viewerDownloadRatioMax: percentile(d, 100),
    glassToGlassP50Ms: percentile(gg, 50),
    glassToGlassP95Ms: percentile(gg, 95),
    glassToGlassP99Ms: percentile(gg, 99),
    framesOnTimePct: due > 0 ? (100 * onTime) / due : NaN,
    rebufferingPct: watchMs > 0 ? (100 * stallMs) / watchMs : NaN,
    stallsPerViewerMinute: watchMs > 0 ? stalls / (watchMs / 60_000) : NaN,
    firstPictureP50Ms: percentile(fp, 50),
    firstPictureP95Ms: percentile(fp, 95),
    neverStarted,
    startSteps: STEPS.map((step, i) => {
      const x = sort(steps[i]);
      return { step, p50Ms: percentile(x, 50), p95Ms: percentile(x, 95) };
    }),
    framesDecodedInDeadlinePct: due > 0 ? (100 * decodedInTime) / due : NaN,
    closeToDecodeP50Ms: percentile(l, 50),
    closeToDecodeP95Ms: percentile(l, 95),
    closeToDecodeP99Ms: percentile(l, 99),
    firstKeyFrameP50Ms: percentile(fk, 50),
    firstKeyFrameP95Ms: percentile(fk, 95),
    controlOverheadPct: controlBase > 0 ? (100 * control) / controlBase : NaN,
    controlMsgsPerSec: stayMs > 0 ? ctlMsgs / (stayMs / 1000) : NaN,
    haveMsgsPerSec: stayMs > 0 ? haveMsgs / (stayMs / 1000) : NaN,
    uploadRatioP10: percentile(u, 10),
    uploadRatioP50: percentile(u, 50),
    uploadRatioP90: percentile(u, 90),
    uploadRatioMax: percentile(u, 100),
    reportedUploadP10: percentile(rp, 10),
    reportedUploadP50: percentile(rp, 50),
    reportedUploadP90: percentile(rp, 90),
    viewersMeasured: measured,
    ...(input.attack ? { attack: input.attack } : {}),
    ...(traced.late.length + traced.onTime.length > 0 ? { timeline: { late: summarizeTimeline(traced.late), onTime: summarizeTimeline(traced.onTime) } } : {}),
    framesPublished: frames.length,
    wallSeconds: input.wallSeconds,
    events: input.events,
  };
}

function summarizeTimeline(rows: Float32Array[]): TimelineSummary {
  const n = TIMELINE_STAGES.length;
  const col = (i: number) => Float64Array.from(rows, (r) => r[i]).sort();
  const mean = (a: Float64Array) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : NaN);
  const totals = Float64Array.from(rows, (r) => r.subarray(0, n).reduce((x, y) => x + y, 0)).sort();
  const largest = new Array<number>(n).fill(0);
  for (const r of rows) {
    let best = 0;
    for (let i = 1; i < n; i++) if (r[i] > r[best]) best = i;
    largest[best]++;
  }
  const hops = col(n);
  const pulls = col(n + 1).reduce((x, y) => x + y, 0);
  const hopSum = hops.reduce((x, y) => x + y, 0);
  return {
    frames: rows.length,
    totalP50Ms: percentile(totals, 50),
    totalMeanMs: mean(totals),
    meanMs: TIMELINE_STAGES.map((_, i) => mean(col(i))),
    p50Ms: TIMELINE_STAGES.map((_, i) => percentile(col(i), 50)),
    largest,
    hopsMean: rows.length ? hopSum / rows.length : NaN,
    pullShare: hopSum > 0 ? pulls / hopSum : NaN,
  };
}

/** The timeline lines: per stage, mean (p50) for late and on-time frames, and how often it was the largest. */
export function formatFrameTimeline(t: { late: TimelineSummary; onTime: TimelineSummary }): string[] {
  const m = (x: number) => (Number.isFinite(x) ? Math.round(x).toString() : 'n/a');
  const head = (name: string, s: TimelineSummary) =>
    `${name}: ${s.frames} frames, close to decode mean ${m(s.totalMeanMs)} ms (p50 ${m(s.totalP50Ms)}), ${s.hopsMean.toFixed(2)} relay hops on the traced path, ${(100 * s.pullShare).toFixed(1)} % of them pulls`;
  return [
    'where the time went (path of the key that completed each frame; mean ms (p50) per frame; late frames: largest stage in how many):',
    head('  late frames', t.late),
    head('  on-time frames', t.onTime),
    ...TIMELINE_STAGES.map((name, i) => `  ${name}: late ${m(t.late.meanMs[i])} (${m(t.late.p50Ms[i])}), largest in ${t.late.largest[i]}; on time ${m(t.onTime.meanMs[i])} (${m(t.onTime.p50Ms[i])})`),
  ];
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : x === Infinity ? '∞' : 'n/a');
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');
const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : x === Infinity ? '∞ (never started)' : 'n/a');
const ms0 = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : x === Infinity ? '∞' : 'n/a');
const pct = (x: number, digits = 2) => (Number.isFinite(x) ? `${x.toFixed(digits)} %` : 'n/a');

export function formatReport(r: SimReport): string {
  return [
    `peers ${r.peers}, ${r.seconds} s of stream, ${r.framesPublished} frames, ${r.viewersMeasured} viewers measured`,
    `mode over time: ${r.modeTimeline}`,
    `broadcaster upload / stream: ${f2(r.broadcasterUploadRatio)}`,
    `viewer download / stream: mean ${f2(r.viewerDownloadRatioMean)}, p95 ${f2(r.viewerDownloadRatioP95)}, worst ${f2(r.viewerDownloadRatioMax)}`,
    `viewer upload / stream: p10 ${f2(r.uploadRatioP10)}, p50 ${f2(r.uploadRatioP50)}, p90 ${f2(r.uploadRatioP90)}, worst ${f2(r.uploadRatioMax)}`,
    `glass to glass (capture to presentation, player modelled): p50 ${ms(r.glassToGlassP50Ms)}, p95 ${ms(r.glassToGlassP95Ms)}, p99 ${ms(r.glassToGlassP99Ms)}`,
    `frames played on time (at the playout point, no stall): ${pct(r.framesOnTimePct)}`,
    `rebuffering: ${pct(r.rebufferingPct, 3)} of watch time, ${Number.isFinite(r.stallsPerViewerMinute) ? r.stallsPerViewerMinute.toFixed(2) : 'n/a'} stalls per viewer-minute`,
    `first picture after join: p50 ${ms(r.firstPictureP50Ms)}, p95 ${ms(r.firstPictureP95Ms)} (${r.neverStarted} of ${r.viewersMeasured} never started)`,
    `first picture, join to each step (p50 / p95): ${r.startSteps.map((x) => `${x.step} ${ms0(x.p50Ms)} / ${ms0(x.p95Ms)}`).join(', ')}`,
    `frames decoded within 2 s of their close: ${pct(r.framesDecodedInDeadlinePct)}; close to decode: p50 ${ms(r.closeToDecodeP50Ms)}, p95 ${ms(r.closeToDecodeP95Ms)}, p99 ${ms(r.closeToDecodeP99Ms)}`,
    `join to first key frame decoded: p50 ${ms(r.firstKeyFrameP50Ms)}, p95 ${ms(r.firstKeyFrameP95Ms)}`,
    `control overhead: ${pct(r.controlOverheadPct)} of stream; control messages sent per viewer: ${f1(r.controlMsgsPerSec)} a second, have-maps ${f1(r.haveMsgsPerSec)} of them`,
    `reported upload / true capacity (capacity meter): p10 ${f2(r.reportedUploadP10)}, p50 ${f2(r.reportedUploadP50)}, p90 ${f2(r.reportedUploadP90)}`,
    ...(r.attack ? formatAttack(r.attack) : []),
    ...(r.timeline ? formatFrameTimeline(r.timeline) : []),
    ...(r.misses ? [...formatMisses(r.misses), ...(r.misses.control ? formatControlDelays(r.misses.control) : []), ...(r.misses.repeated ? [] : ['  (the second pass did not repeat the first: the causes above are not exact)'])] : []),
    `simulated in ${r.wallSeconds.toFixed(1)} s wall time (${r.events} events)`,
  ].join('\n');
}

/** The attack lines of the report (honest viewers' figures are the lines above them). */
export function formatAttack(a: AttackReport): string[] {
  const s = (x: number) => (Number.isFinite(x) ? `${(x / 1000).toFixed(2)} s` : 'n/a');
  return [
    `attack ${a.attack}: ${a.attackers} attacker ids (${a.rejoins} of them rejoins under a new id); the viewer figures above are the honest viewers'`,
    `attackers banned: ${a.pairsBanned} of ${a.pairsTouched} (attacker, honest peer) pairs with hostile traffic, ${a.pairsBannedInTime} within ${s(a.banWithinMs)}; first hostile message to ban p50 ${s(a.banP50Ms)}, p95 ${s(a.banP95Ms)}, worst ${s(a.banMaxMs)}`,
    `attackers banned by every honest peer they touched within ${s(a.banWithinMs)}: ${a.attackersBannedByAllInTime} of ${a.attackersTouching}`,
    ...a.kinds.map((k) => `  ${k.kind}: ${k.attackers} attackers, ${k.hostileMessages} hostile messages${k.withheld ? `, ${k.withheld} withheld` : ''}, pairs banned ${k.pairsBanned} of ${k.pairsTouched} (${k.pairsBannedInTime} in time), ban p50 ${s(k.banP50Ms)}, worst ${s(k.banMaxMs)}; paid ${f2(k.paidCopiesMean)} copies each, worst ${f2(k.paidCopiesMax)}`),
    `honest peers wrongly banned (by honest peers): ${a.honestBanned} (${a.honestBanEvents} bans)${a.honestBanReasons.length ? `; why: ${a.honestBanReasons.slice(0, 4).map((r) => `${r.reason} (${r.bans})`).join('; ')}` : ''}`,
    `upload paid to attackers (bytes from honest peers / stream over its stay): mean ${f2(a.paidCopiesMean)}, worst ${f2(a.paidCopiesMax)} copies; broadcaster to attackers ${f2(a.broadcasterPaidRatio)} of the stream`,
    `links made again to a rejoined attacker by a peer that banned its address: ${a.reintroduced}`,
    `direct-feed slots moved on viewers' MISSING reports: ${a.slotMoves.attackers} of attackers (latest first move ${s(a.slotMoves.attackerMoveMaxMs)} after its join), ${a.slotMoves.honest} of honest viewers`,
    `producers' complaints to the tracker (by honest peers): ${a.complaints.againstAttackers} against attackers, ${a.complaints.againstHonest} against honest holders; holders moved: ${a.complaints.movedAttackers} attackers (first complaint to move p50 ${s(a.complaints.moveP50Ms)}, worst ${s(a.complaints.moveMaxMs)}), ${a.complaints.movedHonest} honest`,
  ];
}
