// Messages between the parts of a parallel simulation: what one part's peers sent to another
// part's peers during a lookahead window, packed into one buffer per destination part. Control
// messages travel as their real wire bytes (the receiver parses them as a peer would); identity
// media (feed, seed, code-segment chunk) as their header fields and payload length, since their
// bytes are zeros. Pure; used by simulator.ts.

import { encodeMessage, type WireMessage } from '../protocol/wire.ts';
import { zeroView } from './identity-codec.ts';

/** One message in flight to a peer of another part. */
export interface Crossing {
  at: number;
  from: number;
  to: number;
  size: number;
  control: boolean;
  /** The wire bytes (control), or the identity media message rebuilt with zero payload. */
  msg: WireMessage | Uint8Array;
}

/**
 * `to` of a crossing that is a heartbeat (`from`: the peer, `size`: its capacity-meter figure in
 * bits per second, or NO_FIGURE before it has one; `at`: its limited share).
 */
export const REPORT_TO = 0xffffffff;
export const NO_FIGURE = 0xffffffff;
/**
 * `to` of a crossing that is a call a peer makes on the tracker from inside its own events (a
 * producer's complaint, a failed pair after a ban): `from` the peer, `at` when the room hears it,
 * the call itself as JSON text in the wire-bytes slot. Every part applies it at that time, so the
 * parts' copies of the room agree.
 */
export const ROOM_CALL_TO = 0xfffffffe;

/** A call on the room that one part decides and every part applies (see ROOM_CALL_TO). */
export interface RoomCall {
  at: number;
  from: number;
  /** The simulator's event kind (COMPLAIN or FAIL_PAIR). */
  kind: number;
  other: string;
  key?: number;
  reason?: string;
}

const text = new TextEncoder();
const untext = new TextDecoder();

/** The room call a ROOM_CALL_TO crossing carries. */
export function roomCallOf(c: Crossing): RoomCall {
  const body = JSON.parse(untext.decode(c.msg as Uint8Array)) as Omit<RoomCall, 'at' | 'from'>;
  return { at: c.at, from: c.from, ...body };
}

const WIRE = 0;
const FEED = 1;
const SEED = 2;
const CHUNK = 3;

/** Appends crossings to a growable buffer; `take()` hands the bytes over and starts again. */
export class CrossingWriter {
  private buf = new ArrayBuffer(1 << 16);
  private v = new DataView(this.buf);
  private u8 = new Uint8Array(this.buf);
  private o = 0;
  count = 0;

  add(at: number, from: number, to: number, size: number, control: boolean, m: WireMessage): void {
    const bytes = m.type === 'feed' || m.type === 'seed' || m.type === 'cs-chunk' ? undefined : encodeMessage(m);
    this.room(32 + (bytes?.length ?? 0));
    const v = this.v;
    let o = this.o;
    v.setFloat64(o, at, true);
    v.setUint32(o + 8, from, true);
    v.setUint32(o + 12, to, true);
    v.setUint32(o + 16, size, true);
    v.setUint8(o + 20, control ? 1 : 0);
    o += 21;
    switch (m.type) {
      case 'feed':
        v.setUint8(o, FEED);
        v.setUint32(o + 1, m.seq, true);
        v.setUint8(o + 5, m.x);
        v.setUint32(o + 6, m.payload.length, true);
        o += 10;
        break;
      case 'seed':
        v.setUint8(o, SEED);
        v.setUint32(o + 1, m.seq, true);
        v.setUint8(o + 5, m.c);
        v.setUint8(o + 6, m.g);
        v.setUint32(o + 7, m.payload.length, true);
        o += 11;
        break;
      case 'cs-chunk':
        v.setUint8(o, CHUNK);
        v.setUint32(o + 1, m.seq, true);
        v.setUint8(o + 5, m.c);
        v.setUint8(o + 6, m.chunk);
        v.setUint8(o + 7, m.chunks);
        v.setUint32(o + 8, m.payload.length, true);
        o += 12;
        break;
      default: {
        const b = bytes as Uint8Array;
        v.setUint8(o, WIRE);
        v.setUint32(o + 1, b.length, true);
        this.u8.set(b, o + 5);
        o += 5 + b.length;
      }
    }
    this.o = o;
    this.count++;
  }

