// The neighbour policy's rules, each at its edge: the ban thresholds (49 vs 50 bad messages, 1 vs 2
// strikes), decay once per whole interval, the serving budgets (each key of a frame at most
// serveKeyTimes, serveKeysPerFrame keys per frame and neighbour, n answers of one kind), and what
// forgetting a frame, the frames below a sequence or a neighbour clears and keeps. Pure: no clock.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, NeighbourPolicy, type PolicyConfig } from './neighbour-policy.ts';

const policy = (c: Partial<PolicyConfig> = {}) => new NeighbourPolicy({ ...DEFAULT_POLICY, ...c });

describe('ban thresholds', () => {
  it('bad messages: the 49th is ok, the 50th bans', () => {
    const p = policy();
    for (let i = 1; i < 50; i++) expect(p.countBad('a', 0), `message ${i}`).toBe('ok');
    expect(p.badScore('a', 0)).toBe(49);
    expect(p.countBad('a', 0)).toBe('ban');
    expect(p.badScore('a', 0)).toBe(50);
  });

  it('strikes: the first is ok, the second bans; strikesOf counts them', () => {
    const p = policy();
    expect(p.strikesOf('a')).toBe(0);
    expect(p.strike('a', 0)).toBe('ok');
    expect(p.strikesOf('a')).toBe(1);
    expect(p.strike('a', 0)).toBe('ban');
    expect(p.strikesOf('a')).toBe(2);
    // Strikes and bad messages are separate scores, and per neighbour.
    expect(p.badScore('a', 0)).toBe(0);
    expect(p.strikesOf('b')).toBe(0);
    expect(p.badScore('b', 0)).toBe(0);
  });

  it('a score reached only through decayed fractions still bans at the threshold', () => {
    // 0.5 + 0.5·… never reaches 2 exactly, but 1 + 1 at one epoch does.
    const p = policy({ badMessagesToBan: 2, badDecay: 0.5 });
    expect(p.countBad('a', 0)).toBe('ok');
    expect(p.countBad('a', 1000)).toBe('ok'); // 0.5 + 1
    expect(p.badScore('a', 1000)).toBe(1.5);
    expect(p.countBad('a', 1000)).toBe('ban'); // 2.5
  });
});

describe('decay', () => {
  it('bad scores decay once per whole interval, by the interval count', () => {
    const p = policy({ badDecay: 0.5, decayIntervalMs: 1000 });
    p.countBad('a', 0);
    p.countBad('a', 0);
    expect(p.badScore('a', 999)).toBe(2);
    expect(p.badScore('a', 1000)).toBe(1);
    expect(p.badScore('a', 3000)).toBe(0.25); // two more intervals at once
    expect(p.badScore('a', 3999)).toBe(0.25);
  });

  it('strikes decay by strikeDecay, not badDecay', () => {
    const p = policy({ badDecay: 0.5, strikeDecay: 0.25, decayIntervalMs: 100 });
    p.strike('a', 0);
    p.countBad('a', 0);
    expect(p.badScore('a', 200)).toBe(0.25);
    expect(p.strikesOf('a')).toBe(0.0625);
  });

  it('a clock that steps back neither decays nor inflates a score', () => {
    const p = policy({ badDecay: 0.5, decayIntervalMs: 1000 });
    p.countBad('a', 5000);
    expect(p.badScore('a', 1000)).toBe(1);
    expect(p.countBad('a', 1000)).toBe('ok');
    expect(p.badScore('a', 5000)).toBe(2);
  });
});

