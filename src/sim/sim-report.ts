// Turns what the simulator counted into the figures the issue asks for (application layer):
// upload and download over stream size, frames on time, latency percentiles, startup, control
// overhead, upload spread; and prints them as lines or JSON. Pure; used by simulator.ts and cli.ts.

export interface ViewerRecord {
  id: string;
  joinMs: number;
  leftMs: number;
  bytesUp: number;
  bytesDown: number;
  controlDown: number;
  /** seq → time the frame was delivered */
  delivered: Map<number, number>;
  startupMs: number;
  role: string;
}

export interface PublishedFrame {
  seq: number;
  captureMs: number;
  length: number;
}

export interface SimReport {
  peers: number;
  seconds: number;
  mode: string;
  broadcasterUploadRatio: number;
  viewerDownloadRatioMean: number;
  viewerDownloadRatioP95: number;
  framesOnTimePct: number;
  latencyP50Ms: number;
  latencyP95Ms: number;
  latencyP99Ms: number;
  startupP50Ms: number;
  startupP95Ms: number;
  controlOverheadPct: number;
  uploadRatioP10: number;
  uploadRatioP50: number;
  uploadRatioP90: number;
  uploadRatioMax: number;
  viewersMeasured: number;
  framesPublished: number;
  wallSeconds: number;
  events: number;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i];
}

export function buildReport(input: {
  peers: number;
  seconds: number;
  mode: string;
  broadcasterBytesUp: number;
  frames: PublishedFrame[];
  viewers: ViewerRecord[];
  deadlineMs: number;
  warmupMs: number;
  endMs: number;
  wallSeconds: number;
  events: number;
}): SimReport {
  const { frames, viewers } = input;
  const streamBytes = frames.reduce((s, f) => s + f.length, 0);
  // Prefix sums over capture time for the stream bytes of any window.
  const cum: number[] = [0];
  for (const f of frames) cum.push(cum[cum.length - 1] + f.length);
  const upTo = (t: number) => {
    let lo = 0;
    let hi = frames.length;
    while (lo < hi) {
      const m = (lo + hi) >> 1;
      if (frames[m].captureMs < t) lo = m + 1;
      else hi = m;
    }
    return lo;
  };
  const down: number[] = [];
  const up: number[] = [];
  const latency: number[] = [];
  const startups: number[] = [];
  let control = 0;
  let controlBase = 0;
  let due = 0;
  let onTime = 0;
  let measured = 0;
  for (const v of viewers) {
    const end = Math.min(v.leftMs, input.endMs);
    const from = v.joinMs + input.warmupMs;
    if (v.startupMs >= 0) startups.push(v.startupMs);
    if (end - from < 5000) continue;
    measured++;
    const a = upTo(v.joinMs);
    const b = upTo(end);
    const lifeBytes = cum[b] - cum[a];
    if (lifeBytes > 0) {
      down.push(v.bytesDown / lifeBytes);
      up.push(v.bytesUp / lifeBytes);
      control += v.controlDown;
      controlBase += lifeBytes;
    }
    for (let i = upTo(from); i < frames.length && frames[i].captureMs <= end - input.deadlineMs; i++) {
      const f = frames[i];
      due++;
      const t = v.delivered.get(f.seq);
      if (t === undefined) continue;
      latency.push(t - f.captureMs);
      if (t - f.captureMs <= input.deadlineMs) onTime++;
    }
  }
  const sort = (a: number[]) => Float64Array.from(a).sort();
  const d = sort(down);
  const u = sort(up);
  const l = sort(latency);
  const s = sort(startups);
  return {
    peers: input.peers,
    seconds: input.seconds,
    mode: input.mode,
    broadcasterUploadRatio: streamBytes > 0 ? input.broadcasterBytesUp / streamBytes : NaN,
    // Summed in sorted order: the same mean whatever order the viewers came in (parallel runs).
    viewerDownloadRatioMean: d.length ? d.reduce((x, y) => x + y, 0) / d.length : NaN,
    viewerDownloadRatioP95: percentile(d, 95),
    framesOnTimePct: due > 0 ? (100 * onTime) / due : NaN,
    latencyP50Ms: percentile(l, 50),
    latencyP95Ms: percentile(l, 95),
    latencyP99Ms: percentile(l, 99),
    startupP50Ms: percentile(s, 50),
    startupP95Ms: percentile(s, 95),
    controlOverheadPct: controlBase > 0 ? (100 * control) / controlBase : NaN,
    uploadRatioP10: percentile(u, 10),
    uploadRatioP50: percentile(u, 50),
    uploadRatioP90: percentile(u, 90),
    uploadRatioMax: percentile(u, 100),
    viewersMeasured: measured,
    framesPublished: frames.length,
    wallSeconds: input.wallSeconds,
    events: input.events,
  };
}

const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : 'n/a');

export function formatReport(r: SimReport): string {
  return [
    `peers ${r.peers}, ${r.seconds} s of stream, mode at end: ${r.mode}, ${r.framesPublished} frames, ${r.viewersMeasured} viewers measured`,
    `broadcaster upload / stream: ${f2(r.broadcasterUploadRatio)}`,
    `viewer download / stream: mean ${f2(r.viewerDownloadRatioMean)}, p95 ${f2(r.viewerDownloadRatioP95)}`,
    `frames on time: ${Number.isFinite(r.framesOnTimePct) ? r.framesOnTimePct.toFixed(2) : 'n/a'} %`,
    `capture-to-decode latency: p50 ${ms(r.latencyP50Ms)}, p95 ${ms(r.latencyP95Ms)}, p99 ${ms(r.latencyP99Ms)}`,
    `startup (join to first playable frame): p50 ${ms(r.startupP50Ms)}, p95 ${ms(r.startupP95Ms)}`,
    `control overhead: ${Number.isFinite(r.controlOverheadPct) ? r.controlOverheadPct.toFixed(2) : 'n/a'} % of stream`,
    `viewer upload / stream: p10 ${f2(r.uploadRatioP10)}, p50 ${f2(r.uploadRatioP50)}, p90 ${f2(r.uploadRatioP90)}, max ${f2(r.uploadRatioMax)}`,
    `simulated in ${r.wallSeconds.toFixed(1)} s wall time (${r.events} events)`,
  ].join('\n');
}
