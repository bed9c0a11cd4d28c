// A strict checker of Low-Latency HLS media playlists against the rules of RFC 8216bis (HTTP Live
// Streaming 2nd edition, sections 4.4 and 6.2) that a live fMP4 playlist with parts must keep.
// Pure; returns the list of broken rules (empty when the playlist passes). Used by the HLS tests
// and the benchmark to hold the writer to the text, beside hls.js's own parser.

export interface PlaylistCheck {
  violations: string[];
  segments: number;
  parts: number;
}

const attrs = (s: string): Map<string, string> => {
  const out = new Map<string, string>();
  const re = /([A-Z0-9-]+)=("[^"]*"|[^,]*)(?:,|$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s))) out.set(m[1], m[2].startsWith('"') ? m[2].slice(1, -1) : m[2]);
  return out;
};

const DECIMAL = /^\d+(\.\d+)?$/;
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

/** Checks one media playlist. */
export function checkLlHlsPlaylist(text: string): PlaylistCheck {
  const v: string[] = [];
  const lines = text.split('\n').filter((l, i, all) => l !== '' || i < all.length - 1);
  if (!text.endsWith('\n')) v.push('the playlist does not end with a line break');
  if (lines[0] !== '#EXTM3U') v.push('4.4.1.1: the first line is not #EXTM3U');
  const once = (tag: string): string | null => {
    const found = lines.filter((l) => l === tag || l.startsWith(`${tag}:`));
    if (found.length > 1) v.push(`${tag} appears ${found.length} times`);
    return found.length ? found[0].slice(tag.length + 1) : null;
  };
  const version = once('#EXT-X-VERSION');
  const td = once('#EXT-X-TARGETDURATION');
  const partInf = once('#EXT-X-PART-INF');
  const serverControl = once('#EXT-X-SERVER-CONTROL');
  once('#EXT-X-MEDIA-SEQUENCE');
  once('#EXT-X-DISCONTINUITY-SEQUENCE');
  const ended = lines.includes('#EXT-X-ENDLIST');
  if (td === null || !/^\d+$/.test(td)) v.push('4.4.3.1: EXT-X-TARGETDURATION is missing or not a decimal integer');
  const target = Number(td);
  const partTarget = partInf === null ? NaN : Number(attrs(partInf).get('PART-TARGET'));
  if (lines.some((l) => l.startsWith('#EXT-X-MAP:')) && !(Number(version) >= 6)) v.push('4.4.3.9 / 8: EXT-X-MAP in a media playlist needs EXT-X-VERSION 6 or higher');
  const hasParts = lines.some((l) => l.startsWith('#EXT-X-PART:'));
  if (hasParts && partInf === null) v.push('4.4.3.7: EXT-X-PART present without EXT-X-PART-INF');
  if (partInf !== null && !(partTarget > 0)) v.push('4.4.3.7: PART-TARGET is missing or not positive');
  if (partInf !== null) {
    const sc = serverControl === null ? new Map<string, string>() : attrs(serverControl);
    const phb = Number(sc.get('PART-HOLD-BACK'));
    if (!sc.has('PART-HOLD-BACK')) v.push('4.4.3.8: EXT-X-PART-INF present without PART-HOLD-BACK in EXT-X-SERVER-CONTROL');
    else if (!(phb >= 2 * partTarget)) v.push(`4.4.3.8: PART-HOLD-BACK ${phb} is less than twice PART-TARGET ${partTarget}`);
    if (sc.get('CAN-BLOCK-RELOAD') !== 'YES') v.push('LL-HLS server profile: CAN-BLOCK-RELOAD=YES is missing');
    if (sc.has('HOLD-BACK') && !(Number(sc.get('HOLD-BACK')) >= 3 * target)) v.push('4.4.3.8: HOLD-BACK below three target durations');
  }

  let seenSegment = false;
  let seenMap = false;
  let segments = 0;
  let parts = 0;
  let pendingParts: number[] = [];
  let sumParts = 0;
  let prevPdt: { ms: number; durS: number } | null = null;
  let pdt: number | null = null;
  let discontinuity = false;
  const segmentEnds: number[] = []; // seconds from the start, where each segment ends
  const partOwners: number[] = []; // for each listed part group: the index of its segment
  let clock = 0;
  const hints = new Map<string, number>();
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    if (l === '') continue;
    if (['#EXT-X-MEDIA-SEQUENCE', '#EXT-X-DISCONTINUITY-SEQUENCE', '#EXT-X-TARGETDURATION', '#EXT-X-VERSION', '#EXT-X-PART-INF', '#EXT-X-SERVER-CONTROL'].some((t) => l.startsWith(`${t}:`)) && (seenSegment || pendingParts.length > 0)) {
      v.push(`line ${i + 1}: ${l.split(':')[0]} after the first media segment`);
    }
    if (l.startsWith('#EXT-X-MAP:')) {
      seenMap = true;
      if (!attrs(l.slice(11)).get('URI')) v.push(`line ${i + 1}: EXT-X-MAP without URI`);
    } else if (l === '#EXT-X-DISCONTINUITY') discontinuity = true;
    else if (l.startsWith('#EXT-X-PROGRAM-DATE-TIME:')) {
      const d = l.slice(25);
      if (!ISO_DATE.test(d)) v.push(`line ${i + 1}: EXT-X-PROGRAM-DATE-TIME ${d} is not ISO 8601 with a time zone`);
      pdt = Date.parse(d);
      if (prevPdt !== null && !discontinuity && pdt < prevPdt.ms + prevPdt.durS * 1000 - 50) v.push(`line ${i + 1}: EXT-X-PROGRAM-DATE-TIME goes back without a discontinuity`);
    } else if (l.startsWith('#EXT-X-PART:')) {
      const a = attrs(l.slice(12));
      const dur = a.get('DURATION') ?? '';
      if (!DECIMAL.test(dur)) v.push(`line ${i + 1}: part DURATION ${dur} is not a decimal`);
      if (!a.get('URI')) v.push(`line ${i + 1}: part without URI`);
      if (a.has('INDEPENDENT') && a.get('INDEPENDENT') !== 'YES') v.push(`line ${i + 1}: INDEPENDENT must be YES when present`);
      if (Number(dur) > partTarget + 1e-9) v.push(`line ${i + 1}: part of ${dur} s exceeds PART-TARGET ${partTarget}`);
      if (!seenMap) v.push(`line ${i + 1}: a part before any EXT-X-MAP (fMP4 needs its init segment)`);
      pendingParts.push(Number(dur));
      sumParts += Number(dur);
      parts++;
    } else if (l.startsWith('#EXTINF:')) {
      const dur = l.slice(8).split(',')[0];
      if (!DECIMAL.test(dur)) v.push(`line ${i + 1}: EXTINF ${dur} is not a decimal`);
      const d = Number(dur);
      if (Math.round(d) > target) v.push(`line ${i + 1}: 4.4.3.1: segment of ${dur} s rounds above TARGETDURATION ${target}`);
      if (pendingParts.length > 0 && Math.abs(sumParts - d) > 0.001 * pendingParts.length) v.push(`line ${i + 1}: parts add up to ${sumParts.toFixed(3)} s, the segment says ${dur} s`);
      // 4.4.4.9 guidance: a part other than the last of its segment holds at least 85 % of PART-TARGET.
      pendingParts.slice(0, -1).forEach((p) => {
        if (p < 0.85 * partTarget - 1e-9) v.push(`line ${i + 1}: a non-final part of ${p} s is under 85 % of PART-TARGET`);
      });
      const uri = lines[i + 1];
      if (uri === undefined || uri.startsWith('#') || uri === '') v.push(`line ${i + 1}: EXTINF not followed by a URI`);
      if (!seenMap) v.push(`line ${i + 1}: a segment before any EXT-X-MAP`);
      if (pendingParts.length > 0) partOwners.push(segments);
      if (pdt !== null) prevPdt = { ms: pdt, durS: d };
      else if (prevPdt) prevPdt = { ms: prevPdt.ms + prevPdt.durS * 1000, durS: d };
      pdt = null;
      discontinuity = false;
      clock += d;
      segmentEnds.push(clock);
      segments++;
      seenSegment = true;
      pendingParts = [];
      sumParts = 0;
      i++;
    } else if (l.startsWith('#EXT-X-PRELOAD-HINT:')) {
      const a = attrs(l.slice(20));
      const type = a.get('TYPE') ?? '';
      if (type !== 'PART' && type !== 'MAP') v.push(`line ${i + 1}: preload hint of TYPE ${type}`);
      if (!a.get('URI')) v.push(`line ${i + 1}: preload hint without URI`);
      hints.set(type, (hints.get(type) ?? 0) + 1);
      if (i !== lines.length - 1) v.push(`line ${i + 1}: EXT-X-PRELOAD-HINT is not the last line`);
    } else if (l === '#EXT-X-ENDLIST' || l === '#EXTM3U' || l.startsWith('#EXT-X-')) {
      // known tags checked above, or tags this checker does not judge
    } else if (!l.startsWith('#')) v.push(`line ${i + 1}: a URI without EXTINF`);
  }
  for (const [type, n] of hints) if (n > 1) v.push(`4.4.5.3: ${n} preload hints of TYPE ${type}`);
  if (ended && hints.size > 0) v.push('4.4.5.3: EXT-X-PRELOAD-HINT in a playlist with EXT-X-ENDLIST');
  if (!ended && partInf !== null && hints.size === 0) v.push('LL-HLS: a live playlist with parts and no preload hint');
  // 6.2.2: parts of segments that end more than three target durations before the end should be gone.
  const total = clock + pendingParts.reduce((a, b) => a + b, 0);
  for (const owner of partOwners) {
    const endsAt = segmentEnds[owner];
    const startsAt = owner === 0 ? 0 : segmentEnds[owner - 1];
    if (total - startsAt > 3 * target + target + 1e-6 && total - endsAt > 3 * target) v.push(`segment ${owner}: parts listed more than three target durations from the end`);
  }
  return { violations: v, segments, parts: parts };
}
