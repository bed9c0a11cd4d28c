import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KERNEL_BUILDS } from '../kernel/load-kernel.ts';
import { MUTATION_MODE } from './codec-contract.ts';
import { createCodec } from './create-codec.ts';
import { computeKnownAnswers, sha256Hex, VECTOR_FRAMES, VECTOR_SP, vectorFrame } from './known-answer.ts';
import { createReferenceCodec } from './reference-codec.ts';

const committed = JSON.parse(readFileSync(new URL('./vectors.json', import.meta.url), 'utf8'));
/** Every kernel build; in mutation mode (codec-contract.ts) the first, as the TypeScript is the same for all. */
const BUILDS = MUTATION_MODE ? KERNEL_BUILDS.slice(0, 1) : KERNEL_BUILDS;

describe('known-answer vectors (vectors.json)', () => {
  it('the frame formula gives the committed frames', () => {
    expect(Array.from(vectorFrame(5, 4))).toEqual([4, 171, 82, 249, 160]);
    expect(committed.frames.length).toBe(5);
  });

  it('the reference codec reproduces every committed digest', async () => {
    expect(await computeKnownAnswers(createReferenceCodec())).toEqual(committed);
  });

  it.each(BUILDS)('the %s kernel build reproduces every committed digest', async (build) => {
    expect(await computeKnownAnswers(await createCodec({ build }))).toEqual(committed);
  });

  it.each(['reference', ...BUILDS] as const)('the staged API of %s reproduces the committed seed packets and frames', async (build) => {
    const codec = await createCodec({ build });
    for (const [i, { L, seed }] of VECTOR_FRAMES.entries()) {
      const F = vectorFrame(L, seed);
      const want = committed.frames[i];
      const P = want.P as number;
      for (const [c, g] of VECTOR_SP) {
        const seg = codec.segmentStage(P);
        seg.bytes.set(codec.codeSegment(F, c));
        expect(await sha256Hex(seg.seedPacket(g).slice())).toBe(want.seedPackets[`${c},${g}`]);
        const all = seg.seedPacketsInto(new Uint8Array(2 * P), [g, (g + 1) % 32]);
        expect(await sha256Hex(all.slice(0, P))).toBe(want.seedPackets[`${c},${g}`]);
      }
      const xs = Array.from({ length: 64 }, (_, k) => 255 - 3 * k);
      const stage = codec.decodeStage(L);
      codec.feedPackets(F, xs).forEach((p, k) => stage.put(xs[k], p));
      expect(await sha256Hex(stage.decode().slice())).toBe(want.frame);
    }
  });

  it('systematic keys are copies in the vectors too: FP(0) of the 1-byte frame is that byte and 127 zeros', async () => {
    const f = committed.frames[0];
    const packet = new Uint8Array(128);
    packet[0] = vectorFrame(1, 1)[0];
    expect(f.P).toBe(128);
    expect(f.feedPackets['0']).toBe(await sha256Hex(packet));
    expect(f.feedPackets['63']).toBe(await sha256Hex(new Uint8Array(128)));
  });
});
