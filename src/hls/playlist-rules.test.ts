// The RFC 8216bis checker catches each rule it claims to check (a good playlist passes, each
// broken variant names its rule).
import { describe, expect, it } from 'vitest';
import { checkLlHlsPlaylist } from './playlist-rules.ts';

const GOOD = `#EXTM3U
#EXT-X-VERSION:9
#EXT-X-TARGETDURATION:2
#EXT-X-PART-INF:PART-TARGET=0.550
#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,PART-HOLD-BACK=1.650
#EXT-X-MEDIA-SEQUENCE:7
#EXT-X-DISCONTINUITY-SEQUENCE:0
#EXT-X-MAP:URI="init-0.mp4"
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T12:00:00.000Z
#EXT-X-PART:DURATION=0.500,URI="part-7-0.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500,URI="part-7-1.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500,URI="part-7-2.m4s",INDEPENDENT=YES
#EXT-X-PART:DURATION=0.500,URI="part-7-3.m4s",INDEPENDENT=YES
#EXTINF:2.000,
seg-7.m4s
#EXT-X-PROGRAM-DATE-TIME:2026-01-01T12:00:02.000Z
#EXT-X-PART:DURATION=0.500,URI="part-8-0.m4s",INDEPENDENT=YES
#EXT-X-PRELOAD-HINT:TYPE=PART,URI="part-8-1.m4s"
`;

const cases: Array<[string, (s: string) => string, RegExp]> = [
  ['no #EXTM3U', (s) => s.replace('#EXTM3U\n', ''), /not #EXTM3U/],
  ['part above PART-TARGET', (s) => s.replace('DURATION=0.500,URI="part-8-0', 'DURATION=0.600,URI="part-8-0'), /exceeds PART-TARGET/],
  ['segment rounds above TARGETDURATION', (s) => s.replace('#EXTINF:2.000', '#EXTINF:2.600'), /rounds above TARGETDURATION/],
  ['PART-HOLD-BACK under twice PART-TARGET', (s) => s.replace('PART-HOLD-BACK=1.650', 'PART-HOLD-BACK=1.000'), /less than twice/],
  ['no PART-HOLD-BACK', (s) => s.replace(',PART-HOLD-BACK=1.650', ''), /without PART-HOLD-BACK/],
  ['no blocking reload', (s) => s.replace('CAN-BLOCK-RELOAD=YES,', ''), /CAN-BLOCK-RELOAD/],
  ['parts without PART-INF', (s) => s.replace(/#EXT-X-PART-INF.*\n/, ''), /without EXT-X-PART-INF/],
  ['hint not last', (s) => `${s}#EXT-X-PART:DURATION=0.500,URI="x.m4s"\n`, /not the last line/],
  ['two part hints', (s) => `${s}#EXT-X-PRELOAD-HINT:TYPE=PART,URI="y.m4s"\n`, /2 preload hints/],
  ['hint with ENDLIST', (s) => s.replace('#EXT-X-PRELOAD-HINT', '#EXT-X-ENDLIST\n#EXT-X-PRELOAD-HINT'), /with EXT-X-ENDLIST/],
  ['MAP with an old version', (s) => s.replace('VERSION:9', 'VERSION:5'), /VERSION 6/],
  ['parts that do not add up', (s) => s.replace('#EXTINF:2.000', '#EXTINF:1.800'), /add up/],
  ['short non-final part', (s) => s.replace('DURATION=0.500,URI="part-7-1', 'DURATION=0.300,URI="part-7-1').replace('#EXTINF:2.000', '#EXTINF:1.800'), /85 %/],
  ['bad date', (s) => s.replace('2026-01-01T12:00:02.000Z', '2026-01-01 12:00:02'), /ISO 8601/],
  ['date going back', (s) => s.replace('2026-01-01T12:00:02.000Z', '2026-01-01T11:59:00.000Z'), /goes back/],
  ['MEDIA-SEQUENCE after a segment', (s) => s.replace('seg-7.m4s\n', 'seg-7.m4s\n#EXT-X-MEDIA-SEQUENCE:8\n'), /after the first media segment/],
  ['a live playlist with parts and no hint', (s) => s.replace(/#EXT-X-PRELOAD-HINT.*\n/, ''), /no preload hint/],
];

describe('checkLlHlsPlaylist', () => {
  it('passes a good LL-HLS playlist', () => {
    expect(checkLlHlsPlaylist(GOOD)).toEqual({ violations: [], segments: 1, parts: 5 });
  });
  it.each(cases)('flags %s', (_name, edit, rule) => {
    const broken = edit(GOOD);
    expect(broken).not.toBe(GOOD);
    expect(checkLlHlsPlaylist(broken).violations.join('\n')).toMatch(rule);
  });
  it('flags parts listed far behind the live edge', () => {
    const old = GOOD.replace('#EXT-X-PROGRAM-DATE-TIME:2026-01-01T12:00:02.000Z\n', '#EXTINF:2.000,\nseg-8.m4s\n#EXTINF:2.000,\nseg-9.m4s\n#EXTINF:2.000,\nseg-10.m4s\n#EXTINF:2.000,\nseg-11.m4s\n')
      .replace('part-8-', 'part-12-');
    expect(checkLlHlsPlaylist(old).violations.join('\n')).toMatch(/three target durations/);
  });
});
