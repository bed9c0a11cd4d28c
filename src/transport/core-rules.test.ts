// TransportCore's own rules over a scripted link on virtual time, each at its edge: messages that
// arrive before `connected` (kept up to 256 / 1 MiB, in order), inbound sizes, sends refused or
// failing, canSend's bounds, signals out of role or that the link refuses, the connect timeout,
// stall checks (their period, which peers they look at), the drain poll after destroy, and the
// link's close. The link is a test double: what the core asks of it and what it reports back.
import { describe, expect, it } from 'vitest';
import { P2PError } from '../errors.ts';
import { expectCode } from '../expect-code.ts';
import { newPeerEntry, resetProgress, stallOf, type PeerEntry } from './peer-entry.ts';
import { makeSignalParser } from './signal-schema.ts';
import { bytes, ManualClock, ScriptedTransport, setup } from './scripted-transport.ts';
import type { Channel, SignalBlob } from './transport.ts';

const OFFER = { type: 'offer', sdp: 'v=0' };
const ANSWER = { type: 'answer', sdp: 'v=0' };
const CANDIDATE = { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 1 10.0.0.1 9 typ host', sdpMLineIndex: 0, sdpMid: '0' } };

describe('messages before connected', () => {
  it('are kept in order and delivered right after `connected`', () => {
    const { t, events, messages } = setup();
    t.connect('a', { initiator: true });
    t.inbound('a', 'control', bytes(3, 1));
    t.inbound('a', 'media', bytes(2, 2));
    expect(messages).toEqual([]);
    expect(t.stats('a')!.control.messagesIn).toBe(1);
    t.up('a');
    expect(events).toEqual(['connected a']);
    expect(messages).toEqual([['a', 'control', [1, 1, 1]], ['a', 'media', [2, 2]]]);
    // Delivered once: a later message comes alone.
    t.inbound('a', 'control', bytes(1, 9));
    expect(messages).toHaveLength(3);
  });

  it('keep 256 messages and drop the 257th', () => {
    const { t, messages } = setup();
    t.connect('a', { initiator: true });
    for (let i = 0; i < 257; i++) t.inbound('a', 'control', bytes(1, i % 200));
    expect(t.stats('a')!.control).toMatchObject({ messagesIn: 256, droppedIn: 1 });
    t.up('a');
    expect(messages).toHaveLength(256);
  });

  it('keep 1 MiB and drop the message one byte beyond', () => {
    const { t, messages } = setup();
    t.connect('a', { initiator: true });
    for (let i = 0; i < 16; i++) t.inbound('a', 'control', bytes(65_536 - (i === 15 ? 1 : 0))); // 1 MiB − 1
    t.inbound('a', 'control', bytes(2)); // one byte over
    t.inbound('a', 'control', bytes(1)); // exactly 1 MiB
    expect(t.stats('a')!.control).toMatchObject({ messagesIn: 17, droppedIn: 1, bytesIn: 1024 * 1024 });
    t.up('a');
    expect(messages.map((m) => m[2].length).slice(-2)).toEqual([65_535, 1]);
  });

  it('stop being delivered when a listener closes the peer', () => {
    const { t, messages } = setup();
    t.on('message', (p) => t.close(p));
    t.connect('a', { initiator: true });
    t.inbound('a', 'control', bytes(1));
    t.inbound('a', 'control', bytes(1));
    t.up('a');
    expect(messages).toHaveLength(1);
    expect(t.peerState('a')).toBeUndefined();
  });

  it('connect the peer when the link is ready before it said so', () => {
    const { t, events, messages } = setup();
    t.connect('a', { initiator: true });
    t.link('a').ready = true;
    t.inbound('a', 'media', bytes(4));
    expect(events).toEqual(['connected a']);
    expect(messages).toHaveLength(1);
    expect(t.stats('a')!.media.messagesIn).toBe(1);
  });
});

describe('inbound messages', () => {
  it('drop empty, non-binary and oversize data, and take the largest allowed', () => {
    const { t, messages } = setup({ maxControlMessageBytes: 100 });
    t.connect('a', { initiator: true });
    t.up('a');
    for (const d of [new Uint8Array(0), 'text', { length: 3 }, bytes(101)]) t.inbound('a', 'control', d);
    expect(t.stats('a')!.control).toMatchObject({ messagesIn: 0, droppedIn: 4 });
    t.inbound('a', 'control', bytes(100));
    t.inbound('a', 'control', new Uint8Array(6).buffer);
    t.inbound('a', 'media', bytes(1163));
    t.inbound('a', 'media', bytes(1164));
    expect(messages.map((m) => [m[1], m[2].length])).toEqual([['control', 100], ['control', 6], ['media', 1163]]);
    expect(t.stats('a')!.media).toMatchObject({ messagesIn: 1, bytesIn: 1163, droppedIn: 1 });
  });

  it('are ignored once the peer has ended', () => {
    const { t, messages } = setup();
    t.connect('a', { initiator: true });
    t.up('a');
    const peer = t.link('a').peer;
    t.close('a');
    t.inbound('a', 'control', bytes(1));
    t.drained('a', 'control');
    expect(messages).toEqual([]);
    expect(peer.channels.control.droppedIn).toBe(0);
  });
});

describe('sending', () => {
  it('counts a send to a peer not connected yet as dropped, and to an unknown peer as nothing', () => {
    const { t } = setup();
    t.connect('a', { initiator: true });
    expect(t.send('a', 'media', bytes(10))).toBe(false);
    expect(t.send('zz', 'media', bytes(10))).toBe(false);
    expect(t.stats('a')!.media).toMatchObject({ droppedOut: 1, messagesOut: 0 });
    expect(t.bufferedAmount('a', 'media')).toBe(0);
  });

  it('counts a send the link refuses as dropped; a send that throws fails the peer (channel-error) after the call', async () => {
    const { t, events } = setup({ batchControl: false });
    t.connect('a', { initiator: true });
    t.up('a');
    expect(t.send('a', 'control', bytes(5))).toBe(true);
    expect(t.bufferedAmount('a', 'control')).toBe(5);
    expect(t.stats('a')!.control).toMatchObject({ messagesOut: 1, bytesOut: 5, droppedOut: 0 });
    t.link('a').send = 'refuse';
    expect(t.send('a', 'control', bytes(5))).toBe(false);
    expect(t.stats('a')!.control).toMatchObject({ messagesOut: 1, droppedOut: 1 });
    t.link('a').send = 'throw';
    expect(t.send('a', 'control', bytes(5))).toBe(false);
    expect(t.stats('a')!.control.droppedOut).toBe(2);
    expect(events).toEqual(['connected a']);
    await Promise.resolve();
    expect(events).toEqual(['connected a', 'failed a channel-error']);
  });

  it('refuses messages with codes that name the problem', () => {
    const { t } = setup();
    t.connect('a', { initiator: true });
    t.up('a');
    expect(() => t.send('a', 'media', 'x' as never)).toThrow('a message must be a Uint8Array');
    expectCode(() => t.send('a', 'media', bytes(0)), 'TRANSPORT_BAD_MESSAGE');
    expect(() => t.send('a', 'media', bytes(0))).toThrow('a message must not be empty');
    expect(() => t.send('a', 'media', bytes(1164))).toThrow('media message of 1164 bytes is over the limit of 1163');
    t.destroy();
    expect(() => t.send('a', 'media', bytes(1))).toThrow('the transport was destroyed');
  });

  it('canSend: false for unknown, connecting and destroyed; bounds 1…limit per channel; blocks when it does not fit', () => {
    const { t, events } = setup({ batchControl: false, maxControlMessageBytes: 100, controlHighWaterBytes: 150, controlLowWaterBytes: 10 });
    expect(t.canSend('zz', 'media', 1)).toBe(false);
    t.connect('a', { initiator: true });
    expect(t.canSend('a', 'media', 1)).toBe(false);
    t.up('a');
    expect([0, 1, 1163, 1164].map((n) => t.canSend('a', 'media', n))).toEqual([false, true, true, false]);
    expect([0, 1, 100, 101].map((n) => t.canSend('a', 'control', n))).toEqual([false, true, true, false]);
    expect(t.send('a', 'control', bytes(100))).toBe(true);
    expect(t.canSend('a', 'control', 50)).toBe(true); // 100 + 50 = the high-water mark
    expect(t.canSend('a', 'control', 51)).toBe(false);
    expect(events).toEqual(['connected a']);
    t.drained('a', 'control');
    t.drained('a', 'control'); // once per refusal
    expect(events).toEqual(['connected a', 'writable a control']);
    t.destroy();
    expect(t.canSend('a', 'control', 1)).toBe(false);
  });
});

describe('signals', () => {
  it('counts what it drops, per peer and for unknown peers', () => {
    const { t } = setup();
    expect(t.signal('x', { type: 'candidate', candidate: {} })).toBe(false); // malformed, no peer
    expect(t.signal('x', ANSWER)).toBe(false); // not an offer, no peer
    expect(t.signal('x', CANDIDATE)).toBe(false);
    expect(t.transportStats()).toMatchObject({ signalsDropped: 3, inboundRefused: 0, peers: 0 });
    t.connect('a', { initiator: true });
    expect(t.signal('a', { type: 'offer' })).toBe(false); // malformed, known peer
    expect(t.stats('a')!.signalsDropped).toBe(1);
    expect(t.transportStats().signalsDropped).toBe(3);
  });

  it('takes one description of the right role and candidates up to the bound, counting each', () => {
    const { t } = setup({ maxCandidatesPerPeer: 2 });
    t.connect('a', { initiator: true });
    expect(t.signal('a', OFFER)).toBe(false); // an initiator gets answers, not offers
    expect(t.signal('a', ANSWER)).toBe(true);
    expect(t.signal('a', ANSWER)).toBe(false); // one description
    expect([t.signal('a', CANDIDATE), t.signal('a', CANDIDATE), t.signal('a', CANDIDATE)]).toEqual([true, true, false]);
    expect(t.stats('a')).toMatchObject({ signalsIn: 3, signalsDropped: 3 });
    expect(t.link('a').applied.map((s) => s.type)).toEqual(['answer', 'candidate', 'candidate']);
    // The candidate reaches the link whole.
    expect(t.link('a').applied[1]).toEqual(CANDIDATE);
    // The answering side takes an offer, then no answer.
    t.connect('b', { initiator: false });
    expect(t.signal('b', ANSWER)).toBe(false);
    expect(t.signal('b', OFFER)).toBe(true);
    expect(t.signal('b', OFFER)).toBe(false);
  });

  it('a new offer from a connected peer replaces its stale link (the remote started over)', () => {
    const { t, events } = setup();
    t.connect('a', { initiator: true });
    expect(t.signal('a', ANSWER)).toBe(true);
    t.up('a');
    const old = t.link('a');
    expect(t.signal('a', OFFER)).toBe(true);
    expect(events).toEqual(['connected a', 'disconnected a remote-closed']);
    expect(t.closedLinks).toEqual(['a']);
    // A new answering peer took the offer.
    expect(t.peerState('a')).toBe('connecting');
    expect(t.link('a')).not.toBe(old);
    expect(t.link('a').applied.map((x) => x.type)).toEqual(['offer']);
    // A peer still connecting keeps refusing an offer out of role.
    t.connect('b', { initiator: true });
    expect(t.signal('b', OFFER)).toBe(false);
    expect(t.peerState('b')).toBe('connecting');
  });

  it('fails the peer with negotiation-error when the link refuses a signal', () => {
    const { t, events } = setup();
    t.connect('a', { initiator: true });
    t.link('a').applyThrows = true;
    expect(t.signal('a', ANSWER)).toBe(false);
    expect(events).toEqual(['failed a negotiation-error']);
    expect(t.peerState('a')).toBeUndefined();
  });

  it('refuses an inbound offer whose link cannot be opened, and counts it', () => {
    const { t } = setup();
    t.openThrows = new Error('no ports');
    expect(t.signal('x', OFFER)).toBe(false);
    expect(t.transportStats()).toMatchObject({ peers: 0, signalsDropped: 1, inboundRefused: 1 });
  });
});

describe('connect and close', () => {
  it('says what is wrong in its errors', () => {
    const { t } = setup({ maxPeers: 2, maxPendingConnections: 1 });
    expect(() => t.connect('a', {} as never)).toThrow('connect needs { initiator: boolean }');
    t.connect('a', { initiator: true });
    expect(() => t.connect('a', { initiator: true })).toThrow('peer a is already connecting or connected');
    expect(() => t.connect('b', { initiator: true })).toThrow('maxPendingConnections (1) reached');
    t.up('a');
    t.connect('b', { initiator: true });
    t.up('b');
    expect(() => t.connect('c', { initiator: true })).toThrow('maxPeers (2) reached');
  });

  it('wraps a link that cannot be opened in TRANSPORT_LINK_ERROR, passes a P2PError through, leaves nothing behind', () => {
    const { t, events } = setup();
    t.openThrows = new Error('no ports');
    expect(() => t.connect('a', { initiator: true })).toThrow('cannot open a link to a: no ports');
    t.openThrows = new P2PError('TRANSPORT_NO_WEBRTC', 'none here');
    expectCode(() => t.connect('a', { initiator: true }), 'TRANSPORT_NO_WEBRTC');
    expect(t.peers()).toEqual([]);
    expect(t.closedLinks).toEqual([]); // no link to close
    expect(events).toEqual([]);
  });

  it('times out a connecting peer at connectTimeoutMs only, and never a connected one', () => {
    const { t, clock, events } = setup({ connectTimeoutMs: 1000 });
    t.connect('a', { initiator: true });
    t.connect('b', { initiator: true });
    t.up('b');
    clock.advance(999);
    expect(events).toEqual(['connected b']);
    clock.advance(1);
    expect(events).toEqual(['connected b', 'failed a connect-timeout']);
    clock.advance(10_000);
    expect(t.peerState('b')).toBe('connected');
  });

  it('reports a link closed before it opened as failed, after as disconnected; closing locally says nothing', () => {
    const { t, events } = setup();
    t.connect('a', { initiator: true });
    t.remoteClosed('a');
    t.connect('b', { initiator: true });
    t.up('b');
    t.remoteClosed('b');
    t.connect('c', { initiator: true });
    t.link('c').closeThrows = true;
    t.close('c'); // a close that throws inside the link still ends the peer
    t.close('nobody');
    expect(events).toEqual(['failed a channel-error', 'connected b', 'disconnected b remote-closed']);
    expect(t.closedLinks).toEqual(['a', 'b', 'c']);
    expect(t.peers()).toEqual([]);
  });

  it('destroys once: every peer closed quietly, later calls refused', () => {
    const { t, events } = setup();
    t.connect('a', { initiator: true });
    t.up('a');
    t.connect('b', { initiator: true });
    t.destroy();
    t.destroy();
    expect(t.destroyed).toBe(true);
    expect(t.closedLinks).toEqual(['a', 'b']);
    expect(events).toEqual(['connected a']);
    expectCode(() => t.connect('c', { initiator: true }), 'TRANSPORT_DESTROYED');
  });

  it('answers link details for a connected peer only, and undefined when the link cannot tell', async () => {
    const { t } = setup();
    t.connect('a', { initiator: true });
    expect(await t.linkInfo('a')).toBeUndefined();
    t.up('a');
    expect(await t.linkInfo('a')).toEqual({ rttMs: 12 });
    t.link('a').details = 'reject';
    expect(await t.linkInfo('a')).toBeUndefined();
    expect(await t.linkInfo('zz')).toBeUndefined();
  });
});

describe('stall checks', () => {
  it('run every stallTimeoutMs / 4 ms, at least 50 and at most 1000', () => {
    for (const [stallTimeoutMs, every] of [[100, 50], [2000, 500], [8000, 1000]]) {
      const { t, clock } = setup({ stallTimeoutMs });
      t.connect('a', { initiator: true });
      t.up('a');
      expect(clock.pending(every)).toBe(1);
    }
  });

  it('fail a connected peer whose path is lost at the first check stallTimeoutMs after it was first seen lost', () => {
    const { t, clock, events } = setup({ stallTimeoutMs: 2000 });
    t.connect('a', { initiator: true });
    t.up('a');
    t.link('a').interrupted = true;
    clock.advance(2499); // first seen lost at 500; the check at 2500 is the first at 2000 ms
    expect(events).toEqual(['connected a']);
    clock.advance(1);
    expect(events).toEqual(['connected a', 'failed a stalled']);
  });

  it('look at connected peers only, one timer for all, none once no peer is connected', () => {
    const { t, clock, events } = setup({ stallTimeoutMs: 2000, connectTimeoutMs: 100_000 });
    t.connect('a', { initiator: true });
    t.link('a').interrupted = true; // connecting: its own timeout applies, not the stall check
    t.connect('b', { initiator: true });
    t.up('b');
    t.connect('c', { initiator: true });
    t.up('c');
    expect(clock.pending(500)).toBe(1);
    t.link('b').buffered.media = 700; // stuck bytes, none leaving
    clock.advance(2500);
    expect(events).toEqual(['connected b', 'connected c', 'failed b stalled']);
    t.close('c');
    clock.advance(500);
    expect(clock.pending(500)).toBe(0);
    expect(t.peerState('a')).toBe('connecting');
    t.destroy();
  });
});

describe('drain poll', () => {
  it('runs one timer for every blocked channel of every peer', () => {
    class Polled extends ScriptedTransport {
      protected override linkDrainEvents(): boolean {
        return false;
      }
    }
    const clock = new ManualClock();
    const t = new Polled(clock, { mediaHighWaterBytes: 2000, mediaLowWaterBytes: 100 });
    const writable: string[] = [];
    t.on('writable', (p, ch) => writable.push(`${p} ${ch}`));
    for (const id of ['a', 'b']) {
      t.connect(id, { initiator: true });
      t.up(id);
      t.link(id).buffered.media = 1900;
      expect(t.canSend(id, 'media', 200)).toBe(false);
    }
    expect(clock.pending(10)).toBe(1);
    t.link('a').buffered.media = 100;
    clock.advance(10);
    expect(writable).toEqual(['a media']);
    expect(clock.pending(10)).toBe(1); // b still waits
    t.link('b').buffered.media = 0;
    clock.advance(10);
    expect(writable).toEqual(['a media', 'b media']);
    expect(clock.pending(10)).toBe(0);
  });
});

describe('drain poll scope', () => {
  class Polled extends ScriptedTransport {
    protected override linkDrainEvents(): boolean {
      return false;
    }
  }

  it('waits only for blocked channels: a full channel nobody was refused on keeps no timer', () => {
    const clock = new ManualClock();
    const t = new Polled(clock, { mediaHighWaterBytes: 2000, mediaLowWaterBytes: 100, controlHighWaterBytes: 100_000, controlLowWaterBytes: 1000 });
    t.connect('a', { initiator: true });
    t.up('a');
    t.link('a').buffered.media = 1900;
    t.link('a').buffered.control = 50_000; // over its low-water mark, but never refused
    expect(t.canSend('a', 'media', 200)).toBe(false);
    t.link('a').buffered.media = 0;
    clock.advance(10);
    expect(clock.pending(10)).toBe(0);
  });

  it('keeps one timer when a writable listener is refused again', () => {
    const clock = new ManualClock();
    const t = new Polled(clock, { mediaHighWaterBytes: 2000, mediaLowWaterBytes: 100 });
    const writable: string[] = [];
    t.on('writable', (p) => {
      writable.push(p);
      t.link('a').buffered.media = 1900; // refilled at once by the listener
      expect(t.canSend('a', 'media', 200)).toBe(false);
    });
    t.connect('a', { initiator: true });
    t.up('a');
    t.connect('b', { initiator: true });
    t.up('b');
    t.link('a').buffered.media = 1900;
    t.link('b').buffered.media = 1900;
    expect(t.canSend('a', 'media', 200)).toBe(false);
    expect(t.canSend('b', 'media', 200)).toBe(false);
    t.link('a').buffered.media = 0; // a drains, b still waits
    clock.advance(10);
    expect(writable).toEqual(['a']);
    expect(clock.pending(10)).toBe(1);
  });
});

describe('link events after the end', () => {
  it('relays the signals of the link until the peer ends, counting them', () => {
    const { t } = setup();
    const out: string[] = [];
    t.on('signal', (p, blob) => out.push(`${p} ${blob.type}`));
    t.connect('a', { initiator: true });
    t.signalOut('a', OFFER as SignalBlob);
    expect(t.stats('a')!.signalsOut).toBe(1);
    const peer = t.link('a').peer;
    t.close('a');
    t.signalOut('a', OFFER as SignalBlob);
    expect(out).toEqual(['a offer']);
    expect(peer.signalsOut).toBe(1);
  });

  it('says connected once, and never after the peer ended', () => {
    const { t, events } = setup();
    t.connect('a', { initiator: true });
    t.up('a');
    t.up('a');
    t.connect('b', { initiator: true });
    const b = t.link('b');
    t.close('b');
    b.ready = true;
    (t as unknown as { linkMaybeConnected: (p: unknown) => void }).linkMaybeConnected(b.peer);
    expect(events).toEqual(['connected a']);
  });

  it('reports no failure for a send that threw once the peer was closed meanwhile', async () => {
    const { t, events } = setup();
    t.connect('a', { initiator: true });
    t.up('a');
    t.link('a').send = 'throw';
    expect(t.send('a', 'media', bytes(1163))).toBe(false); // too large to batch: handed over at once
    t.close('a');
    await Promise.resolve();
    expect(events).toEqual(['connected a']);
  });

  it('answers bufferedAmount 0 for a peer not connected, whatever its link holds', () => {
    const { t } = setup();
    t.connect('a', { initiator: true });
    t.link('a').buffered.media = 5;
    expect(t.bufferedAmount('a', 'media')).toBe(0);
    expect(t.bufferedAmount('zz', 'media')).toBe(0);
    t.up('a');
    expect(t.bufferedAmount('a', 'media')).toBe(5);
  });

  it('still takes the description once the candidates are at their bound', () => {
    const { t } = setup({ maxCandidatesPerPeer: 1 });
    t.connect('a', { initiator: true });
    expect([t.signal('a', CANDIDATE), t.signal('a', CANDIDATE), t.signal('a', ANSWER)]).toEqual([true, false, true]);
  });
});

describe('stallOf after progress', () => {
  it('counts the limit from the last progress, not from the start', () => {
    const p = newPeerEntry<void>('p', true);
    p.state = 'connected';
    resetProgress(p, 1000);
    p.channels.media.bytesOut = 3000;
    let buffered = 3000;
    const media = (ch: Channel) => (ch === 'media' ? buffered : 0);
    expect(stallOf(p, 1500, 1000, false, media)).toBeUndefined(); // no progress for 500 ms
    buffered = 2000; // 1000 bytes left at 4000
    expect(stallOf(p, 4000, 1000, false, media)).toBeUndefined();
    expect(stallOf(p, 4999, 1000, false, media)).toBeUndefined();
    expect(stallOf(p, 5000, 1000, false, media)).toBe('media buffer of 2000 bytes made no progress for 1000 ms');
  });

  it('starts a peer connected late with its own clock', () => {
    const p = newPeerEntry<void>('p', true);
    p.state = 'connected';
    resetProgress(p, 10_000);
    p.channels.control.bytesOut = 50;
    const control = (ch: Channel) => (ch === 'control' ? 50 : 0);
    expect(stallOf(p, 10_999, 1000, false, control)).toBeUndefined();
    expect(stallOf(p, 11_000, 1000, false, control)).toBe('control buffer of 50 bytes made no progress for 1000 ms');
  });
});

describe('signal schema', () => {
  const parse = makeSignalParser(1000);
  it('keeps a candidate whole and bounds its index and mid', () => {
    const c = { candidate: 'candidate:1', sdpMLineIndex: 64, sdpMid: 'm'.repeat(64) };
    expect(parse({ type: 'candidate', candidate: c })).toEqual({ type: 'candidate', candidate: c });
    expect(parse({ type: 'candidate', candidate: { candidate: 'candidate:1', sdpMLineIndex: 0, sdpMid: '0' } })).toEqual({ type: 'candidate', candidate: { candidate: 'candidate:1', sdpMLineIndex: 0, sdpMid: '0' } });
    expect(parse({ type: 'candidate', candidate: { ...c, sdpMLineIndex: 65 } })).toBeUndefined();
    expect(parse({ type: 'candidate', candidate: { ...c, sdpMid: 'm'.repeat(65) } })).toBeUndefined();
    expect(parse({ type: 'candidate', candidate: { ...c, candidate: 'x'.repeat(1025) } })).toBeUndefined();
    expect(parse({ type: 'offer', sdp: 'x'.repeat(1000) })).toEqual({ type: 'offer', sdp: 'x'.repeat(1000) });
    expect(parse({ type: 'offer', sdp: 'x'.repeat(1001) })).toBeUndefined();
    expect(parse({ type: 'answer', sdp: '' })).toBeUndefined();
  });
});
