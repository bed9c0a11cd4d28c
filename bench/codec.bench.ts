// `npm run bench:codec`: MB/s of the codec on the workloads of DESIGN section 6 for every kernel
// build, the TypeScript reference and Reed-Solomon packages from npm, in one process, alternating
// rounds, medians, outputs checked first; then the glue of each codec call over the raw kernel,
// measured in pairs. Prints figures only; asserts nothing. Node only.

import { createCodec, createReferenceCodec, feedGenerator, type Codec } from '../src/codec/index.ts';
import { gfMulAcc } from '../src/codec/gf256.ts';
import { gfInvert, gfMatMul } from '../src/codec/gf-matrix.ts';
import { KERNEL_BUILDS, kernelValidates, loadKernelSync, type Kernel } from '../src/kernel/load-kernel.ts';
import { measure, measurePair, median, type Cell, type Figure } from './codec-timing.ts';
import { npmContenders, type RsShape } from './codec-npm-contenders.ts';

const ROUNDS = Number(process.env.CODEC_BENCH_ROUNDS ?? 21);
const BATCH_MS = Number(process.env.CODEC_BENCH_BATCH_MS ?? 20);
const log = (s: string): void => console.log(s);
const STAGED_DECODE = 'decode via staged packets (decodeStage)';
const STAGED_SEGMENT = 'via staged segment (segmentStage)';
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);
const range = (from: number, n: number, step = 1): number[] => Array.from({ length: n }, (_, i) => from + i * step);

const L = 65536;
const P = 1024;
const Q = P / 8;
const frame = new Uint8Array(L);
for (let i = 0, s = 12345; i < L; i++) { s = (s * 1103515245 + 12345) >>> 0; frame[i] = s >>> 24; }

const ref = createReferenceCodec();
const builds = KERNEL_BUILDS.filter((b) => kernelValidates(b));
const codecs: Codec[] = [];
for (const b of builds) codecs.push(await createCodec({ build: b }));
const uncached: Codec[] = [];
for (const b of builds.filter((x) => x !== 'scalar')) uncached.push(await createCodec({ build: b, decodeCacheEntries: 0 }));
const all: Codec[] = [...codecs, ref];
const npm = await npmContenders(log);

// Inputs of each workload, made once by the reference codec.
const G = feedGenerator();
const dec32Keys = [...range(1, 32, 2), ...range(64, 32)];
const dec64Keys = range(64, 64);
const fpAll = new Map(ref.feedPackets(frame, [...range(0, 64), ...range(64, 64)]).map((p, i) => [i, p]));
const pick = (keys: number[]): Map<number, Uint8Array> => new Map(keys.map((x) => [x, fpAll.get(x) as Uint8Array]));
const dec32 = pick(dec32Keys);
const dec64 = pick(dec64Keys);
const encWant = dec64Keys.map((x) => fpAll.get(x) as Uint8Array);
const holderC = 100;
const holderG = 20;
const holderCs = ref.codeSegment(frame, holderC);
const holderWant = ref.seedPacket(holderCs, holderG);
const holderAllG = range(8, 24);
const holderAllWant = holderAllG.map((g) => ref.seedPacket(holderCs, g));
const seedKeys = range(8, 10);
const seedsOf = (n: number): Map<number, Uint8Array> =>
  new Map(seedKeys.slice(0, n).map((c) => [c, ref.seedPacket(ref.codeSegment(frame, c), holderG)]));
const seeds8 = seedsOf(8);
const seeds10 = seedsOf(10);
const producerWant = range(8 * holderG, 8).map((x) => fpAll.get(x) ?? ref.feedPacket(frame, x));

function codecCell(c: Codec, label: string, run: () => Uint8Array | Uint8Array[], want: Uint8Array | Uint8Array[]): Cell {
  let out: Uint8Array | Uint8Array[] = [];
  return {
    name: label || c.build,
    run: () => { out = run(); },
    check: () => (Array.isArray(want) ? Array.isArray(out) && want.every((w, i) => same(w, (out as Uint8Array[])[i])) : same(out as Uint8Array, want)),
  };
}

/** The raw kernel doing a workload's row product, pointers and matrix set once (the glue baseline). */
function rawCell(k: Kernel, nOut: number, nIn: number, len: number, blocks: [number, number, number], setup: (k: Kernel) => void, check: (k: Kernel) => boolean): Cell {
  setup(k);
  return {
    name: `${k.build} raw kernel`,
    run: () => { k.exports.mulRows(nOut, nIn, len, blocks[0], blocks[1], blocks[2]); },
    check: () => check(k),
  };
}

