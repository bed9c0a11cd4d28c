// A viewer whose Media Source Extensions cannot play the stream's codec: the player asks MSE about
// the stream's exact MIME type (read from the real init segment) and fails with UNSUPPORTED_CODEC,
// never creating a MediaSource. MSE itself is a stand-in here (Node has none); playback runs in e2e/.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { EncodedPacket, EncodedVideoPacketSource, Mp4OutputFormat, NullTarget, Output } from 'mediabunny';
import { expectReportedCode } from '../expect-code.ts';
import type { P2PError } from '../errors.ts';
import { FrameCutter } from '../media/frame-cutter.ts';
import { MediaPlayer } from './media-player.ts';

/** A real VP9 init segment written by mediabunny from one synthetic packet (no encoder needed). */
async function vp9Init(): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const output = new Output({
    format: new Mp4OutputFormat({ fastStart: 'fragmented', onFtyp: (d) => parts.push(d.slice()), onMoov: (d) => parts.push(d.slice()) }),
    target: new NullTarget(),
  });
  const v = new EncodedVideoPacketSource('vp9');
  output.addVideoTrack(v);
  await output.start();
  await v.add(new EncodedPacket(new Uint8Array(100), 'key', 0, 1 / 30), { decoderConfig: { codec: 'vp09.00.31.08', codedWidth: 320, codedHeight: 240 } });
  await output.finalize();
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
  return out;
}

describe('MediaPlayer and a codec this browser cannot play', () => {
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('fails with UNSUPPORTED_CODEC naming the stream type MSE refused, and shows the error state', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval'] }); // no playback ticks on the stand-in element
    const asked: string[] = [];
    vi.stubGlobal('MediaSource', { isTypeSupported: (t: string) => (asked.push(t), false) });
    const player = new MediaPlayer();
    const errors: P2PError[] = [];
    player.on('error', (e) => errors.push(e));
    const nothingBuffered = { length: 0, start: () => 0, end: () => 0 };
    player.attachMedia({ buffered: nothingBuffered, currentTime: 0, removeAttribute() {}, load() {} } as unknown as HTMLMediaElement);
    player.pushFrame(new FrameCutter().setInit(await vp9Init(), 0));
    await vi.waitFor(() => expect(errors).toHaveLength(1));
    expectReportedCode(errors[0], 'UNSUPPORTED_CODEC');
    expect(errors[0].message).toContain('video/mp4; codecs="vp09.00.31.08"');
    expect(asked).toEqual(['video/mp4; codecs="vp09.00.31.08"']);
    expect(player.status).toBe('error');
    player.destroy();
  });
});