  /** A peer's heartbeat: its capacity-meter figure, bits per second (clamped to 32 bits; NaN: none yet), and its limited share. */
  addReport(num: number, bps: number, limitedShare: number): void {
    this.room(26);
    const v = this.v;
    const o = this.o;
    v.setFloat64(o, limitedShare, true);
    v.setUint32(o + 8, num, true);
    v.setUint32(o + 12, REPORT_TO, true);
    v.setUint32(o + 16, Number.isNaN(bps) ? NO_FIGURE : Math.min(0xfffffffe, Math.max(0, Math.round(bps))), true);
    v.setUint8(o + 20, 0);
    v.setUint8(o + 21, WIRE);
    v.setUint32(o + 22, 0, true);
    this.o = o + 26;
    this.count++;
  }

  /** A call on the room (see ROOM_CALL_TO). */
  addRoomCall(call: RoomCall): void {
    const { at, from, ...body } = call;
    const b = text.encode(JSON.stringify(body));
    this.room(26 + b.length);
    const v = this.v;
    const o = this.o;
    v.setFloat64(o, at, true);
    v.setUint32(o + 8, from, true);
    v.setUint32(o + 12, ROOM_CALL_TO, true);
    v.setUint32(o + 16, 0, true);
    v.setUint8(o + 20, 1);
    v.setUint8(o + 21, WIRE);
    v.setUint32(o + 22, b.length, true);
    this.u8.set(b, o + 26);
    this.o = o + 26 + b.length;
    this.count++;
  }

  /** The bytes written since the last take (a fresh buffer; the writer starts over). */
  take(): ArrayBuffer {
    const out = this.buf.slice(0, this.o);
    this.o = 0;
    this.count = 0;
    return out;
  }

  private room(n: number): void {
    if (this.o + n <= this.buf.byteLength) return;
    const next = new ArrayBuffer(Math.max(this.buf.byteLength * 2, this.o + n));
    new Uint8Array(next).set(this.u8.subarray(0, this.o));
    this.buf = next;
    this.v = new DataView(next);
    this.u8 = new Uint8Array(next);
  }
}

/** Reads back what a `CrossingWriter` wrote, in order. Wire bytes are copied out of the buffer. */
export function* readCrossings(buf: ArrayBuffer): Generator<Crossing> {
  const v = new DataView(buf);
  const u8 = new Uint8Array(buf);
  for (let o = 0; o < buf.byteLength; ) {
    const at = v.getFloat64(o, true);
    const from = v.getUint32(o + 8, true);
    const to = v.getUint32(o + 12, true);
    const size = v.getUint32(o + 16, true);
    const control = v.getUint8(o + 20) === 1;
    o += 21;
    const kind = v.getUint8(o);
    let msg: WireMessage | Uint8Array;
    if (kind === FEED) {
      msg = { type: 'feed', seq: v.getUint32(o + 1, true), x: v.getUint8(o + 5), payload: zeroView(v.getUint32(o + 6, true)) };
      o += 10;
    } else if (kind === SEED) {
      msg = { type: 'seed', seq: v.getUint32(o + 1, true), c: v.getUint8(o + 5), g: v.getUint8(o + 6), payload: zeroView(v.getUint32(o + 7, true)) };
      o += 11;
    } else if (kind === CHUNK) {
      msg = {
        type: 'cs-chunk', seq: v.getUint32(o + 1, true), c: v.getUint8(o + 5), chunk: v.getUint8(o + 6), chunks: v.getUint8(o + 7),
        payload: zeroView(v.getUint32(o + 8, true)),
      };
      o += 12;
    } else {
      const n = v.getUint32(o + 1, true);
      msg = u8.slice(o + 5, o + 5 + n);
      o += 5 + n;
    }
    yield { at, from, to, size, control, msg };
  }
}
