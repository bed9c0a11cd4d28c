// Vitest settings for mutation runs (stryker.config.mjs): the project's, except that the test
// runner's own process carries the V8 flags (Stryker runs Vitest in worker threads, which refuse
// V8 flags in execArgv), and that in the codec's mutation mode its quickest test files run first.
import { basename } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';
import base from '../vite.config.ts';

/**
 * The codec's test files, quickest to fail first. Stryker stops a mutant's run at its first failing
 * test; the exact unit tests kill most mutants in well under a second, while the contract suites
 * take minutes under Stryker's instrumentation (docs/mutation.md). Files not listed run last.
 */
const CODEC_ORDER = ['gf', 'codec-input', 'producer-step', 'stage', 'create-codec', 'wasm-glue', 'generators', 'known-answer', 'independent-code', 'wasm-codec', 'reference-codec'];

class QuickFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification): number => {
      const i = CODEC_ORDER.indexOf(basename(f.moduleId, '.test.ts'));
      return i < 0 ? CODEC_ORDER.length : i;
    };
    return [...files].sort((a, b) => rank(a) - rank(b));
  }
}

const codecMode = process.env.CODEC_TEST_MODE === 'mutation';

export default {
  ...base,
  test: { ...base.test, execArgv: [], ...(codecMode ? { sequence: { ...base.test?.sequence, sequencer: QuickFirst } } : {}) },
};
