// The core's rules for the requests channel, on a scripted link: the ready frame each side sends,
// what the remote's ready frame changes, and what a hostile remote can do with it.
import { describe, expect, it } from 'vitest';
import { REQUESTS_READY } from './media-batch.ts';
import { bytes, setup } from './scripted-transport.ts';

function connected(config = {}) {
  const s = setup(config);
  s.t.connect('p', { initiator: true });
  s.t.up('p');
  return s;
}

const sent = (s: ReturnType<typeof setup>) => s.t.link('p').sent.map(([ch, b]) => [ch, [...b]]);

describe('TransportCore: the requests channel', () => {
  it('sends its ready frame when its channel opens, and none with requestsChannel off', () => {
    const s = connected();
    s.t.requestsUp('p');
    expect(sent(s)).toEqual([['requests', [0xba, 0]]]);
    const off = connected({ requestsChannel: false });
    off.t.requestsUp('p');
    expect(sent(off)).toEqual([]);
  });

  it('uses the channel only after the remote ready frame, takes it once, and counts the repeats', async () => {
    const s = connected({ batchControl: false });
    s.t.send('p', 'requests', bytes(3, 1));
    s.t.inbound('p', 'requests', REQUESTS_READY);
    s.t.send('p', 'requests', bytes(3, 2));
    s.t.inbound('p', 'requests', REQUESTS_READY.slice());
    expect(sent(s)).toEqual([['control', [1, 1, 1]], ['requests', [2, 2, 2]]]);
    const st = s.t.stats('p')!;
    expect(st).toMatchObject({ requestsOpen: true, requestsOnControl: 1 });
    expect(st.requests).toMatchObject({ droppedIn: 1, messagesIn: 0, messagesOut: 1 });
    expect(s.messages).toEqual([]); // a ready frame is never a message
  });

  it('a ready frame on control or media is a bad batch, and opens nothing', () => {
    const s = connected();
    s.t.inbound('p', 'control', REQUESTS_READY);
    s.t.inbound('p', 'media', REQUESTS_READY);
    const st = s.t.stats('p')!;
    expect(st.requestsOpen).toBe(false);
    expect(st.control.badBatchesIn).toBe(1);
    expect(st.media.badBatchesIn).toBe(1);
    expect(s.messages).toEqual([]);
  });

  it('refuses inbound requests messages over 1163 bytes, and batches over one packet', () => {
    const s = connected();
    s.t.inbound('p', 'requests', REQUESTS_READY);
    s.t.inbound('p', 'requests', bytes(1164));
    s.t.inbound('p', 'requests', bytes(1163));
    expect(s.messages.map(([, ch, b]) => [ch, b.length])).toEqual([['requests', 1163]]);
    expect(s.t.stats('p')!.requests.droppedIn).toBe(1);
  });

  it('a requests channel closed alone sends what waits for it, and what follows, on control', async () => {
    const s = connected();
    s.t.inbound('p', 'requests', REQUESTS_READY);
    s.t.send('p', 'requests', bytes(2, 5));
    s.t.requestsDown('p');
    s.t.send('p', 'requests', bytes(2, 6));
    await Promise.resolve();
    expect(sent(s)).toEqual([['control', [0xba, 2, 2, 0, 5, 5, 2, 0, 6, 6]]]);
    expect(s.t.stats('p')).toMatchObject({ requestsOpen: false, requestsOnControl: 2 });
  });
});
