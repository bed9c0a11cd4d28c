// Adapters that run Reed-Solomon packages from npm (browser-capable, WASM) on the benchmark's
// k = 64 and k = 8 shapes, each with its own code, and check their decodes restore the data.
// Benchmark only: nothing in src/ imports these packages. Used by bench/codec.bench.ts.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ReedSolomonErasure } from '@digitaldefiance/reed-solomon-erasure.wasm';
import { init as typeberryInit, reedSolomon as tb } from '@typeberry/native';
import { Decoder, Encoder, initSync as raptorqInit } from 'raptorq/raptorq.js';
import type { Cell } from './codec-timing.ts';

/** An RS job: k data shards, m parity shards, of `shard` bytes; decode drops `lost` data shards and uses the first `lost.length` parity shards. */
export interface RsShape {
  k: number;
  m: number;
  shard: number;
  lost: number[];
}

export interface NpmContender {
  name: string;
  encode(shape: RsShape, data: Uint8Array): Cell;
  decode(shape: RsShape, data: Uint8Array): Cell;
}

const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && a.every((v, i) => v === b[i]);

/** @digitaldefiance/reed-solomon-erasure.wasm: reconstruct is called on the raw exports, because its JS wrapper frees one buffer twice. */
function digitalDefiance(): NpmContender {
  const req = createRequire(import.meta.url);
  const rs = ReedSolomonErasure.fromBytes(readFileSync(req.resolve('@digitaldefiance/reed-solomon-erasure.wasm/wasm')));
  const ex = (rs as unknown as { exports: Record<string, (...a: number[]) => number> & { memory: WebAssembly.Memory } }).exports;
  const name = '@digitaldefiance/reed-solomon-erasure.wasm';
  const encodeAll = (s: RsShape, data: Uint8Array): Uint8Array => {
    const buf = new Uint8Array((s.k + s.m) * s.shard);
    buf.set(data);
    if (rs.encode(buf, s.k, s.m) !== 0) throw new Error('encode failed');
    return buf;
  };
  return {
    name,
    encode(s, data) {
      let out: Uint8Array = new Uint8Array(0);
      return {
        name,
        run: () => { out = encodeAll(s, data); },
        check: () => out.length === (s.k + s.m) * s.shard && same(out.subarray(0, data.length), data),
      };
    },
    decode(s, data) {
      const full = encodeAll(s, data);
      const avail = new Uint8Array(s.k + s.m);
      for (let i = 0; i < s.k; i++) avail[i] = s.lost.includes(i) ? 0 : 1;
      for (let i = 0; i < s.lost.length; i++) avail[s.k + i] = 1;
      const input = full.slice();
      for (const i of s.lost) input.fill(0, i * s.shard, (i + 1) * s.shard);
      for (let i = s.k + s.lost.length; i < s.k + s.m; i++) input.fill(0, i * s.shard, (i + 1) * s.shard);
      let out: Uint8Array = new Uint8Array(0);
      return {
        name,
        run: () => {
          const p = ex.__wbindgen_malloc(input.length, 1);
          new Uint8Array(ex.memory.buffer).set(input, p);
          const a = ex.__wbindgen_malloc(avail.length, 1);
          new Uint8Array(ex.memory.buffer).set(avail, a);
          const rc = ex.reconstruct(p, input.length, s.k, s.m, a, avail.length); // frees `a` itself
          out = new Uint8Array(ex.memory.buffer).slice(p, p + s.k * s.shard);
          ex.__wbindgen_free(p, input.length, 1);
          if (rc !== 0) throw new Error(`reconstruct ${rc}`);
        },
        check: () => same(out, data),
      };
    },
  };
}

/** @typeberry/native reedSolomon: reed-solomon-simd (Leopard-RS, GF(2^16) FFT) in WASM. */
async function typeberry(): Promise<NpmContender> {
  await typeberryInit.reedSolomon();
  const name = '@typeberry/native (GF(2^16) FFT)';
  const parity = (s: RsShape, data: Uint8Array): Uint8Array =>
    tb.encode(s.m, new tb.ShardsCollection(s.shard, data.slice(), null)).take_data();
  return {
    name,
    encode(s, data) {
      let out: Uint8Array = new Uint8Array(0);
      return { name, run: () => { out = parity(s, data); }, check: () => out.length === s.m * s.shard };
    },
    decode(s, data) {
      const par = parity(s, data);
      const idx: number[] = [];
      const input = new Uint8Array(s.k * s.shard);
      let at = 0;
      for (let i = 0; i < s.k; i++) {
        if (s.lost.includes(i)) continue;
        input.set(data.subarray(i * s.shard, (i + 1) * s.shard), at++ * s.shard);
        idx.push(i);
      }
      for (let r = 0; r < s.lost.length; r++) {
        input.set(par.subarray(r * s.shard, (r + 1) * s.shard), at++ * s.shard);
        idx.push(s.k + r);
      }
      const indices = new Uint16Array(idx);
      let got: Uint8Array = new Uint8Array(0);
      let gotIdx: Uint16Array = new Uint16Array(0);
      return {
        name,
        run: () => {
          const out = tb.decode(s.k, s.m, new tb.ShardsCollection(s.shard, input.slice(), indices.slice()));
          gotIdx = out.take_indices() ?? new Uint16Array(0);
          got = out.take_data();
        },
        check: () => gotIdx.length === s.lost.length
          && [...gotIdx].every((i, n) => same(got.subarray(n * s.shard, (n + 1) * s.shard), data.subarray(i * s.shard, (i + 1) * s.shard))),
      };
    },
  };
}

/** raptorq: RaptorQ (RFC 6330) in WASM; a fountain code, not MDS (4-byte header per packet). */
function raptorq(): NpmContender {
  const req = createRequire(import.meta.url);
  raptorqInit(readFileSync(req.resolve('raptorq/raptorq_bg.wasm')));
  const name = 'raptorq (RFC 6330)';
  const packets = (s: RsShape, data: Uint8Array): Uint8Array[] => {
    const enc = Encoder.with_defaults(data, s.shard + 4);
    const p = enc.encode(s.m);
    enc.free();
    return p;
  };
  return {
    name,
    encode(s, data) {
      let out: Uint8Array[] = [];
      return { name, run: () => { out = packets(s, data); }, check: () => out.length >= s.k + s.m };
    },
    decode(s, data) {
      const all = packets(s, data);
      const use = all.filter((_, i) => (i < s.k ? !s.lost.includes(i) : i < s.k + s.lost.length));
      let out: Uint8Array | undefined;
      return {
        name,
        run: () => {
          const dec = Decoder.with_defaults(BigInt(data.length), s.shard + 4);
          out = undefined;
          for (const p of use) { out = dec.decode(p); if (out !== undefined) break; }
          dec.free();
        },
        check: () => out !== undefined && same(out, data),
      };
    },
  };
}

/** Every npm contender that loads here (a package that fails to load is reported and left out). */
export async function npmContenders(log: (line: string) => void): Promise<NpmContender[]> {
  const out: NpmContender[] = [];
  for (const make of [digitalDefiance, typeberry, raptorq]) {
    try {
      out.push(await make());
    } catch (e) {
      log(`npm contender ${make.name} did not load: ${String(e)}`);
    }
  }
  return out;
}
