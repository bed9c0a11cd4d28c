import { describe, expect, it } from 'vitest';
import { resolveBroadcasterConfig } from './broadcaster-config.ts';

describe('broadcaster start timeout', () => {
  it('defaults to 15 s and rejects values outside 1 … 120 s with BAD_CONFIG', () => {
    expect(resolveBroadcasterConfig().startTimeoutMs).toBe(15_000);
    for (const v of [0, 999, 120_001, Number.NaN]) expect(() => resolveBroadcasterConfig({ startTimeoutMs: v })).toThrow(/BAD_CONFIG.*startTimeoutMs/);
  });
});
