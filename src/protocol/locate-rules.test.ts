// The bounds of locate-bad-keys.ts's search, each at its edge, on fingerprints built from the feed
// code's generator (a codeword per fingerprint byte, some keys' values changed): a clean set needs
// one check beyond those the location used (64 + 2t keys with t bad is not offered, 64 + 2t + 1 is);
// leaving sources out must keep more than 64 keys; at most `maxErased` sources are left out together
// and at most `maxTries` locations are run; sources are tried suspects first (those holding keys),
// then the rest in the order their first key came; keys of source '' are never left out; and with
// all 256 keys the last is not considered (the evaluation points are shifted by a value that is no
// key, so at most 255 fit).

import { describe, expect, it } from 'vitest';
import { feedGenerator } from '../codec/generators.ts';
import { gfMul } from '../codec/gf256.ts';
import { cleanSets, FINGERPRINT_BYTES, locateErrors, type LocateInput } from './locate-bad-keys.ts';

const G = feedGenerator();
const msg = (salt: number) => Uint8Array.from({ length: 64 }, (_, j) => (j * 29 + salt * 13 + 1) & 0xff);
const value = (m: Uint8Array, x: number) => {
  let v = 0;
  for (let j = 0; j < 64; j++) v ^= gfMul(G[x * 64 + j], m[j]);
  return v;
};

/** Fingerprints of keys xs: byte k is codeword k's value, changed (xor 1…) at the keys in `bad`. */
function fingerprints(xs: number[], bad: Set<number> = new Set()) {
  const ms = Array.from({ length: FINGERPRINT_BYTES }, (_, k) => msg(k));
  return new Map(xs.map((x) => [x, Uint8Array.from(ms, (m, k) => value(m, x) ^ (bad.has(x) ? 1 + k : 0))]));
}
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

function sets(inp: Partial<LocateInput> & { keys: number[]; sourceOf: (x: number) => string }, bad = new Set<number>()) {
  return [...cleanSets({ fingerprints: fingerprints(inp.keys, bad), suspects: [], maxErased: 3, maxTries: 128, ...inp })];
}

describe('a clean set has a check to spare', () => {
  it('t bad keys among 64 + 2t: not offered; among 64 + 2t + 1: offered, the bad ones located', () => {
    for (const t of [0, 1, 3]) {
      const bad = new Set(range(0, t).map((i) => 5 + 7 * i));
      const one = () => 's';
      // Leaving s out leaves nothing: only the set of all keys can be offered.
      expect(sets({ keys: range(0, 64 + 2 * t), sourceOf: one }, bad), `t ${t}`).toEqual([]);
      const got = sets({ keys: range(0, 65 + 2 * t), sourceOf: one }, bad);
      expect(got, `t ${t}`).toEqual([{ keys: range(0, 65 + 2 * t).filter((x) => !bad.has(x)), located: [...bad], erased: [] }]);
    }
  });
});

describe('leaving sources out', () => {
  /** 4 sources of 30 keys each (s0 holds 0…29, s1 30…59, …), nothing bad. */
  const four = { keys: range(0, 120), sourceOf: (x: number) => `s${Math.floor(x / 30)}` };

  it('keeps more than 64 keys: leaving out 2 sources of 30 (60 left) is not tried, 1 (90 left) is', () => {
    const got = sets(four);
    expect(got.map((s) => s.erased.join('+') || '-')).toEqual(['-', 's0', 's1', 's2', 's3']);
    // And with 5 sources of 26 (130 keys): two left out leave 78, three 52.
    const five = { keys: range(0, 130), sourceOf: (x: number) => `s${Math.floor(x / 26)}` };
    const sizes = sets(five).map((s) => s.erased.length);
    expect(sizes.filter((n) => n === 2)).toHaveLength(10);
    expect(sizes.filter((n) => n === 3)).toHaveLength(0);
    // 65 left is enough: 5 sources of 13 plus 65 trusted keys, all 5 left out when maxErased allows.
    const trusted = { keys: range(0, 130), sourceOf: (x: number) => (x < 65 ? '' : `s${Math.floor((x - 65) / 13)}`) };
    const all = sets({ ...trusted, maxErased: 5 }).filter((s) => s.erased.length === 5);
    expect(all.map((s) => s.keys)).toEqual([range(0, 65)]);
  });

  it('a choice that leaves exactly 64 keys is skipped without spending a location', () => {
    // 33 trusted keys, s0 and s1 of 30, s2 of 1: leaving out s0 or s1 leaves 64; s2, 93.
    const inp = { keys: range(0, 94), sourceOf: (x: number) => (x < 33 ? '' : x < 63 ? 's0' : x < 93 ? 's1' : 's2'), maxErased: 1, maxTries: 2 };
    expect(sets(inp).map((s) => s.erased.join('+') || '-')).toEqual(['-', 's2']);
  });

  it('at most maxErased sources together, and never more than there are', () => {
    // 100 trusted keys and 4 sources of 25: every subset keeps more than 64; 1 + 4 + 6 + 4 + 1 of them.
    const withTrusted = { keys: range(0, 200), sourceOf: (x: number) => (x < 100 ? '' : `s${x % 4}`) };
    const count = (maxErased: number) => sets({ ...withTrusted, maxErased }).length;
    expect([0, 1, 2, 3, 4, 9].map(count)).toEqual([1, 5, 11, 15, 16, 16]);
  });

  it('at most maxTries locations, counted whether they yield or not', () => {
    const many = { keys: range(0, 200), sourceOf: (x: number) => `s${x % 4}` };
    for (const maxTries of [0, 1, 2, 7]) expect(sets({ ...many, maxTries }), `maxTries ${maxTries}`).toHaveLength(maxTries);
    // Failed locations count: s0's and s1's 100 keys bad among 200, the set of all and each single
    // source left out fail (5 tries); s0 and s1 left out together is the 6th.
    const bad = new Set(range(0, 200).filter((x) => x % 4 < 2));
    expect(sets({ ...many, maxTries: 5 }, bad)).toEqual([]);
    expect(sets({ ...many, maxTries: 6 }, bad).map((s) => s.erased)).toEqual([['s0', 's1']]);
  });

  it('suspects first, in their order, only those holding keys; then the rest in the order of their first key', () => {
    const inp = { keys: range(0, 200), sourceOf: (x: number) => `s${x % 4}`, maxErased: 1 };
    expect(sets({ ...inp, suspects: ['s2', 'nobody', 's3'] }).map((s) => s.erased.join('+') || '-')).toEqual(['-', 's2', 's3', 's0', 's1']);
    // Pairs follow the same order, lexicographically.
    expect(
      sets({ ...inp, maxErased: 2, suspects: ['s3'] })
        .slice(5)
        .map((s) => s.erased.join('+')),
    ).toEqual(['s3+s0', 's3+s1', 's3+s2', 's0+s1', 's0+s2', 's1+s2']);
  });
});

describe('with all 256 keys', () => {
  it('the last is not considered (no value is left to shift the points by); 255 are', () => {
    const xs = range(0, 256);
    const values = (bad: number) => {
      const fp = fingerprints(xs, new Set([bad]));
      return Array.from({ length: FINGERPRINT_BYTES }, (_, k) => Uint8Array.from(xs, (x) => (fp.get(x) as Uint8Array)[k]));
    };
    expect(locateErrors(xs, values(255))).toEqual([]);
    expect(locateErrors(xs, values(254))).toEqual([254]);
    expect(locateErrors(xs, values(0))).toEqual([0]);
    expect(locateErrors(range(1, 256), values(0).map((v) => v.slice(1)))).toEqual([]);
  });
});
