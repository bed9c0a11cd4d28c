// The P2P / HTTP switching policy on virtual time: each scenario is a script of observations.
import { describe, expect, it } from 'vitest';
import { FallbackPolicy, RejoinRule, resolveFallbackPolicy, type FallbackObservation, type RejoinObservation, type SwitchReason } from './fallback-policy.ts';

/** Runs the policy every 100 ms from 0 to `untilMs`; `world(t)` says what the player sees at t. */
function run(policy: FallbackPolicy, untilMs: number, world: (t: number) => Partial<FallbackObservation>) {
  const switches: Array<[number, SwitchReason]> = [];
  let frames = 0;
  for (let t = 0; t <= untilMs; t += 100) {
    const w = world(t);
    if (w.p2pFrames === undefined && (w as { delivering?: boolean }).delivering) frames++;
    const d = policy.observe({ nowMs: t, webrtc: true, p2pFrames: w.p2pFrames ?? frames, bufferAheadS: 0.5, playing: true, ...w });
    if (d.switched) switches.push([t, d.switched]);
  }
  return switches;
}
const delivering = (on: boolean) => ({ delivering: on }) as Partial<FallbackObservation>;

describe('FallbackPolicy', () => {
  it('plays over HTTP at once without WebRTC, and never goes back', () => {
    const p = new FallbackPolicy();
    expect(run(p, 20_000, () => ({ webrtc: false }))).toEqual([[0, 'no-webrtc']]);
    expect(p.path).toBe('http');
  });

  it('stays on P2P while the swarm delivers', () => {
    const p = new FallbackPolicy();
    expect(run(p, 60_000, () => delivering(true))).toEqual([]);
  });

  it('leaves a silent swarm after quickStarveMs when the switch would keep the media element (frame path), after starveMs otherwise', () => {
    const quick = run(new FallbackPolicy({ starveMs: 1000, quickStarveMs: 500 }), 15_000, (t) => ({ ...delivering(t < 10_000), quickSwitch: true, bufferAheadS: 0.3 }));
    expect(quick).toEqual([[10_400, 'p2p-dry']]);
    const slow = run(new FallbackPolicy({ starveMs: 1000, quickStarveMs: 500 }), 15_000, (t) => ({ ...delivering(t < 10_000), quickSwitch: false, bufferAheadS: 0.3 }));
    expect(slow).toEqual([[10_900, 'p2p-dry']]);
    // Never later than starveMs.
    const capped = run(new FallbackPolicy({ starveMs: 1000, quickStarveMs: 3000 }), 15_000, (t) => ({ ...delivering(t < 10_000), quickSwitch: true, bufferAheadS: 0.3 }));
    expect(capped).toEqual([[10_900, 'p2p-dry']]);
    // A buffer that covers the silence (quickBelowS or more ahead): starveMs as for any switch.
    const covered = run(new FallbackPolicy({ starveMs: 1000, quickStarveMs: 500, quickBelowS: 0.5 }), 15_000, (t) => ({ ...delivering(t < 10_000), quickSwitch: true, bufferAheadS: 1.5 }));
    expect(covered).toEqual([[10_900, 'p2p-dry']]);
  });

  it('does not leave after quickStarveMs in the settleMs after a return to P2P', () => {
    const p = new FallbackPolicy({ starveMs: 1000, quickStarveMs: 500, healthyForMs: 5000, minDwellMs: 3000, settleMs: 5000 });
    // Silent 10–20 s (to HTTP), frames again from 20 s (back at 25 s), then silent again from 26 s.
    const s = run(p, 35_000, (t) => ({ ...delivering(t < 10_000 || (t >= 20_000 && t < 26_000)), quickSwitch: true, bufferAheadS: 0.3 }));
    expect(s).toEqual([[10_400, 'p2p-dry'], [25_000, 'p2p-healthy'], [26_900, 'p2p-dry']]);
  });

  it('goes to HTTP when no peer delivers within noPeerTimeoutMs', () => {
    const p = new FallbackPolicy({ noPeerTimeoutMs: 3000 });
    expect(run(p, 10_000, () => delivering(false))).toEqual([[3000, 'no-peers']]);
  });

  it('goes to HTTP starveMs after the swarm stops, and back after healthyForMs of delivery', () => {
    const p = new FallbackPolicy({ starveMs: 1000, healthyForMs: 5000, minDwellMs: 3000 });
    // Frames until 10 s, nothing until 20 s, then frames again.
    const s = run(p, 40_000, (t) => delivering(t < 10_000 || t >= 20_000));
    expect(s).toEqual([[10_900, 'p2p-dry'], [25_000, 'p2p-healthy']]);
  });

  it('goes to HTTP when the buffer stays low while playing, even if frames trickle in', () => {
    const p = new FallbackPolicy({ dryMs: 800, lowBufferS: 0.15 });
    const s = run(p, 40_000, (t) => ({ ...delivering(true), bufferAheadS: t >= 5000 ? 0.05 : 0.6 }));
    // Back to P2P when frames flow and the dwell is over; the buffer never fills there, so HTTP again
    // after noPeerTimeoutMs, and each failed return doubles the dwell (3 s, 6 s, 12 s).
    expect(s).toEqual([[5800, 'p2p-dry'], [8800, 'p2p-healthy'], [12_800, 'p2p-dry'], [18_800, 'p2p-healthy'], [22_800, 'p2p-dry'], [34_800, 'p2p-healthy'], [38_800, 'p2p-dry']]);
  });

  it('after a return to P2P, a short buffer waits settleMs (the player restarting), a stopped swarm does not', () => {
    const p = new FallbackPolicy({ starveMs: 1000, healthyForMs: 5000, minDwellMs: 3000, dryMs: 800, lowBufferS: 0.15, settleMs: 5000 });
    // Frames until 10 s, nothing until 20 s, frames again: back to P2P at 25 s. Then the buffer is
    // short from 25.5 s to 28 s (the restart) and again from 33 s on (a real drought).
    const low = (t: number) => (t >= 25_500 && t < 28_000) || t >= 33_000;
    const s = run(p, 38_000, (t) => ({ ...delivering(t < 10_000 || t >= 20_000), bufferAheadS: low(t) ? 0.05 : 0.6 }));
    expect(s).toEqual([[10_900, 'p2p-dry'], [25_000, 'p2p-healthy'], [33_800, 'p2p-dry']]);
    // Without the settle time the restart's short buffer sends it back to HTTP.
    const q = new FallbackPolicy({ starveMs: 1000, healthyForMs: 5000, minDwellMs: 3000, dryMs: 800, lowBufferS: 0.15, settleMs: 0 });
    expect(run(q, 30_000, (t) => ({ ...delivering(t < 10_000 || t >= 20_000), bufferAheadS: low(t) ? 0.05 : 0.6 }))).toEqual([[10_900, 'p2p-dry'], [25_000, 'p2p-healthy'], [26_300, 'p2p-dry']]);
    // The swarm stopping right after the return is left at once.
    const r = new FallbackPolicy({ starveMs: 1000, healthyForMs: 5000, minDwellMs: 3000, settleMs: 5000 });
    expect(run(r, 30_000, (t) => delivering(t < 10_000 || (t >= 20_000 && t < 25_500)))).toEqual([[10_900, 'p2p-dry'], [25_000, 'p2p-healthy'], [26_400, 'p2p-dry']]);
  });

  it('a low buffer while paused is not running dry', () => {
    const p = new FallbackPolicy();
    expect(run(p, 10_000, (t) => ({ ...delivering(true), bufferAheadS: 0, playing: t < 1000 }))).toEqual([]);
  });

  it('a swarm that flickers (short runs of delivery) does not bring it back, nor does the dwell time allow flapping', () => {
    const p = new FallbackPolicy({ starveMs: 1000, healthyForMs: 5000, minDwellMs: 3000 });
    // Delivery in 3 s bursts separated by 1.5 s gaps after 5 s.
    const s = run(p, 40_000, (t) => delivering(t < 5000 || (t - 5000) % 4500 < 3000));
    expect(s).toEqual([[5000 + 3000 + 900, 'p2p-dry']]);
    expect(p.path).toBe('http');
  });

  it('returning to P2P waits for the dwell time on HTTP', () => {
    const p = new FallbackPolicy({ starveMs: 500, healthyForMs: 1000, minDwellMs: 6000 });
    // Gap 2 s … 3 s only: HTTP at 2.4 s; healthy again by 4 s, but the dwell keeps HTTP until 8.4 s.
    const s = run(p, 12_000, (t) => delivering(t < 2000 || t >= 3000));
    expect(s).toEqual([[2400, 'p2p-dry'], [8400, 'p2p-healthy']]);
  });

  it('an HTTP path that fails hands back to P2P and is not tried again for httpRetryMs', () => {
    const p = new FallbackPolicy({ noPeerTimeoutMs: 1000, httpRetryMs: 5000 });
    expect(run(p, 1000, () => delivering(false))).toEqual([[1000, 'no-peers']]);
    expect(p.httpFailed(1500)).toEqual({ path: 'p2p', switched: 'http-failed' });
    let at = -1;
    for (let t = 1600; t <= 10_000 && at < 0; t += 100) if (p.observe({ nowMs: t, webrtc: true, p2pFrames: 0, bufferAheadS: 0, playing: true }).switched) at = t;
    expect(at).toBe(6500);
  });

  it('without WebRTC, an HTTP path that failed is tried again every httpRetryMs (HTTP is the only path)', () => {
    const p = new FallbackPolicy({ httpRetryMs: 5000 });
    expect(run(p, 0, () => ({ webrtc: false }))).toEqual([[0, 'no-webrtc']]);
    expect(p.httpFailed(500)).toEqual({ path: 'p2p', switched: 'http-failed' });
    let at = -1;
    for (let t = 600; t <= 20_000 && at < 0; t += 100) if (p.observe({ nowMs: t, webrtc: false, p2pFrames: 0, bufferAheadS: 0, playing: false }).switched === 'no-webrtc') at = t;
    expect(at).toBe(5500);
    expect(p.path).toBe('http');
  });

  it('rejects nonsense config', () => {
    expect(() => resolveFallbackPolicy({ rejoinAfterMs: 0 })).toThrow(/BAD_CONFIG/);
    expect(() => resolveFallbackPolicy({ rejoinAfterMs: 20_000, rejoinMaxMs: 10_000 })).toThrow(/BAD_CONFIG/);
    expect(() => resolveFallbackPolicy({ starveMs: -1 })).toThrow(/BAD_CONFIG/);
    expect(() => resolveFallbackPolicy({ healthyForMs: 100, starveMs: 1000 })).toThrow(/BAD_CONFIG/);
    expect(() => resolveFallbackPolicy({ lowBufferS: Number.NaN })).toThrow(/BAD_CONFIG/);
  });
});