const D = (k: Kernel, off: number): number => k.dataPtr + off;
function rawDecode32(k: Kernel): Cell {
  const missing = range(0, 32, 2);
  const present = range(1, 32, 2);
  const coded = range(64, 32);
  const B = new Uint8Array(32 * 32);
  const C = new Uint8Array(32 * 32);
  for (let r = 0; r < 32; r++) for (let i = 0; i < 32; i++) { B[r * 32 + i] = G[coded[r] * 64 + missing[i]]; C[r * 32 + i] = G[coded[r] * 64 + present[i]]; }
  const Binv = gfInvert(B, 32) as Uint8Array;
  const E = gfMatMul(Binv, C, 32, 32, 32);
  const M = new Uint8Array(32 * 64);
  for (let i = 0; i < 32; i++) { M.set(Binv.subarray(i * 32, i * 32 + 32), i * 64); M.set(E.subarray(i * 32, i * 32 + 32), i * 64 + 32); }
  return rawCell(k, 32, 64, P, [1, 0, 0], (kk) => {
    kk.matrix.set(M);
    coded.forEach((y, r) => { kk.heap.set(fpAll.get(y) as Uint8Array, D(kk, 65536 + r * P)); kk.inPtrs[r] = D(kk, 65536 + r * P); });
    present.forEach((j, e) => { kk.heap.set(fpAll.get(j) as Uint8Array, D(kk, j * P)); kk.inPtrs[32 + e] = D(kk, j * P); });
    missing.forEach((j, i) => { kk.outPtrs[i] = D(kk, j * P); });
  }, (kk) => same(kk.heap.subarray(D(kk, 0), D(kk, L)), frame));
}
function rawEncode64(k: Kernel): Cell {
  return rawCell(k, 64, 64, P, [1, 0, 0], (kk) => {
    kk.heap.set(frame, D(kk, 0));
    kk.matrix.set(G.subarray(64 * 64, 128 * 64));
    for (let j = 0; j < 64; j++) { kk.inPtrs[j] = D(kk, j * P); kk.outPtrs[j] = D(kk, 131072 + j * P); }
  }, (kk) => encWant.every((w, i) => same(kk.heap.subarray(D(kk, 131072 + i * P), D(kk, 131072 + (i + 1) * P)), w)));
}
function rawHolder(k: Kernel, groups: number[]): Cell {
  const n = groups.length * 8;
  return rawCell(k, n, 64, Q, [1, 0, 0], (kk) => {
    kk.heap.set(holderCs, D(kk, 65536));
    groups.forEach((g, i) => kk.matrix.set(G.subarray(8 * g * 64, 8 * (g + 1) * 64), i * 8 * 64));
    for (let j = 0; j < 64; j++) kk.inPtrs[j] = D(kk, 65536 + j * Q);
    for (let m = 0; m < n; m++) kk.outPtrs[m] = D(kk, 131072 + m * Q);
  }, (kk) => groups.every((g, i) => same(kk.heap.subarray(D(kk, 131072 + i * P), D(kk, 131072 + (i + 1) * P)), ref.seedPacket(holderCs, g))));
}

function report(title: string, bytesPerOp: number, unit: 'MB/s' | 'GB/s', figs: Figure[]): Figure[] {
  const scale = unit === 'MB/s' ? 1e6 : 1e9;
  for (const f of figs) {
    const fmt = (ops: number): string => (ops * bytesPerOp / scale).toFixed(unit === 'MB/s' ? 1 : 2);
    const v = f.ok
      ? `${fmt(f.opsPerSec)} ${unit} ±${Math.round(f.spread * 100)}% (best round ${fmt(Math.max(...f.rates))})`
      : 'n/a (output check failed)';
    log(`${title} | ${f.name} | ${v}`);
  }
  return figs;
}