describe('serving budgets', () => {
  it('each key of a frame is served serveKeyTimes to one neighbour, no more', () => {
    for (const times of [1, 2]) {
      const p = policy({ serveKeyTimes: times });
      for (const x of [0, 1, 31, 32, 63, 200, 255]) {
        for (let i = 0; i < times; i++) expect(p.serveKey('a', 7, x, 0), `key ${x} time ${i + 1} of ${times}`).toBe(true);
        expect(p.serveKey('a', 7, x, 0), `key ${x} once more`).toBe(false);
      }
      // Another frame, another neighbour: budgets of their own.
      expect(p.serveKey('a', 8, 0, 0)).toBe(true);
      expect(p.serveKey('b', 7, 0, 0)).toBe(true);
    }
  });

  it('serveKeysPerFrame keys of a frame in all: the 96th is served, the 97th is not', () => {
    const p = policy();
    expect(p.keysLeft('a', 3)).toBe(96);
    for (let x = 0; x < 96; x++) expect(p.serveKey('a', 3, x, 0)).toBe(true);
    expect(p.keysLeft('a', 3)).toBe(0);
    expect(p.serveKey('a', 3, 96, 0)).toBe(false);
    expect(p.serveKey('a', 3, 0, 0)).toBe(false); // a retry counts against the total too
    expect(p.keysLeft('a', 4)).toBe(96);
    const q = policy();
    // Retries count: 48 keys twice fill the frame's budget.
    for (let x = 0; x < 48; x++) {
      expect(q.serveKey('a', 3, x, 0)).toBe(true);
      expect(q.serveKey('a', 3, x, 0)).toBe(true);
    }
    expect(q.keysLeft('a', 3)).toBe(0);
    expect(q.serveKey('a', 3, 100, 0)).toBe(false);
  });

  it('serves exactly what a per-key, per-frame model of the budget allows (any order of keys and frames)', () => {
    const call = fc.record({ peer: fc.constantFrom('a', 'b'), seq: fc.integer({ min: 0, max: 2 }), x: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.array(call, { maxLength: 400 }), fc.constantFrom(1, 2), fc.integer({ min: 1, max: 120 }), (calls, times, perFrame) => {
        const p = policy({ serveKeyTimes: times, serveKeysPerFrame: perFrame });
        const served = new Map<string, number>();
        const total = new Map<string, number>();
        for (const c of calls) {
          const k = `${c.peer}:${c.seq}:${c.x}`;
          const f = `${c.peer}:${c.seq}`;
          const ok = (served.get(k) ?? 0) < times && (total.get(f) ?? 0) < perFrame;
          expect(p.serveKey(c.peer, c.seq, c.x, 0)).toBe(ok);
          if (ok) {
            served.set(k, (served.get(k) ?? 0) + 1);
            total.set(f, (total.get(f) ?? 0) + 1);
          }
          expect(p.keysLeft(c.peer, c.seq)).toBe(perFrame - (total.get(f) ?? 0));
        }
      }),
      { numRuns: 60 },
    );
  });

  it('serveTimes: n answers of one kind, part and frame, the n+1st refused', () => {
    const p = policy();
    expect(p.serveTimes('a', 'manifest', 5, 0, 2, 0)).toBe(true);
    expect(p.serveTimes('a', 'manifest', 5, 0, 2, 0)).toBe(true);
    expect(p.serveTimes('a', 'manifest', 5, 0, 2, 0)).toBe(false);
    expect(p.serveTimes('a', 'init', 5, 0, 1, 0)).toBe(true);
    expect(p.serveTimes('a', 'init', 5, 0, 1, 0)).toBe(false);
    expect(p.serveTimes('a', 'cs', 5, 1, 1, 0)).toBe(true);
    expect(p.serveTimes('a', 'cs', 5, 2, 1, 0)).toBe(true);
    expect(p.serveTimes('a', 'manifest', 6, 0, 2, 0)).toBe(true);
    expect(p.serveTimes('b', 'manifest', 5, 0, 2, 0)).toBe(true);
  });
});

describe('forgetting', () => {
  /** Uses up the budgets of frame seq for peer a: key 0 twice, one manifest answer. */
  const spend = (p: NeighbourPolicy, seq: number) => {
    p.serveKey('a', seq, 0, 0);
    p.serveKey('a', seq, 0, 0);
    p.serveTimes('a', 'init', seq, 0, 1, 0);
  };
  const spent = (p: NeighbourPolicy, seq: number) => ({ key: p.keysLeft('a', seq) < 96, init: !p.serveTimes('a', 'init', seq, 0, 1, 0) });

  it('forgetFrame clears that frame\'s budgets only (5, not 15 or 50)', () => {
    const p = policy();
    for (const s of [5, 15, 50]) spend(p, s);
    p.forgetFrame(5);
    expect(spent(p, 5)).toEqual({ key: false, init: false });
    expect(spent(p, 15)).toEqual({ key: true, init: true });
    expect(spent(p, 50)).toEqual({ key: true, init: true });
  });

  it('forgetBelow clears the frames below seq and keeps seq itself', () => {
    const p = policy();
    for (const s of [9, 10, 11]) spend(p, s);
    p.forgetBelow(10);
    expect(spent(p, 9)).toEqual({ key: false, init: false });
    expect(spent(p, 10)).toEqual({ key: true, init: true });
    expect(spent(p, 11)).toEqual({ key: true, init: true });
  });

  it('forgetPeer drops a neighbour\'s budgets; its scores stay while a whole bad message or strike counts', () => {
    const p = policy();
    // Clean neighbour: forgotten entirely.
    spend(p, 1);
    p.forgetPeer('a');
    expect(spent(p, 1)).toEqual({ key: false, init: false });
    // Exactly one bad message (the edge): the score stays, budgets go.
    const q = policy();
    q.countBad('a', 0);
    spend(q, 1);
    q.forgetPeer('a');
    expect(q.badScore('a', 0)).toBe(1);
    expect(spent(q, 1)).toEqual({ key: false, init: false });
    // Exactly one strike and no bad message: the strike stays.
    const r = policy();
    r.strike('a', 0);
    spend(r, 1);
    r.forgetPeer('a');
    expect(r.strikesOf('a')).toBe(1);
    expect(spent(r, 1)).toEqual({ key: false, init: false });
    // A score decayed below 1 no longer keeps the record.
    const s = policy({ badDecay: 0.5 });
    s.countBad('a', 0);
    s.badScore('a', 1000);
    s.forgetPeer('a');
    expect(s.badScore('a', 1000)).toBe(0);
    p.forgetPeer('nobody');
  });
});
