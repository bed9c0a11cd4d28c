// TransportCore's batches (media, and control at the end), sending and receiving: small media messages to one peer within a
// turn leave as one datachannel message at its end (fewer sends, same messages), back-pressure
// counts the waiting batch, refusals and failures are counted per message, and hostile batches from
// a peer are counted drops that deliver nothing and end nothing. Scripted link on virtual time; the
// memory and @roamhq/wrtc transports' own tests show the same messages in fewer sends end to end.
import { describe, expect, it } from 'vitest';
import { BATCH_MARKER, encodeBatch, isBatch, parseBatch } from './media-batch.ts';
import { bytes, setup } from './scripted-transport.ts';

const endOfTurn = () => Promise.resolve();
/** A feed packet of an 8 KiB frame: version, type, seq u32, x u8, 128 bytes. */
const feedSized = (i: number) => new Uint8Array(135).fill(i + 1);

function connectedPeer(config: Parameters<typeof setup>[0] = {}) {
  const s = setup(config);
  s.t.connect('a', { initiator: true });
  s.t.up('a');
  return { ...s, link: s.t.link('a') };
}

describe('media batches out', () => {
  it('send the media messages of one turn as one datachannel message at its end, counted then', async () => {
    const { t, link } = connectedPeer();
    for (let i = 0; i < 8; i++) expect(t.send('a', 'media', feedSized(i))).toBe(true);
    expect(link.sent).toEqual([]);
    expect(t.stats('a')!.media).toMatchObject({ messagesOut: 0, linkMessagesOut: 0 });
    expect(t.bufferedAmount('a', 'media')).toBe(2 + 8 * 137);
    await endOfTurn();
    expect(link.sent).toHaveLength(1);
    const [channel, batch] = link.sent[0];
    expect(channel).toBe('media');
    expect(batch.byteLength).toBe(1098);
    expect(parseBatch(batch)).toEqual({ ok: true, messages: Array.from({ length: 8 }, (_, i) => feedSized(i)) });
    expect(t.stats('a')!.media).toMatchObject({ messagesOut: 8, bytesOut: 8 * 135, linkMessagesOut: 1, droppedOut: 0 });
    expect(t.transportStats()).toMatchObject({ mediaMessagesOut: 8, mediaLinkMessagesOut: 1 });
    expect(t.bufferedAmount('a', 'media')).toBe(1098); // now in the link's buffer
  });

  it('start a new batch when the next message would pass 1 163 bytes, and send a lone message as itself', async () => {
    const { t, link } = connectedPeer({ mediaHighWaterBytes: 64 * 1024 });
    for (let i = 0; i < 17; i++) t.send('a', 'media', feedSized(i));
    expect(link.sent.map(([, b]) => b.byteLength)).toEqual([1098, 1098]); // full ones leave at once
    await endOfTurn();
    expect(link.sent.map(([, b]) => b.byteLength)).toEqual([1098, 1098, 135]);
    expect(isBatch(link.sent[2][1])).toBe(false);
    expect(t.stats('a')!.media).toMatchObject({ messagesOut: 17, linkMessagesOut: 3 });
  });

  it('with batchMedia false, send one datachannel message per message, at once', () => {
    const { t, link } = connectedPeer({ batchMedia: false });
    for (let i = 0; i < 8; i++) t.send('a', 'media', feedSized(i));
    expect(link.sent).toHaveLength(8);
    expect(t.stats('a')!.media).toMatchObject({ messagesOut: 8, linkMessagesOut: 8 });
  });

  it('keep order with a message too large to share a batch: the waiting batch leaves first', () => {
    const { t, link } = connectedPeer();
    t.send('a', 'media', bytes(10, 1));
    t.send('a', 'media', bytes(10, 2));
    t.send('a', 'media', bytes(1160, 3));
    expect(link.sent.map(([, b]) => [b.byteLength, b[0]])).toEqual([[26, BATCH_MARKER], [1160, 3]]);
  });

  it('frame a message that starts with the marker, alone when it cannot share a batch, even at 1 163 bytes', async () => {
    const { t, link, messages } = connectedPeer({ batchMedia: false });
    const marked = new Uint8Array([BATCH_MARKER, 1, 2]);
    expect(t.send('a', 'media', marked)).toBe(true);
    expect(link.sent.map(([, b]) => [...b])).toEqual([[BATCH_MARKER, 1, 3, 0, BATCH_MARKER, 1, 2]]);
    const largest = new Uint8Array(1163).fill(BATCH_MARKER);
    expect(t.send('a', 'media', largest)).toBe(true);
    expect(link.sent[1][1].byteLength).toBe(1167); // the one case a batch passes 1 163 bytes
    expect(parseBatch(link.sent[1][1])).toEqual({ ok: true, messages: [largest] });
    t.inbound('a', 'media', link.sent[1][1]);
    expect(messages.map((m) => m[2].length)).toEqual([1163]);
    // Control frames it the same way (here in this turn's control batch), and splits it again.
    expect(t.send('a', 'control', new Uint8Array([BATCH_MARKER]))).toBe(true);
    await endOfTurn();
    expect(link.sent.at(-1)).toEqual(['control', new Uint8Array([BATCH_MARKER, 1, 1, 0, BATCH_MARKER])]);
    t.inbound('a', 'control', link.sent.at(-1)![1]);
    expect(messages.at(-1)).toEqual(['a', 'control', [BATCH_MARKER]]);
  });

  it('batch a small message that starts with the marker with the others, framed', async () => {
    const { t, link } = connectedPeer();
    t.send('a', 'media', new Uint8Array([BATCH_MARKER]));
    await endOfTurn();
    expect(link.sent.map(([, b]) => [...b])).toEqual([[BATCH_MARKER, 1, 1, 0, BATCH_MARKER]]);
    t.send('a', 'media', new Uint8Array([1]));
    t.send('a', 'media', new Uint8Array([BATCH_MARKER]));
    await endOfTurn();
    expect(parseBatch(link.sent[1][1])).toEqual({ ok: true, messages: [new Uint8Array([1]), new Uint8Array([BATCH_MARKER])] });
  });

  it('count the waiting batch in bufferedAmount and canSend, and refuse media past the high-water mark', async () => {
    const { t, link, events } = connectedPeer({ mediaHighWaterBytes: 1200, mediaLowWaterBytes: 100 });
    link.buffered.media = 500;
    expect(t.send('a', 'media', bytes(300))).toBe(true); // 500 + 2 + 2 + 300
    expect(t.bufferedAmount('a', 'media')).toBe(804);
    expect(t.canSend('a', 'media', 390)).toBe(true);
    expect(t.send('a', 'media', bytes(394))).toBe(true); // 804 + 2 + 394 = 1200
    expect(t.send('a', 'media', bytes(1))).toBe(false);
    expect(t.canSend('a', 'media', 1)).toBe(false);
    expect(t.stats('a')!.media.droppedOut).toBe(1);
    await endOfTurn();
    expect(link.sent).toHaveLength(1);
    expect(t.bufferedAmount('a', 'media')).toBe(1200);
    link.buffered.media = 50;
    t.drained('a', 'media');
    expect(events).toContain('writable a media');
  });

  it('count every message of a batch the link refuses as dropped; a link that throws fails the peer', async () => {
    const { t, link, events } = connectedPeer();
    link.send = 'refuse';
    for (let i = 0; i < 3; i++) expect(t.send('a', 'media', bytes(20))).toBe(true);
    await endOfTurn();
    expect(t.stats('a')!.media).toMatchObject({ messagesOut: 0, droppedOut: 3, linkMessagesOut: 0 });
    link.send = 'throw';
    t.send('a', 'media', bytes(20));
    await endOfTurn();
    await endOfTurn();
    expect(events).toEqual(['connected a', 'failed a channel-error']);
  });

  it('send nothing for a peer closed with a batch waiting, and raise nothing', async () => {
    const { t, link, events } = connectedPeer();
    t.send('a', 'media', bytes(20));
    t.close('a');
    await endOfTurn();
    expect(link.sent).toEqual([]);
    expect(events).toEqual(['connected a']);
    t.connect('b', { initiator: true });
    t.up('b');
    t.send('b', 'media', bytes(20));
    t.destroy();
    await endOfTurn();
    expect(t.link('b').sent).toEqual([]);
  });
});