const results = new Map<string, Figure[]>();
/** Codec cells compared with the raw kernel per workload, and the glue lines they give. */
const GLUE: Record<string, string> = { dec32: 'decode 32/64 coded', enc64: '64 feed packets', holder: 'holder step, one group', holder24: 'holder step, 24 groups' };
const glueLines: string[] = [];
function workload(id: string, title: string, bytesPerOp: number, cells: Cell[], unit: 'MB/s' | 'GB/s' = 'MB/s'): void {
  const figs = report(title, bytesPerOp, unit, measure(cells, ROUNDS, BATCH_MS));
  results.set(id, figs);
  if (GLUE[id] !== undefined) glue(id, cells, figs);
}

/**
 * Glue of each codec cell over the raw kernel on the same row product. Each pair runs again on its
 * own in rounds of raw, codec, codec, raw (a quarter of the batch time each, 2× the rounds), so a
 * busy phase of a shared machine slows both alike: median of the per-round ratios, and the ratio
 * of the best batches.
 * Runs right after its workload, while the raw kernel's inputs are still in place.
 */
function glue(id: string, cells: Cell[], figs: Figure[]): void {
  for (const k of fastKernels) {
    const raw = cells.find((c) => c.name === `${k.build} raw kernel`);
    for (const name of [k.build, `${k.build} decodeFrameInto`, `${k.build} ${STAGED_DECODE}`, `${k.build} ${STAGED_SEGMENT}`]) {
      const glued = cells.find((c) => c.name === name);
      const ok = (n: string): boolean => figs.find((f) => f.name === n)?.ok === true;
      if (raw === undefined || glued === undefined || !ok(raw.name) || !ok(name)) continue;
      const p = measurePair(raw, glued, 2 * ROUNDS, BATCH_MS / 4);
      if (!p.ok) { glueLines.push(`summary | glue over raw kernel | ${GLUE[id]} | ${name}: n/a (output check failed)`); continue; }
      const median_ = median(p.ratios) - 1;
      const best = p.bestBase / p.bestGlued - 1;
      glueLines.push(`summary | glue over raw kernel | ${GLUE[id]} | ${name}: ${(median_ * 100).toFixed(1)}% (median of paired rounds), ${(best * 100).toFixed(1)}% (best rounds)`);
    }
  }
}
const npmShape = (k: number, m: number, shard: number, lost: number[]): RsShape => ({ k, m, shard, lost });
const kernels = new Map(builds.map((b) => [b, loadKernelSync(b)]));
const fastKernels = [...kernels.values()].filter((k) => k.build !== 'scalar');

log(`codec benchmark: Node ${process.versions.node}, builds ${builds.join(', ')}, ${ROUNDS} rounds of ~${BATCH_MS} ms per cell; median ±IQR/median (best round)`);