/** Runs the rejoin rule every 100 ms from 0 to `untilMs`; `world(t)` says what the player sees; returns the rejoin times. */
function rejoins(rule: RejoinRule, untilMs: number, world: (t: number) => Partial<RejoinObservation> & { delivering?: boolean }) {
  const at: number[] = [];
  let frames = 0;
  for (let t = 0; t <= untilMs; t += 100) {
    const w = world(t);
    if (w.delivering) frames++;
    if (rule.observe({ nowMs: t, onHttp: true, webrtc: true, swarmFrames: frames, ...w })) at.push(t);
  }
  return at;
}

describe('RejoinRule', () => {
  const cfg = { rejoinAfterMs: 15_000, rejoinMaxMs: 60_000 };

  it('on HTTP with a silent swarm, rejoins after rejoinAfterMs, then waits twice as long after each rejoin that brought nothing, up to rejoinMaxMs', () => {
    const r = new RejoinRule(cfg);
    // Frames until 5 s, then HTTP from 6 s with no swarm frame at all.
    const at = rejoins(r, 300_000, (t) => ({ delivering: t < 5000, onHttp: t >= 6000 }));
    expect(at).toEqual([21_000, 51_000, 111_000, 171_000, 231_000, 291_000]);
    expect(r.rejoins).toBe(6);
  });

  it('a rejoin that brings frames sets the wait back: the next silence waits rejoinAfterMs again', () => {
    const r = new RejoinRule(cfg);
    // Silent on HTTP from 0: rejoins at 15 s (nothing) and 45 s (frames from 50 s to 60 s, the last
    // at 59.9 s); silent again: 15 s after the last frame, then 30 s after that rejoin.
    const at = rejoins(r, 120_000, (t) => ({ delivering: t >= 50_000 && t < 60_000 }));
    expect(at).toEqual([15_000, 45_000, 74_900, 104_900]);
  });

  it('never rejoins while the swarm delivers, on P2P, or without WebRTC', () => {
    expect(rejoins(new RejoinRule(cfg), 120_000, () => ({ delivering: true }))).toEqual([]);
    // A frame every 10 s is a trickle, not silence: the session is alive.
    expect(rejoins(new RejoinRule(cfg), 120_000, (t) => ({ delivering: t % 10_000 === 0 }))).toEqual([]);
    expect(rejoins(new RejoinRule(cfg), 120_000, () => ({ onHttp: false }))).toEqual([]);
    expect(rejoins(new RejoinRule(cfg), 120_000, () => ({ webrtc: false }))).toEqual([]);
  });

  it('counts the silence of one stay on HTTP only: back on P2P and on HTTP again, the count starts over', () => {
    const r = new RejoinRule(cfg);
    // HTTP 0 … 10 s, P2P 10 … 20 s (the swarm silent all along: the count would have run out at 15 s), HTTP from 20 s.
    const at = rejoins(r, 40_000, (t) => ({ onHttp: t < 10_000 || t >= 20_000 }));
    expect(at).toEqual([35_000]);
  });
});