describe('media batches in', () => {
  it('split into messages that each pass the size check; the batch counts as one link message', () => {
    const { t, messages } = connectedPeer({ maxMediaMessageBytes: 100 });
    t.inbound('a', 'media', encodeBatch([bytes(100, 1), bytes(101, 2), bytes(5, 3)]));
    expect(messages.map((m) => [m[1], m[2].length, m[2][0]])).toEqual([['media', 100, 1], ['media', 5, 3]]);
    expect(t.stats('a')!.media).toMatchObject({ messagesIn: 2, bytesIn: 105, droppedIn: 1, linkMessagesIn: 1, badBatchesIn: 0 });
  });

  it('drop a batch over 1 167 bytes whole, whatever it holds', () => {
    const { t, messages } = connectedPeer();
    t.inbound('a', 'media', encodeBatch([bytes(582), bytes(582)])); // 1 170 bytes
    expect(messages).toEqual([]);
    expect(t.stats('a')!.media).toMatchObject({ droppedIn: 1, badBatchesIn: 0, linkMessagesIn: 0 });
  });

  it('count a hostile batch as one drop, deliver nothing of it, keep the peer, and deliver the next', () => {
    const { t, events, messages } = connectedPeer();
    const hostile = [
      [BATCH_MARKER, 0], // no messages
      [BATCH_MARKER, 65, ...Array.from({ length: 65 }, () => [1, 0, 7]).flat()], // too many
      [BATCH_MARKER, 2, 1, 0, 7, 0, 0], // an empty message
      [BATCH_MARKER, 2, 1, 0, 7, 9, 0, 1, 2], // the second cut short
      [BATCH_MARKER, 1, 0xff, 0xff, 1], // a length past the end
      [BATCH_MARKER, 1, 1, 0, 7, 8], // a byte left over
      [BATCH_MARKER], // no count
    ];
    for (const h of hostile) expect(() => t.inbound('a', 'media', new Uint8Array(h))).not.toThrow();
    expect(messages).toEqual([]);
    expect(t.stats('a')!.media).toMatchObject({ droppedIn: 7, badBatchesIn: 7, messagesIn: 0, linkMessagesIn: 0 });
    expect(t.peerState('a')).toBe('connected');
    t.inbound('a', 'media', encodeBatch([bytes(3, 4), bytes(2, 5)]));
    expect(messages.map((m) => m[2])).toEqual([[4, 4, 4], [5, 5]]);
    expect(events).toEqual(['connected a']);
  });

  it('hold a batch that arrives before `connected` message by message, within the early bounds', () => {
    const { t, messages } = setup();
    t.connect('a', { initiator: true });
    t.inbound('a', 'media', encodeBatch(Array.from({ length: 64 }, (_, i) => new Uint8Array([i]))));
    for (let i = 0; i < 3; i++) t.inbound('a', 'media', encodeBatch(Array.from({ length: 64 }, (_, j) => new Uint8Array([j]))));
    t.inbound('a', 'media', encodeBatch([new Uint8Array([200])])); // the 257th
    expect(t.stats('a')!.media).toMatchObject({ messagesIn: 256, droppedIn: 1 });
    t.up('a');
    expect(messages).toHaveLength(256);
  });

  it('stop delivering the rest of a batch once a listener closes the peer', () => {
    const { t, messages } = connectedPeer();
    t.on('message', (p) => t.close(p));
    t.inbound('a', 'media', encodeBatch([bytes(1), bytes(1), bytes(1)]));
    expect(messages).toHaveLength(1);
  });

  it('hand each listener its own copy (a listener may keep or change it)', () => {
    const { t } = connectedPeer();
    const got: Uint8Array[] = [];
    t.on('message', (_p, _c, b) => got.push(b));
    t.inbound('a', 'media', encodeBatch([bytes(2, 1), bytes(2, 2)]));
    got[0].fill(9);
    expect([...got[1]]).toEqual([2, 2]);
    expect(got[0].buffer).not.toBe(got[1].buffer);
  });
});