workload('dec32', 'decode 64 KiB frame, 64 packets, 32 non-systematic', L, [
  ...all.map((c) => codecCell(c, '', () => c.decodeFrame(dec32, L), frame)),
  ...uncached.map((c) => codecCell(c, `${c.build} (decode matrix not cached)`, () => c.decodeFrame(dec32, L), frame)),
  ...codecs.filter((c) => c.build !== 'scalar').map((c) => {
    const out = new Uint8Array(L);
    return codecCell(c, `${c.build} decodeFrameInto`, () => c.decodeFrameInto(out, dec32, L), frame);
  }),
  // The zero-copy receive path: each packet is copied once into its slot (the copy a receive path
  // makes from the network buffer anyway, counted here), the frame is solved in place and read as a view.
  ...codecs.filter((c) => c.build !== 'scalar').map((c) => {
    const pkts = dec32Keys.map((x) => fpAll.get(x) as Uint8Array);
    return codecCell(c, `${c.build} ${STAGED_DECODE}`, () => {
      const st = c.decodeStage(L);
      for (let i = 0; i < dec32Keys.length; i++) st.slot(dec32Keys[i]).set(pkts[i]);
      return st.decode();
    }, frame);
  }),
  ...fastKernels.map(rawDecode32),
  ...npm.map((n) => n.decode(npmShape(64, 64, P, range(0, 32, 2)), frame)),
]);
workload('dec64', 'decode 64 KiB frame, 64 non-systematic packets', L, [
  ...all.map((c) => codecCell(c, '', () => c.decodeFrame(dec64, L), frame)),
  ...uncached.map((c) => codecCell(c, `${c.build} (decode matrix not cached)`, () => c.decodeFrame(dec64, L), frame)),
  ...npm.map((n) => n.decode(npmShape(64, 64, P, range(0, 64)), frame)),
]);
workload('enc64', 'all 64 non-systematic feed packets of a 64 KiB frame', L, [
  ...all.map((c) => codecCell(c, '', () => c.feedPackets(frame, dec64Keys), encWant)),
  ...fastKernels.map(rawEncode64),
  ...npm.map((n) => n.encode(npmShape(64, 64, P, []), frame)),
]);
workload('holder', 'holder step SP(c, g), g >= 8, P = 1024 (output)', P, [
  ...all.map((c) => codecCell(c, '', () => c.seedPacket(holderCs, holderG), holderWant)),
  // The code segment staged (copied in once per frame, counted here) and the seed packet read as a view.
  ...codecs.filter((c) => c.build !== 'scalar').map((c) => codecCell(c, `${c.build} ${STAGED_SEGMENT}`, () => {
    const st = c.segmentStage(P);
    st.bytes.set(holderCs);
    return st.seedPacket(holderG);
  }, holderWant)),
  ...fastKernels.map((k) => rawHolder(k, [holderG])),
  ...npm.map((n) => n.encode(npmShape(64, 8, Q, []), holderCs)),
]);
workload('holder24', 'holder step, all 24 groups g = 8..31 in one call (output)', 24 * P, [
  ...all.map((c) => codecCell(c, '', () => c.seedPackets(holderCs, holderAllG), holderAllWant)),
  // One staged segment serves every group; the seed packets are written into the caller's buffer.
  ...codecs.filter((c) => c.build !== 'scalar').map((c) => {
    const buf = new Uint8Array(holderAllG.length * P);
    const outs = holderAllG.map((_, i) => buf.subarray(i * P, (i + 1) * P));
    return codecCell(c, `${c.build} ${STAGED_SEGMENT}`, () => {
      const st = c.segmentStage(P);
      st.bytes.set(holderCs);
      st.seedPacketsInto(buf, holderAllG);
      return outs;
    }, holderAllWant);
  }),
  ...fastKernels.map((k) => rawHolder(k, holderAllG)),
]);
workload('producer', 'producer step, 8 seeds -> 8 feed packets, P = 1024 (output)', 8 * P, [
  ...all.map((c) => codecCell(c, '', () => c.feedPacketsFromSeeds(seeds8, holderG), producerWant)),
  ...all.map((c) => codecCell(c, `${c.build} (10 seeds, checked)`, () => c.feedPacketsFromSeeds(seeds10, holderG), producerWant)),
  ...npm.map((n) => n.decode(npmShape(8, 8, P, range(0, 8)), frame.subarray(0, 8 * P))),
]);
{
  const src = frame.subarray(0, 1024);
  const dst = new Uint8Array(1024);
  const cells: Cell[] = [...kernels.values()].map((k) => {
    k.heap.set(src, D(k, 4096));
    k.heap.fill(0, D(k, 0), D(k, 1024));
    return { name: `${k.build} kernel`, run: () => { k.exports.mulAcc(D(k, 0), D(k, 4096), 0x8e, 1024); }, check: () => true };
  });
  cells.push({ name: 'reference (TypeScript)', run: () => gfMulAcc(dst, 0, src, 0, 0x8e, 1024), check: () => true });
  workload('muladd', 'multiply-accumulate of a 1 KiB row', 1024, cells, 'GB/s');
}

// Summary lines: who won among npm packages, ratios, glue overhead.
const rate = (id: string, name: string): number => results.get(id)?.find((f) => f.name === name)?.opsPerSec ?? Number.NaN;
for (const [id, title] of [['dec32', 'decode 32/64 coded'], ['dec64', 'decode 64/64 coded'], ['enc64', '64 feed packets']] as const) {
  const npmFigs = (results.get(id) ?? []).filter((f) => npm.some((n) => n.name === f.name) && f.ok);
  const best = npmFigs.sort((a, b) => b.opsPerSec - a.opsPerSec)[0];
  if (best) log(`summary | ${title} | fastest npm package: ${best.name} (${(best.opsPerSec * L / 1e6).toFixed(1)} MB/s)`);
  for (const b of builds) {
    const r = rate(id, b);
    const vsNpm = best ? (r / best.opsPerSec).toFixed(1) : 'n/a';
    log(`summary | ${title} | ${b}: ${vsNpm}x the fastest npm package, ${(r / rate(id, 'reference')).toFixed(1)}x the TS reference`);
  }
}
for (const line of glueLines) log(line);
