// Colluding polluters (pair harness, virtual time, real bytes and crypto): a viewer whose 8
// neighbours include 2 or 3 peers that send one coordinated forgery for every key they serve or
// push (each its own share, all from the same forged frame) still gets every frame on time, bans
// every polluter, and strikes no honest neighbour. A search that leaves out one source at a time
// finds nothing here: every decode it tries still holds another polluter's packets.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import { BroadcasterCore } from './broadcaster-core.ts';
import { CoreHarness } from './core-harness.ts';
import { PeerCore } from './peer-core.ts';
import { encodeMessage, parseMessage } from './wire.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const FRAMES = 25;
const frameBytes = (n: number, salt: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + salt * 7 + (i >> 8)) & 0xff);
/** The frame the group forges instead of seq (same length, so the same packet size). */
const forgedBytes = (n: number, seq: number) => Uint8Array.from({ length: n }, (_, i) => (i * 13 + seq * 101 + 5) & 0xff);

async function swarm(polluters: number) {
  const h = await CoreHarness.create();
  const b = new BroadcasterCore({ codec });
  h.add('b', b);
  const evil = Array.from({ length: polluters }, (_, i) => `e${i}`);
  const honest = Array.from({ length: 8 - polluters }, (_, i) => `h${i}`);
  const all = [...honest, ...evil];
  for (const id of [...all, 'v']) h.add(id, new PeerCore({ peerId: id, codec, config: { seed: 1000 + [...id].reduce((a, ch) => a * 31 + ch.charCodeAt(0), 0) } }));
  for (const id of all) h.link('b', id);
  for (let i = 0; i < all.length; i++) for (let j = i + 1; j < all.length; j++) h.link(all[i], all[j]);
  for (const id of all) h.link(id, 'v');
  const lengths = new Map<number, number>();
  // The group is honest among itself and sends the same forgery to everyone else.
  h.tamper = (from, bytes, type, to) => {
    if (type !== 'feed' || !evil.includes(from) || evil.includes(to)) return bytes;
    const r = parseMessage(bytes);
    if (!r.ok || r.message.type !== 'feed') return bytes;
    const m = r.message;
    const L = lengths.get(m.seq);
    if (L === undefined) return bytes;
    return encodeMessage({ ...m, payload: codec.feedPacket(forgedBytes(L, m.seq), m.x) });
  };
  return { h, b, evil, honest, lengths };
}

async function run(polluters: number) {
  const { h, b, evil, honest, lengths } = await swarm(polluters);
  const sent: Uint8Array[] = [];
  for (let s = 0; s < FRAMES; s++) {
    const frame = frameBytes(8000, s);
    lengths.set(s, frame.length);
    sent.push(frame);
    b.publishFrame(frame, 0, h.now, h.now);
    h.flush('b');
    await h.drive(h.now + 100);
  }
  await h.drive(h.now + 3000);
  return { h, evil, honest, sent };
}

describe('colluding polluters among a viewer\'s 8 neighbours', () => {
  for (const polluters of [2, 3]) {
    it(`${polluters} polluters: every frame delivered intact and in time, all polluters banned, no honest peer struck`, async () => {
      const { h, evil, honest, sent } = await run(polluters);
      const v = h.core('v') as PeerCore;
      const got = h.delivered.get('v') ?? [];
      for (const d of got) expect(d.frame).toEqual(sent[d.manifest.seq]);
      expect(got.map((d) => d.manifest.seq).sort((a, c) => a - c)).toEqual([...Array(FRAMES).keys()]);
      // In time: within a second of publication (published every 100 ms from t = 0).
      for (const d of got) expect(d.t - d.manifest.seq * 100, `frame ${d.manifest.seq}`).toBeLessThan(1000);
      for (const e of evil) expect(v.isBanned(e), e).toBe(true);
      expect(h.badPeers.filter((x) => honest.includes(x.peerId) || x.peerId === 'v' || x.peerId === 'b')).toEqual([]);
      // The honest neighbours (fed directly, the group among their neighbours too) get the stream.
      for (const x of honest) expect((h.delivered.get(x) ?? []).length, x).toBe(FRAMES);
    }, 60_000);
  }
});
