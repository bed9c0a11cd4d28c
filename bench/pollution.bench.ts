// `npm run bench:pollution`: what colluding polluters cost a viewer. Part 1 runs the pair
// harness (virtual time, real bytes and crypto, fastest codec build): a broadcaster feeding 8
// viewers directly, and a viewer whose 8 neighbours they are, 0…3 of them a group sending one
// coordinated forgery; it prints frames delivered and on time, when each polluter was banned,
// honest peers struck, and keys held per attacked frame against clean ones. Part 2 times the
// pollution search on 64 KiB frames (P = 1024): fingerprints per packet and the location of
// corrupted keys. Prints figures only; asserts nothing. Options: --frames N (default 60).

import { performance } from 'node:perf_hooks';
import { createCodec } from '../src/codec/index.ts';
import { cleanSets, fingerprint, fingerprintCoefficients, FINGERPRINT_BYTES } from '../src/protocol/locate-bad-keys.ts';
import type { PeerCore } from '../src/protocol/peer-core.ts';
import { forgedBytes, frameBytes, runPollution } from '../src/protocol/pollution-rig.ts';

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const FRAMES = arg('frames', 60);
const INTERVAL_MS = 100;
const ON_TIME_MS = 1000;
const codec = await createCodec();
const log = (s: string): void => console.log(s);
const median = (a: number[]): number => {
  if (a.length === 0) return NaN;
  const s = [...a].sort((x, y) => x - y);
  return s[Math.floor(s.length / 2)];
};

log(`# pollution: ${FRAMES} frames of 8000 B every ${INTERVAL_MS} ms (virtual time), codec ${codec.build}; viewer v has 8 neighbours, all fed directly`);
log('polluters | v frames delivered | on time (≤ 1 s) | polluted frames at v | v bans (ms after first frame) | honest struck (anyone) | keys held: attacked frame (median, max) / clean (median) | search: locates, decodes (median per attacked frame)');
for (const polluters of [0, 1, 2, 3]) {
  const r = await runPollution(codec, polluters, FRAMES, 8000, INTERVAL_MS, { frameHistory: FRAMES + 8 });
  const v = r.h.core('v') as PeerCore;
  const got = r.h.delivered.get('v') ?? [];
  const intact = got.filter((d) => d.frame.length === r.sent[d.manifest.seq].length && d.frame.every((x, i) => x === r.sent[d.manifest.seq][i]));
  const onTime = intact.filter((d) => d.t - r.publishedMs[d.manifest.seq] <= ON_TIME_MS);
  const bans = r.evil.map((e) => {
    const b = r.h.badPeers.find((x) => x.by === 'v' && x.peerId === e && x.banned);
    return b ? `${e} ${b.t}` : `${e} never`;
  });
  const struck = r.h.badPeers.filter((x) => r.honest.includes(x.peerId) || x.peerId === 'v' || x.peerId === 'b').length;
  const done = v.recentFrames.filter((s) => s.outcome === 'done');
  const attacked = done.filter((s) => s.pollution).map((s) => s.keys);
  const clean = done.filter((s) => !s.pollution).map((s) => s.keys);
  const locates = done.filter((s) => s.pollution).map((s) => s.pollution?.locates ?? 0);
  const decodes = done.filter((s) => s.pollution).map((s) => s.pollution?.decodes ?? 0);
  log(
    `${polluters} | ${intact.length}/${FRAMES} | ${onTime.length}/${FRAMES} (${((100 * onTime.length) / FRAMES).toFixed(1)} %) | ${v.stats.framesPolluted} | ${bans.join(', ') || '-'} | ${struck} | ` +
      `${attacked.length ? `${median(attacked)}, ${Math.max(...attacked)}` : '-'} / ${clean.length ? median(clean) : '-'} | ${locates.length ? `${median(locates)}, ${median(decodes)}` : '-'}`,
  );
}

// Part 2: CPU of the search on 64 KiB frames.
const L = 65536;
const P = 1024;
const frame = frameBytes(L, 1);
const forged = forgedBytes(L, 1);
const all = codec.feedPackets(frame, [...Array(256).keys()]);
const fake = codec.feedPackets(forged, [...Array(256).keys()]);
const coef = fingerprintCoefficients(12345, 7, P);
const reps = 2000;
let t0 = performance.now();
for (let i = 0; i < reps; i++) fingerprint(coef, all[i & 255]);
const fpUs = ((performance.now() - t0) * 1000) / reps;
log('');
log(`# search CPU, 64 KiB frames (P = ${P}), ${FINGERPRINT_BYTES}-byte fingerprints, one core of this machine`);
log(`fingerprint: ${fpUs.toFixed(1)} µs per packet (${((fpUs * 100) / 1000).toFixed(2)} ms for 100 keys)`);
log('keys n | bad keys (sources of 8 bad) | first clean set offered (n-th set) | first clean set (ms) | whole search bound (ms, all sets)');
for (const [per, evil] of [[10, 0], [10, 1], [14, 2], [14, 3], [20, 3], [24, 3]] as const) {
  const xs = [...Array(8 * per).keys()].map((i) => (i * 37) & 255);
  const bad = new Set(xs.filter((x, i) => i % 8 < evil && fake[x].some((b, k) => b !== all[x][k])));
  const fps = new Map(xs.map((x) => [x, fingerprint(coef, bad.has(x) ? fake[x] : all[x])]));
  const inp = { keys: xs, fingerprints: fps, sourceOf: (x: number) => `s${xs.indexOf(x) % 8}`, suspects: [], maxErased: 3, maxTries: 128 };
  const runs = 5;
  let first = 0;
  let whole = 0;
  let found = -1;
  for (let k = 0; k < runs; k++) {
    t0 = performance.now();
    let n = 0;
    for (const c of cleanSets(inp)) {
      n++;
      if (c.keys.every((x) => !bad.has(x))) {
        found = n;
        break;
      }
    }
    first += performance.now() - t0;
    t0 = performance.now();
    for (const _ of cleanSets(inp)) void _;
    whole += performance.now() - t0;
  }
  log(`${xs.length} | ${bad.size} (${evil}) | ${found < 0 ? 'none' : `set ${found}`} | ${(first / runs).toFixed(2)} | ${(whole / runs).toFixed(2)}`);
}
