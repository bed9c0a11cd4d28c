// StrykerJS configuration for `npm run test:mutation` (scripts/mutation.mjs). The script runs one
// Stryker run per folder and sets `mutate`, `vitest.dir`, `incrementalFile` and the report paths
// for it; what is here is shared by every folder. See docs/mutation.md.
import { readdirSync } from 'node:fs';
import { basename } from 'node:path';

const folder = process.env.MUTATION_FOLDER ?? 'all';
// A subset of a folder (scripts/mutation.mjs, `folder:name`) keeps reports of its own.
const report = process.env.MUTATION_REPORT ?? folder;
// As in vite.config.ts: Node 20 runs the relaxed SIMD kernel build only behind this V8 flag.
const wasmFlags = Number(process.versions.node.split('.')[0]) < 22 ? ['--experimental-wasm-relaxed-simd'] : [];

/**
 * Test files left out of a folder's runs. Tracker: the cluster and CLI tests need a redis-server or
 * a child process for each run (seconds per mutant) and prove the cluster and the CLI, not the rules
 * mutated here. Transport: the test of WebRtcTransport over Node's native WebRTC
 * (@roamhq/wrtc) takes Stryker's test process down (SIGSEGV: the native module in a worker thread);
 * it checks the WebRTC transport's reads, not the core mutated here.
 */
const LEFT_OUT = {
  tracker: ['cluster.test.ts', 'cluster-kill.test.ts', 'cluster-backend.test.ts', 'cli.test.ts'],
  transport: ['buffered-reads.test.ts'],
};

/** The folder's own test files, without those left out. */
function testFilesOf(name) {
  const skip = LEFT_OUT[name] ?? [];
  return readdirSync(`src/${name}`, { recursive: true })
    .filter((f) => f.endsWith('.test.ts') && !skip.includes(basename(f)))
    .map((f) => `src/${name}/${f}`);
}

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  // Each mutant runs only the tests that covered its code in the first (dry) run.
  coverageAnalysis: 'perTest',
  // One test process at a time: the unit tests are CPU-bound and the machines that run this are small.
  concurrency: 1,
  // Module-level constants would need the whole folder's suite per mutant; they are left to review.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: `reports/mutation/${report}.incremental.json`,
  // A mutant that hangs is cut after its tests' normal time × 2 + 10 s and counted as killed (timeout).
  timeoutMS: 10_000,
  timeoutFactor: 2,
  disableTypeChecks: 'src/**/*.ts',
  // Only the folder's own tests run: a rule is to be proven by the smallest harness that shows it.
  vitest: { related: folder === 'all', configFile: 'scripts/vitest-mutation.config.ts' },
  testFiles: folder === 'all' ? [] : testFilesOf(folder),
  // Stryker's test runner runs Vitest in worker threads: V8 flags must be on its whole process.
  testRunnerNodeArgs: wasmFlags,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${report}.json` },
  htmlReporter: { fileName: `reports/mutation/${report}.html` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
  ignorePatterns: ['bench', 'demo', 'e2e', 'reports', 'test-results', 'playwright-report', 'dist', 'wasm/build'],
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
};
