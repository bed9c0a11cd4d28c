// The error-code check's reading rules: which files count as tests, which calls assert a code.
import { describe, expect, it } from 'vitest';
import { expectReportedCode } from '../src/expect-code.ts';
import { assertedCodesIn, testFiles } from './check-error-codes.mjs';

describe('check-error-codes', () => {
  it('counts unit tests, test helpers and browser specs, not library files or e2e helpers', () => {
    const src = ['src/a/b.ts', 'src/a/b.test.ts', 'src/tracker/test-kit.ts', 'src/expect-code.ts'];
    const e2e = ['e2e/swarm.spec.ts', 'e2e/pages/x.spec.ts', 'e2e/swarm-kit.ts', 'e2e/pages/page.ts'];
    expect(testFiles(src, e2e)).toEqual(['src/a/b.test.ts', 'src/tracker/test-kit.ts', 'src/expect-code.ts', 'e2e/swarm.spec.ts', 'e2e/pages/x.spec.ts']);
  });

  it('reads codes from expect…Code calls only, not from helper definitions or other assertions', () => {
    const text = [
      "export function expectReportedCode(reported: unknown, code: string): void {}",
      "expectReportedCode(await page.evaluate(() => report('X')), 'ENCODER_FAILED');",
      "await expectRejectCode(() => start(), 'BAD_STATE');",
      "expect(text).toMatch(/NO_VIDEO_CODEC/); expect(e.code).toBe('UNSUPPORTED_CODEC');",
    ].join('\n');
    expect([...assertedCodesIn(text)].sort()).toEqual(['BAD_STATE', 'ENCODER_FAILED']);
  });
});

describe('expectReportedCode', () => {
  it('accepts the code of a reported error object or of a P2PError message text, and nothing else', () => {
    expectReportedCode({ code: 'SESSION_FAILED', message: 'x' }, 'SESSION_FAILED');
    expectReportedCode('ENCODER_FAILED: the encoders did not start within 15 s. Press Go live again.', 'ENCODER_FAILED');
    expect(() => expectReportedCode({ code: 'BAD_CONFIG' }, 'SESSION_FAILED')).toThrow(/expected a reported error SESSION_FAILED/);
    expect(() => expectReportedCode('the page says ENCODER_FAILED somewhere', 'ENCODER_FAILED')).toThrow();
    expect(() => expectReportedCode(null, 'ENCODER_FAILED')).toThrow(/got none/);
    expect(() => expectReportedCode(undefined, 'ENCODER_FAILED')).toThrow(/got none/);
  });
});
