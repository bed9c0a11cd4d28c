// Colluding polluters (pair harness, virtual time, real bytes and crypto): a viewer whose 8
// neighbours include 2 or 3 peers that send one coordinated forgery for every key they serve or
// push (each its own share, all from the same forged frame) still gets every frame on time, bans
// every polluter, and strikes no honest neighbour. A search that leaves out one source at a time
// finds nothing here: every decode it tries still holds another polluter's packets.

import { beforeAll, describe, expect, it } from 'vitest';
import { createReferenceCodec, type Codec } from '../codec/index.ts';
import type { PeerCore } from './peer-core.ts';
import { runPollution } from './pollution-rig.ts';

let codec: Codec;
beforeAll(() => {
  codec = createReferenceCodec();
});

const FRAMES = 25;

describe('colluding polluters among a viewer\'s 8 neighbours', () => {
  for (const polluters of [2, 3]) {
    it(`${polluters} polluters: every frame delivered intact and in time, all polluters banned, no honest peer struck`, async () => {
      const { h, evil, honest, sent } = await runPollution(codec, polluters, FRAMES);
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
