import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { KERNEL_BUILDS } from '../kernel/load-kernel.ts';
import { createCodec } from './create-codec.ts';
import { computeKnownAnswers, sha256Hex, vectorFrame } from './known-answer.ts';
import { createReferenceCodec } from './reference-codec.ts';

const committed = JSON.parse(readFileSync(new URL('./vectors.json', import.meta.url), 'utf8'));

describe('known-answer vectors (vectors.json)', () => {
  it('the frame formula gives the committed frames', () => {
    expect(Array.from(vectorFrame(5, 4))).toEqual([4, 171, 82, 249, 160]);
    expect(committed.frames.length).toBe(5);
  });

  it('the reference codec reproduces every committed digest', async () => {
    expect(await computeKnownAnswers(createReferenceCodec())).toEqual(committed);
  });

  it.each(KERNEL_BUILDS)('the %s kernel build reproduces every committed digest', async (build) => {
    expect(await computeKnownAnswers(await createCodec({ build }))).toEqual(committed);
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
