import { describe, expect, it } from 'vitest';
import { EncodedPacket, EncodedVideoPacketSource, Mp4OutputFormat, NullTarget, Output } from 'mediabunny';
import { repairAvcParameterSets } from './avcc-repair.ts';
import { parseInitSegment } from './init-segment.ts';

// An init segment written by mediabunny for an H.264 track described by `avcC`.
async function avcInit(avcC: Uint8Array): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const output = new Output({
    format: new Mp4OutputFormat({ fastStart: 'fragmented', onFtyp: (d) => parts.push(d.slice()), onMoov: (d) => parts.push(d.slice()) }),
    target: new NullTarget(),
  });
  const v = new EncodedVideoPacketSource('avc');
  output.addVideoTrack(v);
  await output.start();
  await v.add(new EncodedPacket(new Uint8Array(100), 'key', 0, 1 / 30), { decoderConfig: { codec: 'avc1.42c01e', codedWidth: 320, codedHeight: 240, description: avcC } });
  await output.finalize();
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

const sps = [0x67, 0x42, 0xc0, 0x1e, 0xd9, 0x01, 0x41, 0xfa, 0x10];
const pps = [0x68, 0xcb, 0x8c, 0xb2];
const avcC = (s: number[], p: number[]) => new Uint8Array([1, 0x42, 0xc0, 0x1e, 0xff, 0xe1, 0, s.length, ...s, 1, 0, p.length, ...p]);
const find = (b: Uint8Array, fourcc: string) => b.findIndex((_, i) => String.fromCharCode(...b.subarray(i, i + 4)) === fourcc);
const boxSize = (b: Uint8Array, fourcc: string) => new DataView(b.buffer, b.byteOffset).getUint32(find(b, fourcc) - 4);

describe('repairAvcParameterSets', () => {
  it("removes the doubled NAL header byte of Firefox's SPS and PPS and fixes every parent size", async () => {
    const broken = await avcInit(avcC([0x67, ...sps], [0x68, ...pps]));
    const good = await avcInit(avcC(sps, pps));
    const fixed = repairAvcParameterSets(broken);
    expect(fixed.length).toBe(broken.length - 2);
    // Byte for byte what the muxer writes for the correct parameter sets.
    expect(Buffer.from(fixed).equals(Buffer.from(good))).toBe(true);
    for (const box of ['moov', 'trak', 'stsd', 'avc1', 'avcC']) expect(boxSize(fixed, box)).toBe(boxSize(broken, box) - 2);
    expect(parseInitSegment(fixed).codecs).toEqual(['avc1.42c01e']);
  });

  it('leaves a correct init segment untouched and a doubled-looking PPS alone when the SPS is fine', async () => {
    const good = await avcInit(avcC(sps, pps));
    expect(repairAvcParameterSets(good)).toBe(good);
    const odd = await avcInit(avcC(sps, [0x68, 0x68, 0x8c]));
    expect(repairAvcParameterSets(odd)).toBe(odd);
  });

  it('copies truncated or garbage input without throwing past its bounds', async () => {
    const broken = await avcInit(avcC([0x67, ...sps], [0x68, ...pps]));
    for (let cut = 0; cut < broken.length; cut += 5) {
      try {
        repairAvcParameterSets(broken.subarray(0, cut));
      } catch (e) {
        expect(String(e)).toMatch(/BAD_INIT_SEGMENT/);
      }
    }
  });
});