describe('control batches', () => {
  it('send the control messages of one turn to a peer as one datachannel message, in order, counted then', async () => {
    const { t, link, messages } = connectedPeer();
    for (let i = 0; i < 5; i++) expect(t.send('a', 'control', bytes(40 + i, i))).toBe(true);
    expect(link.sent).toEqual([]);
    expect(t.bufferedAmount('a', 'control')).toBe(2 + 5 * 2 + 40 + 41 + 42 + 43 + 44);
    await endOfTurn();
    expect(link.sent).toHaveLength(1);
    expect(link.sent[0][0]).toBe('control');
    expect(parseBatch(link.sent[0][1])).toEqual({ ok: true, messages: Array.from({ length: 5 }, (_, i) => bytes(40 + i, i)) });
    expect(t.stats('a')!.control).toMatchObject({ messagesOut: 5, linkMessagesOut: 1 });
    expect(t.transportStats()).toMatchObject({ controlMessagesOut: 5, controlLinkMessagesOut: 1 });
    t.inbound('a', 'control', link.sent[0][1]);
    expect(messages.map((m) => m[2].length)).toEqual([40, 41, 42, 43, 44]);
    expect(t.stats('a')!.control).toMatchObject({ messagesIn: 5, linkMessagesIn: 1 });
  });

  it('send a control message too large to share a batch after the waiting ones, as itself', async () => {
    const { t, link } = connectedPeer();
    t.send('a', 'control', bytes(10, 1));
    t.send('a', 'control', bytes(20_000, 2));
    expect(link.sent.map(([c, b]) => [c, b.byteLength])).toEqual([['control', 10], ['control', 20_000]]);
    t.send('a', 'control', bytes(10, 3));
    await endOfTurn();
    expect(link.sent.map(([, b]) => b.byteLength)).toEqual([10, 20_000, 10]);
  });

  it('refuse a marked control message a batch cannot carry (over 65 535 bytes)', () => {
    const { t } = connectedPeer();
    const marked = new Uint8Array(65_536).fill(BATCH_MARKER);
    expect(() => t.send('a', 'control', marked)).toThrow(expect.objectContaining({ code: 'TRANSPORT_BAD_MESSAGE' }));
  });

  it('with batchControl off, hand each control message over at once', () => {
    const { t, link } = connectedPeer({ batchControl: false });
    t.send('a', 'control', bytes(10, 1));
    t.send('a', 'control', bytes(10, 2));
    expect(link.sent.map(([c, b]) => [c, b.byteLength])).toEqual([['control', 10], ['control', 10]]);
  });
});

