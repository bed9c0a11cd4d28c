// A realistic camera for `npm run bench:e2e`: writes a short Y4M clip (4:2:0, `C420jpeg`) that
// Chromium plays as its fake camera (`--use-file-for-fake-video-capture=<file.y4m>`, looped).
// Chromium's own fake camera is a flat green picture the encoder squeezes to ~250 kbit/s whatever
// bitrate is asked for; this clip is high-detail and moving everywhere — two layers of multi-scale
// smooth noise texture panning in different directions, blended, plus per-frame grain — so the encoder
// spends about the requested bitrate, as with a real camera. Pure Node, deterministic (fixed seed).

import { createWriteStream } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export interface CameraClip {
  file: string;
  width: number;
  height: number;
  fps: number;
  seconds: number;
}

/** xorshift32: fast, deterministic. */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const TILE = 512; // power of two: texture coordinates wrap with a mask
/** Noise octaves: [cell size in pixels, weight]. */
const OCTAVES: Array<[number, number]> = [[2, 0.08], [4, 0.4], [8, 0.8], [16, 0.8], [32, 0.7], [64, 0.6]];
const CONTRAST = 2.2;
/** Per-frame grain, ± this many luma levels. */
const GRAIN = 1;

/**
 * A TILE × TILE texture: smooth (bilinear) value noise summed over cell sizes 4 … 64, plus a faint
 * 2-pixel octave: detail at every scale like a real scene, without white noise no camera delivers.
 */
function texture(seed: number): Uint8Array {
  const next = rng(seed);
  const acc = new Float32Array(TILE * TILE);
  let total = 0;
  for (const [cell, w] of OCTAVES) {
    total += w;
    const n = TILE / cell;
    const cells = new Float32Array(n * n);
    for (let i = 0; i < cells.length; i++) cells[i] = next() & 0xff;
    for (let y = 0; y < TILE; y++) {
      const cy = Math.floor(y / cell), fy = (y % cell) / cell;
      const r0 = cy * n, r1 = ((cy + 1) % n) * n;
      for (let x = 0; x < TILE; x++) {
        const cx = Math.floor(x / cell), fx = (x % cell) / cell;
        const cx1 = (cx + 1) % n;
        const top = cells[r0 + cx] * (1 - fx) + cells[r0 + cx1] * fx;
        const bottom = cells[r1 + cx] * (1 - fx) + cells[r1 + cx1] * fx;
        acc[y * TILE + x] += (top * (1 - fy) + bottom * fy) * w;
      }
    }
  }
  const out = new Uint8Array(TILE * TILE);
  // Stretch the contrast (the sum of octaves is centred and narrow), clamp to 16 … 235.
  for (let i = 0; i < out.length; i++) out[i] = Math.max(16, Math.min(235, Math.round(128 + (acc[i] / total - 127.5) * CONTRAST)));
  return out;
}

/**
 * Writes the clip into the OS temp dir and resolves with its description. 640×360, 30 fps, 4 s
 * by default (~41 MB; Chromium loops it).
 */
export async function writeCameraClip(opts: Partial<Omit<CameraClip, 'file'>> = {}): Promise<CameraClip> {
  const width = opts.width ?? 640;
  const height = opts.height ?? 360;
  const fps = opts.fps ?? 30;
  const seconds = opts.seconds ?? 4;
  const file = path.join(os.tmpdir(), `p2p-player-bench-camera-${width}x${height}-${fps}.y4m`);
  const a = texture(1);
  const b = texture(2);
  const u = texture(3);
  const v = texture(4);
  const grain = rng(5);
  const m = TILE - 1;
  const cw = width >> 1;
  const ch = height >> 1;
  const out = createWriteStream(file);
  const write = (buf: Buffer | string) => new Promise<void>((resolve, reject) => (out.write(buf, (e) => (e ? reject(e) : resolve()))));
  await write(`YUV4MPEG2 W${width} H${height} F${fps}:1 Ip A1:1 C420jpeg\n`);
  const frame = Buffer.alloc(width * height + 2 * cw * ch);
  for (let f = 0; f < fps * seconds; f++) {
    // Layer a pans right and a little down, layer b pans up-left, at different speeds.
    const ax = 3 * f, ay = f;
    const bx = -2 * f, by = -3 * f;
    let o = 0;
    for (let y = 0; y < height; y++) {
      const ra = ((y + ay) & m) * TILE;
      const rb = ((y + by) & m) * TILE;
      for (let x = 0; x < width; x++) {
        const g = (grain() % (2 * GRAIN + 1)) - GRAIN;
        const val = ((a[ra + ((x + ax) & m)] + b[rb + ((x + bx) & m)]) >> 1) + g;
        frame[o++] = val < 16 ? 16 : val > 235 ? 235 : val;
      }
    }
    // Chroma planes (quarter size) pan with layer a, softened towards grey.
    for (const plane of [u, v]) {
      for (let y = 0; y < ch; y++) {
        const r = ((y + (ay >> 1)) & m) * TILE;
        for (let x = 0; x < cw; x++) frame[o++] = 128 + ((plane[r + ((x + (ax >> 1)) & m)] - 128) >> 1);
      }
    }
    await write('FRAME\n');
    await write(Buffer.from(frame));
  }
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return { file, width, height, fps, seconds };
}
