// A colluding-polluter scenario on the pair harness (test and benchmark support): a broadcaster
// feeding 8 viewers directly, fully meshed, and a viewer `v` whose 8 neighbours they are; the first
// `polluters` of them form a group that is honest among itself and sends everyone else one
// coordinated forgery (another frame of the same length) for every feed packet it serves or pushes.
// Virtual time, real bytes and crypto. Used by collusion.test.ts and bench/pollution.bench.ts.

import type { Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import type { PeerCoreConfig } from './core-types.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage, parseMessage } from './wire.ts';

export const frameBytes = (n: number, salt: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7 + (i >> 8)) & 0xff);
/** The frame the group forges instead of seq (same length, so the same packet size). */
export const forgedBytes = (n: number, seq: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seq * 101 + 5) & 0xff);

export interface PollutionRun {
  h: CoreHarness;
  evil: string[];
  honest: string[];
  sent: Uint8Array[];
  /** Virtual time each frame was published. */
  publishedMs: number[];
}

/** Publishes `frames` frames of `frameLength` bytes every `intervalMs`, then drives 3 s more; `config` goes to every peer. */
export async function runPollution(codec: Codec, polluters: number, frames: number, frameLength = 8000, intervalMs = 100, config: Partial<PeerCoreConfig> = {}): Promise<PollutionRun> {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec });
  h.add('b', b);
  const evil = Array.from({ length: polluters }, (_, i) => `e${i}`);
  const honest = Array.from({ length: 8 - polluters }, (_, i) => `h${i}`);
  const all = [...honest, ...evil];
  for (const id of [...all, 'v']) h.add(id, new PeerCore({ peerId: id, codec, config: { ...config, seed: 1000 + [...id].reduce((a, ch) => a * 31 + ch.charCodeAt(0), 0) } }));
  for (const id of all) h.link('b', id);
  for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) h.link(all[i], all[j]);
  for (const id of all) h.link(id, 'v');
  const lengths = new Map<number, number>();
  h.tamper = (from, bytes, type, to) => {
    if (type !== 'feed' || !evil.includes(from) || evil.includes(to)) return bytes;
    const r = parseMessage(bytes);
    if (!r.ok || r.message.type !== 'feed') return bytes;
    const m = r.message;
    const L = lengths.get(m.seq);
    if (L === undefined) return bytes;
    return encodeMessage({ ...m, payload: codec.feedPacket(forgedBytes(L, m.seq), m.x) });
  };
  const sent: Uint8Array[] = [];
  const publishedMs: number[] = [];
  for (let s = 0; s < frames; s++) {
    const frame = frameBytes(frameLength, s);
    lengths.set(s, frame.length);
    sent.push(frame);
    publishedMs.push(h.now);
    b.publishFrame(frame, 0, h.now, h.now);
    h.flush('b');
    await h.drive(h.now + intervalMs);
  }
  await h.drive(h.now + 3000);
  return { h, evil, honest, sent, publishedMs };
}