describe('media hold window (mediaHoldMs)', () => {
  it('packs media sent in separate turns within the window into one datachannel message, sent at its end', async () => {
    const { t, link, clock } = connectedPeer({ mediaHoldMs: 10 });
    t.send('a', 'media', feedSized(0));
    await endOfTurn();
    clock.advance(4);
    t.send('a', 'media', feedSized(1));
    await endOfTurn();
    expect(link.sent).toEqual([]);
    expect(t.bufferedAmount('a', 'media')).toBe(2 + 2 * 137); // back-pressure sees the held batch
    clock.advance(6);
    expect(link.sent).toHaveLength(1);
    expect(parseBatch(link.sent[0][1])).toEqual({ ok: true, messages: [feedSized(0), feedSized(1)] });
    expect(t.stats('a')!.media).toMatchObject({ messagesOut: 2, linkMessagesOut: 1 });
    // The next window starts with the next message.
    t.send('a', 'media', feedSized(2));
    clock.advance(9);
    expect(link.sent).toHaveLength(1);
    clock.advance(1);
    expect(link.sent.map(([, b]) => b.byteLength)).toEqual([276, 135]);
  });

  it('sends a full batch at once, and control still at the end of the turn', async () => {
    const { t, link, clock } = connectedPeer({ mediaHoldMs: 10, mediaHighWaterBytes: 64 * 1024 });
    for (let i = 0; i < 9; i++) t.send('a', 'media', feedSized(i));
    t.send('a', 'control', bytes(10, 1));
    expect(link.sent.map(([c, b]) => [c, b.byteLength])).toEqual([['media', 1098]]);
    await endOfTurn();
    expect(link.sent.map(([c, b]) => [c, b.byteLength])).toEqual([['media', 1098], ['control', 10]]);
    clock.advance(10);
    expect(link.sent.map(([c, b]) => [c, b.byteLength])).toEqual([['media', 1098], ['control', 10], ['media', 135]]);
  });

  it('drops a closed peer\'s held batch, and holds nothing after destroy', async () => {
    const { t, link, clock } = connectedPeer({ mediaHoldMs: 10 });
    t.send('a', 'media', feedSized(0));
    t.close('a');
    clock.advance(10);
    expect(link.sent).toEqual([]);
    t.destroy();
    clock.advance(100);
    expect(link.sent).toEqual([]);
  });

  it('keeps the end of the turn when 0, and refuses values outside 0 … 50', () => {
    expect(() => connectedPeer({ mediaHoldMs: 51 })).toThrow(expect.objectContaining({ code: 'TRANSPORT_BAD_CONFIG' }));
    expect(() => connectedPeer({ mediaHoldMs: -1 })).toThrow(expect.objectContaining({ code: 'TRANSPORT_BAD_CONFIG' }));
  });
});
